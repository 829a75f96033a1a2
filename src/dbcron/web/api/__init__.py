"""The REST API, version 1 (``/api/v1``): jobs, executions, cluster status and
statistics, job types and papers; OpenAPI at ``/api/openapi.json``, docs at
``/api/docs`` (see docs/api.md).

Every route reads with :data:`~dbcron.web.auth.ViewerDep` or changes with
:data:`~dbcron.web.auth.AdminDep`, calls one service method of the runtime and renders
its result with a response model of :mod:`dbcron.web.api.models`; errors are problem
documents (:mod:`dbcron.web.problems`).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from dbcron.web.api import cluster, executions, jobs
from dbcron.web.api.models import Problem

__all__ = ["router"]

#: Every route of the API, under ``/api/v1``.
router = APIRouter(
    prefix="/api/v1",
    responses={
        422: {"model": Problem, "description": "Invalid input (the field is named)"},
        503: {"model": Problem, "description": "The database is unavailable"},
    },
)
# Route names share one namespace with the dashboard's (``url_for("create_job")`` in a
# template must find the page, not the API): the API's are prefixed with ``api.``.
for _part in (jobs.router, executions.router, cluster.router):
    for _route in _part.routes:
        if isinstance(_route, APIRoute) and not _route.name.startswith("api."):
            _route.name = f"api.{_route.name}"
    router.include_router(_part)
