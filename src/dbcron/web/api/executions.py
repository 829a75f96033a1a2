"""``/api/v1/executions`` and ``/api/v1/jobs/{ref}/executions``: history pages across
jobs and of one job, one execution with its logs, cancelling one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from dbcron.runtime import Runtime
from dbcron.service.queries import PAGE_SIZE
from dbcron.web.api import cursors
from dbcron.web.api.deps import RuntimeDep
from dbcron.web.api.jobs import MAX_LIMIT
from dbcron.web.api.models import (
    CancelIn,
    ExecutionDetail,
    ExecutionPage,
    Problem,
    execution_detail,
    execution_out,
)
from dbcron.web.auth import AdminDep, ViewerDep

__all__ = ["router"]

router = APIRouter(tags=["executions"])

_LISTING = "executions"

Status = Annotated[
    str | None,
    Query(description="pending, running, success, failed, timeout, missed or cancelled."),
]
TriggerKind = Annotated[
    str | None, Query(description="schedule, manual, retry, catchup or dependency.")
]
Since = Annotated[
    datetime | None,
    Query(
        description="Only executions created at or after this time (ISO 8601; UTC if no offset)."
    ),
]
Until = Annotated[datetime | None, Query(description="Only executions created before this time.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(description="next_cursor of the page before.")]


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class ExecutionFilters:
    """The query parameters both execution lists take (a FastAPI dependency)."""

    status: Status = None
    trigger: TriggerKind = None
    since: Since = None
    until: Until = None
    limit: Limit = PAGE_SIZE
    cursor: Cursor = None

    def page(self, runtime: Runtime, job: str | None) -> ExecutionPage:
        """The page these filters select, of one job (reference) or of all."""
        page = runtime.queries.history_page(
            job,
            self.status,
            limit=self.limit,
            before=cursors.decode(_LISTING, self.cursor),
            trigger=self.trigger,
            since=_aware(self.since),
            until=_aware(self.until),
        )
        return ExecutionPage(
            items=[execution_out(e) for e in page.items],
            next_cursor=cursors.encode(_LISTING, page.next_cursor),
        )


Filters = Annotated[ExecutionFilters, Depends()]


@router.get("/executions", summary="List executions", response_model=ExecutionPage)
def list_executions(runtime: RuntimeDep, _: ViewerDep, filters: Filters) -> ExecutionPage:
    """Executions of every job, newest first (by creation), a page at a time."""
    return filters.page(runtime, None)


@router.get(
    "/jobs/{ref}/executions",
    summary="List a job's executions",
    response_model=ExecutionPage,
    responses={404: {"model": Problem, "description": "No such job"}},
)
def list_job_executions(
    ref: str, runtime: RuntimeDep, _: ViewerDep, filters: Filters
) -> ExecutionPage:
    """The executions of one job (id, key, name or id prefix), newest first."""
    return filters.page(runtime, ref)


@router.get(
    "/executions/{execution_id}",
    summary="Get an execution",
    response_model=ExecutionDetail,
    responses={404: {"model": Problem, "description": "No such execution"}},
)
def get_execution(execution_id: str, runtime: RuntimeDep, _: ViewerDep) -> ExecutionDetail:
    """One execution (its id, or a unique prefix of 8 characters or more): status,
    timings, result, error and logs."""
    return execution_detail(runtime.queries.execution(execution_id))


@router.post(
    "/executions/{execution_id}/cancel",
    summary="Cancel an execution",
    response_model=ExecutionDetail,
    responses={
        404: {"model": Problem, "description": "No such execution"},
        409: {"model": Problem, "description": "The execution already ended"},
    },
)
def cancel_execution(
    execution_id: str,
    runtime: RuntimeDep,
    principal: AdminDep,
    body: Annotated[CancelIn | None, Body()] = None,
) -> ExecutionDetail:
    """Cancel a pending execution (it never runs) or a running one (recorded
    ``cancelled`` at once, stopped by its node within about a second); no retry follows.
    Who cancelled it, and why, is kept in its error message."""
    reason = body.reason if body is not None else None
    cancelled = runtime.jobs.cancel_execution(execution_id, by=principal.name, reason=reason)
    return execution_detail(cancelled)
