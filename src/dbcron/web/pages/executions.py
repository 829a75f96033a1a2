"""``/executions`` (filters, live rows) and ``/executions/{id}`` (one run: result,
error and logs, followed live while it runs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from dbcron.models import ExecutionStatus
from dbcron.service.dashboard import job_names, recent_executions
from dbcron.web.auth import ViewerDep
from dbcron.web.pages.jobs import is_htmx
from dbcron.web.pages.render import page
from dbcron.web.state import runtime_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The time ranges the executions page offers: query value -> (length, label).
RANGES: Final = {
    "": (None, "any time"),
    "1h": (timedelta(hours=1), "last hour"),
    "24h": (timedelta(hours=24), "last 24 hours"),
    "7d": (timedelta(days=7), "last 7 days"),
}
#: Executions per page.
ROWS: Final = 50


@router.get("/executions", response_class=HTMLResponse)
def executions(
    request: Request,
    principal: ViewerDep,
    job: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    within: Annotated[str, Query(pattern="^(|1h|24h|7d)$")] = "",
    before: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """Executions, newest first, filtered; htmx polls for the rows every 2 s."""
    queries = runtime_of(request).queries
    found = recent_executions(
        queries, job or None, status, within=RANGES[within][0], limit=ROWS, before=before
    )
    template = "fragments/execution_rows.html" if is_htmx(request) else "executions.html"
    return page(
        request,
        template,
        {
            "page": found,
            "names": job_names(queries, found.items),
            "labels": queries.execution_labels(found.items),
            "job": job,
            "status": status,
            "within": within,
            "before": before,
            "ranges": RANGES,
            "statuses": list(ExecutionStatus),
        },
    )


@router.get("/executions/{execution_id}", response_class=HTMLResponse)
def execution_page(request: Request, execution_id: str, principal: ViewerDep) -> HTMLResponse:
    """One execution; while it is not final htmx re-reads its live part every 2 s."""
    queries = runtime_of(request).queries
    execution = queries.execution(execution_id)
    job = queries.store.get_job(execution.job_id)
    template = "fragments/execution_live.html" if is_htmx(request) else "execution.html"
    return page(
        request,
        template,
        {
            "execution": execution,
            "job": job,
            "zone": job.timezone if job else "UTC",
        },
    )
