"""``/papers``: the papers ``paper_fetch`` jobs stored (search, since)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from dbcron.web.auth import ViewerDep
from dbcron.web.pages.render import page
from dbcron.web.state import runtime_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/papers", response_class=HTMLResponse)
def papers(
    request: Request,
    principal: ViewerDep,
    q: Annotated[str, Query(max_length=200)] = "",
    since: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HTMLResponse:
    """Papers, newest publication first."""
    start = None if since is None else datetime.combine(since, time(), tzinfo=UTC)
    found = runtime_of(request).queries.papers(search=q or None, since=start, limit=limit)
    return page(
        request,
        "papers.html",
        {"papers": found, "q": q, "since": since.isoformat() if since else "", "limit": limit},
    )
