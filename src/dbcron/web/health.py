"""``/healthz`` (the process answers) and ``/readyz`` (the database answers and its
schema is current): for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dbcron.errors import DbcronError
from dbcron.web.state import runtime_of

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and its schema is current")
def readyz(request: Request) -> JSONResponse:
    """200 with the schema version when the database answers and its schema is current;
    503 with the reason otherwise."""
    runtime = runtime_of(request)
    body: dict[str, Any]
    try:
        store = runtime.store
        version, latest = store.schema_version(), store.latest_version()
    except DbcronError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return JSONResponse({"status": "unavailable", "detail": first}, status_code=503)
    if version != latest:
        body = {"status": "unavailable", "detail": f"schema version {version}, expected {latest}"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "schema_version": version})
