"""``/jobs`` (the searchable, sortable table), ``/jobs/{ref}`` (one job: its schedule
in words, next fires with DST notes, history and a duration chart, its masked config)
and the job actions (pause, resume, trigger, delete)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dbcron.cron import parse_schedule, preview
from dbcron.models import Execution, JobStatus
from dbcron.service.dashboard import JobSort, job_table
from dbcron.service.secrets import mask_config
from dbcron.web.auth import AdminDep, ViewerDep
from dbcron.web.pages.render import page
from dbcron.web.state import runtime_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Executions shown (and charted) on a job's page.
HISTORY_ROWS: Final = 30
#: Fires previewed on a job's page.
FIRES_SHOWN: Final = 8


def is_htmx(request: Request) -> bool:
    """True for a request htmx made (it swaps a fragment, not the whole page)."""
    return request.headers.get("HX-Request") == "true"


@router.get("/jobs", response_class=HTMLResponse)
def jobs(
    request: Request,
    principal: ViewerDep,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: JobSort = JobSort.NAME,
    desc: bool = False,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The jobs table; htmx asks for its rows only as the search is typed."""
    table = job_table(runtime_of(request).queries, q, sort, descending=desc, status=status)
    template = "fragments/job_rows.html" if is_htmx(request) else "jobs.html"
    return page(
        request,
        template,
        {
            "table": table,
            "q": q,
            "sort": sort.value,
            "desc": desc,
            "status": status,
            "sorts": list(JobSort),
            "statuses": list(JobStatus),
        },
    )


def duration_chart(executions: list[Execution]) -> str:
    """The durations of ``executions`` (oldest first) as the job page's chart reads
    them."""
    ended = [e for e in reversed(executions) if e.duration_seconds is not None]
    return json.dumps(
        {
            "labels": [f"{e.scheduled_for:%m-%d %H:%M}" for e in ended],
            "durations": [round(e.duration_seconds or 0.0, 3) for e in ended],
            "statuses": [e.status.value for e in ended],
        }
    )


@router.get("/jobs/{ref}", response_class=HTMLResponse)
def job_page(request: Request, ref: str, principal: ViewerDep) -> HTMLResponse:
    """One job."""
    queries = runtime_of(request).queries
    detail = queries.job_detail(ref, fires=FIRES_SHOWN, executions=HISTORY_ROWS)
    job = detail.job
    schedule = parse_schedule(job.schedule_expression, job.timezone)
    start = detail.next_fires[0] - timedelta(microseconds=1) if detail.next_fires else None
    fires = preview(schedule, start, FIRES_SHOWN) if start is not None else []
    return page(
        request,
        "job.html",
        {
            "job": job,
            "in_words": schedule.describe(),
            "fires": fires,
            "executions": detail.executions,
            "labels": queries.execution_labels(detail.executions),
            "config": json.dumps(mask_config(job.config), indent=2, ensure_ascii=False),
            "chart": duration_chart(detail.executions),
        },
    )


def _back(request: Request, ref: str) -> Response:
    return RedirectResponse(request.url_for("job_page", ref=ref), status_code=303)


@router.post("/jobs/{ref}/pause")
def pause(
    request: Request, ref: str, principal: AdminDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Pause the job; back to its page."""
    job = runtime_of(request).jobs.pause_job(ref)
    return _back(request, job.job_id)


@router.post("/jobs/{ref}/resume")
def resume(
    request: Request, ref: str, principal: AdminDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Resume the job; back to its page."""
    job = runtime_of(request).jobs.resume_job(ref)
    return _back(request, job.job_id)


@router.post("/jobs/{ref}/trigger")
def trigger(
    request: Request, ref: str, principal: AdminDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Run the job now; on to the new execution's page (its logs as they come)."""
    execution = runtime_of(request).jobs.trigger_job(ref)
    target = request.url_for("execution_page", execution_id=execution.execution_id)
    return RedirectResponse(target, status_code=303)


@router.post("/jobs/{ref}/delete")
def delete(
    request: Request, ref: str, principal: AdminDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Delete the job (soft: its history stays); back to the jobs table."""
    runtime_of(request).jobs.delete_job(ref)
    return RedirectResponse(request.url_for("jobs"), status_code=303)
