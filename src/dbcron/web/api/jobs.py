"""``/api/v1/jobs``: list, get, create, update, pause, resume, trigger, delete a job
and preview its next fires.

A job is named in the path by ``{ref}``: its id, key, exact name or a unique prefix of
its id, as on the command line.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from dbcron.service.inputs import field_error
from dbcron.service.queries import PAGE_SIZE
from dbcron.web.api import cursors
from dbcron.web.api.deps import RuntimeDep
from dbcron.web.api.models import (
    ExecutionOut,
    JobCreate,
    JobOut,
    JobPage,
    JobPatch,
    NextFires,
    Problem,
    execution_out,
    fire_out,
    job_out,
)
from dbcron.web.auth import AdminDep, ViewerDep

__all__ = ["router"]

router = APIRouter(tags=["jobs"])

#: Responses every route naming a job can give.
_REF_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": Problem, "description": "No job has this id, key or name"},
    409: {"model": Problem, "description": "The reference names several jobs"},
}
#: Most items a page may hold.
MAX_LIMIT = 500
_ETAG = re.compile(r'\s*(?:W/)?"?(\d{1,9})"?\s*')

Ref = Annotated[str, "a job id, key, exact name or unique id prefix"]


@router.get("/jobs", summary="List jobs", response_model=JobPage)
def list_jobs(
    runtime: RuntimeDep,
    _: ViewerDep,
    status_: Annotated[
        str | None,
        Query(
            alias="status",
            description="active, inactive, paused or deleted (default: all but deleted).",
        ),
    ] = None,
    job_type: Annotated[str | None, Query(description="Only jobs of this type.")] = None,
    name: Annotated[
        str | None, Query(max_length=200, description="Only names containing this (any case).")
    ] = None,
    sort: Annotated[str, Query(description="created (default), name or next_run.")] = "created",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="next_cursor of the page before.")] = None,
) -> JobPage:
    """Jobs filtered by status, type and name, sorted, a page at a time."""
    listing = f"jobs:{sort}"
    page = runtime.jobs.search_jobs(
        status=status_,
        job_type=job_type,
        name=name,
        order=sort,
        limit=limit,
        after=cursors.decode(listing, cursor),
    )
    return JobPage(
        items=[job_out(job) for job in page.items],
        next_cursor=cursors.encode(listing, page.next_cursor),
    )


@router.get("/jobs/{ref}", summary="Get a job", response_model=JobOut, responses=_REF_ERRORS)
def get_job(ref: Ref, runtime: RuntimeDep, _: ViewerDep, response: Response) -> JobOut:
    """One job; its version is also the ``ETag`` (send it back as ``If-Match``)."""
    job = runtime.queries.get_job(ref)
    response.headers["ETag"] = f'"{job.version}"'
    return job_out(job)


@router.post(
    "/jobs",
    summary="Create a job",
    status_code=status.HTTP_201_CREATED,
    response_model=JobOut,
)
def create_job(body: JobCreate, runtime: RuntimeDep, _: AdminDep, response: Response) -> JobOut:
    """Create a job as ``dbcron create`` does: omitted options get the configured
    defaults, a job without a schedule runs every ``scheduler.interval_hours``."""
    fields = body.model_dump(exclude_none=True)
    created = runtime.jobs.new_job(
        fields.pop("name"),
        fields.pop("job_type"),
        fields.pop("schedule_expression", None),
        fields.pop("config", None),
        fields.pop("description", None),
        **fields,
    )
    response.headers["Location"] = f"/api/v1/jobs/{created.job_id}"
    response.headers["ETag"] = f'"{created.version}"'
    return job_out(created)


@router.patch(
    "/jobs/{ref}",
    summary="Change a job",
    response_model=JobOut,
    responses={
        **_REF_ERRORS,
        409: {"model": Problem, "description": "The job changed since that version"},
    },
)
def update_job(
    ref: Ref,
    body: JobPatch,
    runtime: RuntimeDep,
    _: AdminDep,
    response: Response,
    if_match: Annotated[str | None, Header(description='The job\'s version, e.g. "3".')] = None,
) -> JobOut:
    """Change the fields sent (the others stay); ``version`` (or ``If-Match``) must be
    the job's stored version, else 409: a concurrent change is never overwritten. A
    config sent back with masked secrets keeps the stored secrets."""
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    if version is None and if_match is not None:
        match = _ETAG.fullmatch(if_match)
        if match is None:
            raise field_error("If-Match", f'If-Match {if_match!r} is not a job version like "3"')
        version = int(match.group(1))
    if version is None:
        raise field_error("version", "version is required: send the job's version (or If-Match)")
    if not changes:
        raise field_error("body", "nothing to change: send at least one field besides version")
    job = runtime.jobs.update_fields(ref, expected_version=version, masked=True, **changes)
    response.headers["ETag"] = f'"{job.version}"'
    return job_out(job)


@router.post(
    "/jobs/{ref}/pause", summary="Pause a job", response_model=JobOut, responses=_REF_ERRORS
)
def pause_job(ref: Ref, runtime: RuntimeDep, _: AdminDep) -> JobOut:
    """Stop the job's schedule from firing (history and manual triggers remain)."""
    return job_out(runtime.jobs.pause_job(ref))


@router.post(
    "/jobs/{ref}/resume", summary="Resume a job", response_model=JobOut, responses=_REF_ERRORS
)
def resume_job(ref: Ref, runtime: RuntimeDep, _: AdminDep) -> JobOut:
    """Make a paused or inactive job active; the fires its pause missed are recorded
    ``missed``."""
    return job_out(runtime.jobs.resume_job(ref))


@router.post(
    "/jobs/{ref}/trigger",
    summary="Run a job now",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecutionOut,
    responses=_REF_ERRORS,
)
def trigger_job(ref: Ref, runtime: RuntimeDep, _: AdminDep) -> ExecutionOut:
    """Record a ``manual`` pending execution that a scheduler runs as soon as it sees
    it; follow it at ``/api/v1/executions/{execution_id}``."""
    return execution_out(runtime.jobs.trigger_job(ref))


@router.delete("/jobs/{ref}", summary="Delete a job", response_model=JobOut, responses=_REF_ERRORS)
def delete_job(
    ref: Ref,
    runtime: RuntimeDep,
    _: AdminDep,
    purge: Annotated[bool, Query(description="Remove the job and its history for good.")] = False,
) -> JobOut:
    """Soft-delete the job (status ``deleted``, history kept) or, with ``purge``, remove
    it and its history. Returns the job as last stored."""
    return job_out(runtime.jobs.delete_job(ref, purge=purge))


@router.get(
    "/jobs/{ref}/next",
    summary="A job's next fires",
    response_model=NextFires,
    responses=_REF_ERRORS,
)
def next_fires(
    ref: Ref,
    runtime: RuntimeDep,
    _: ViewerDep,
    count: Annotated[int, Query(ge=1, le=1000)] = 5,
) -> NextFires:
    """The job's next fires in its time zone, with the ones DST moves (or makes occur
    twice) flagged and explained, as ``dbcron next`` shows them."""
    plan = runtime.queries.fire_preview(ref, count)
    return NextFires(
        job_id=plan.job.job_id,
        expression=plan.job.schedule_expression,
        timezone=plan.job.timezone,
        description=plan.description,
        fires=[fire_out(fire) for fire in plan.fires],
    )
