"""Read models of the dashboard's tables: the jobs table (search, sort) and the
executions list of a time window.

The web pages call these; the rules (what a search matches, how each column sorts,
what a window keeps) live here, not in the templates or the routes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from dbcron.errors import ValidationError
from dbcron.models import Execution, ExecutionStatus, Job, JobStatus
from dbcron.service.queries import Page, Queries, enum_value

__all__ = [
    "JOB_TABLE_ROWS",
    "JobRow",
    "JobSort",
    "JobTable",
    "job_names",
    "job_table",
    "recent_executions",
]

#: The most rows the jobs table shows at once (the rest is counted, not shown).
JOB_TABLE_ROWS: Final = 500

_FAR_FUTURE: Final = datetime.max.replace(tzinfo=UTC)
_FAR_PAST: Final = datetime.min.replace(tzinfo=UTC)


class JobSort(enum.StrEnum):
    """The columns the jobs table sorts by."""

    NAME = "name"
    TYPE = "type"
    STATUS = "status"
    NEXT = "next"
    """Next fire, soonest first; jobs without one last."""
    LAST = "last"
    """Last fire, most recent first; jobs that never fired last."""


@dataclass(frozen=True)
class JobRow:
    """One row of the jobs table: the job and its newest ended execution."""

    job: Job
    last_result: Execution | None


@dataclass(frozen=True)
class JobTable:
    """The rows of the jobs table and how many matched in all."""

    rows: list[JobRow]
    matched: int
    """Jobs that matched the search (more than ``len(rows)`` when cut at the limit)."""


def _sort_key(sort: JobSort, job: Job) -> tuple[object, ...]:
    name = job.name.casefold()
    if sort is JobSort.TYPE:
        return (job.job_type, name)
    if sort is JobSort.STATUS:
        return (job.status.value, name)
    if sort is JobSort.NEXT:
        return (job.next_execution or _FAR_FUTURE, name)
    if sort is JobSort.LAST:
        # most recent first: sort on the negated distance from the far past
        stamp = job.last_execution or _FAR_PAST
        return (-(stamp - _FAR_PAST).total_seconds(), name)
    return (name, job.job_id)


def job_table(
    queries: Queries,
    search: str = "",
    sort: JobSort | str = JobSort.NAME,
    *,
    descending: bool = False,
    status: JobStatus | str | None = None,
    limit: int = JOB_TABLE_ROWS,
) -> JobTable:
    """The jobs (all but deleted ones unless ``status`` says otherwise) whose name, key,
    type, id prefix or description contains ``search`` (case-insensitive), sorted by
    ``sort`` (reversed with ``descending``), at most ``limit`` of them with their last
    results (one query for those)."""
    order = enum_value(JobSort, sort, "sort")
    wanted = None if status in (None, "") else enum_value(JobStatus, status, "status")
    if limit < 1:
        raise ValidationError("limit must be at least 1")
    needle = search.strip().casefold()
    jobs = queries.jobs_page(wanted, limit=None).items
    if needle:
        jobs = [job for job in jobs if _matches(job, needle)]
    jobs.sort(key=lambda job: _sort_key(order, job), reverse=descending)
    shown = jobs[:limit]
    last = queries.last_results(shown)
    return JobTable([JobRow(job, last.get(job.job_id)) for job in shown], len(jobs))


def _matches(job: Job, needle: str) -> bool:
    if job.job_id.startswith(needle):
        return True
    texts = (job.name, job.key or "", job.job_type, job.description or "")
    return any(needle in text.casefold() for text in texts)


def recent_executions(
    queries: Queries,
    job: str | None = None,
    status: ExecutionStatus | str | None = None,
    *,
    within: timedelta | None = None,
    limit: int = 50,
    before: str | None = None,
) -> Page[Execution]:
    """A page of executions, newest first, of one job (id, key, name or prefix) or of
    all, in one status or any, created within the last ``within`` (any time when None);
    ``before`` is the previous page's ``next_cursor``."""
    if within is not None and within <= timedelta(0):
        raise ValidationError("the time range must be positive")
    since = None if within is None else queries.clock.now() - within
    return queries.history_page(
        job or None, status or None, limit=limit, before=before, since=since
    )


def job_names(queries: Queries, executions: list[Execution]) -> dict[str, str]:
    """The name of each listed execution's job, by job id (one query; purged jobs are
    left out)."""
    ids = list(dict.fromkeys(execution.job_id for execution in executions))
    return {job.job_id: job.name for job in queries.store.get_jobs(ids)}
