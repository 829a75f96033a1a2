"""Read models of the dashboard's tables: the jobs table (search, sort) and the
executions list of a time window.

The web pages call these; the rules (what a search matches, how each column sorts,
what a window keeps) live here, not in the templates or the routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from dbcron.errors import ValidationError
from dbcron.models import Execution, ExecutionStatus, Job, JobStatus, JobTableQuery, JobTableSort
from dbcron.service.inputs import enum_value
from dbcron.service.queries import Queries
from dbcron.service.reports import Page

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


#: The columns the jobs table sorts by.
JobSort = JobTableSort


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
    query = JobTableQuery(search.strip() or None, wanted, order, descending)
    shown, matched = queries.store.table_jobs(query, limit=limit)
    last = queries.last_results(shown)
    return JobTable([JobRow(job, last.get(job.job_id)) for job in shown], matched)


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
