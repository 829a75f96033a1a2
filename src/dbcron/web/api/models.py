"""The REST API's request and response bodies (pydantic models, documented in the
OpenAPI schema at ``/api/openapi.json``).

Responses are built from the service layer's records (:func:`job_out`,
:func:`execution_out`...); times are aware UTC datetimes, written in ISO 8601. Job
configs are shown masked (:func:`dbcron.service.secrets.mask_config`). Request bodies
type their fields for the schema, but the rules (a valid cron expression, a known job
type, an enum value, a range) are the service's, so that the API answers with the CLI's
messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dbcron.cron import FirePreview
from dbcron.models import Execution, Job, JobStats, StoredPaper
from dbcron.service.secrets import mask_config

__all__ = [
    "CancelIn",
    "ExecutionDetail",
    "ExecutionOut",
    "ExecutionPage",
    "FireOut",
    "JobCreate",
    "JobOut",
    "JobPage",
    "JobPatch",
    "JobTypeOut",
    "NextFires",
    "PaperOut",
    "Problem",
    "StatsOut",
    "StatusOut",
    "execution_detail",
    "execution_out",
    "job_out",
    "stats_out",
]


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="The offending input, where known.")


class JobOut(BaseModel):
    """A job as stored; its config with secrets masked."""

    job_id: str
    key: str | None
    name: str
    job_type: str
    schedule_expression: str
    timezone: str
    config: dict[str, Any]
    status: str = Field(description="active, inactive, paused or deleted.")
    description: str | None
    timeout_seconds: int | None
    retry_count: int | None
    retry_delay_seconds: int | None
    retry_backoff: str
    misfire_policy: str
    catchup_window_seconds: int
    max_concurrency: int
    overlap_policy: str
    priority: int
    keep_last: int | None
    retention_days: int | None
    version: int = Field(description="Send it back with a change (optimistic concurrency).")
    created_at: datetime | None
    updated_at: datetime | None
    last_execution: datetime | None
    next_execution: datetime | None


def job_out(job: Job) -> JobOut:
    """The response body of ``job``."""
    return JobOut(
        job_id=job.job_id,
        key=job.key,
        name=job.name,
        job_type=job.job_type,
        schedule_expression=job.schedule_expression,
        timezone=job.timezone,
        config=mask_config(job.config),
        status=job.status.value,
        description=job.description,
        timeout_seconds=job.timeout_seconds,
        retry_count=job.retry_count,
        retry_delay_seconds=job.retry_delay_seconds,
        retry_backoff=job.retry_backoff.value,
        misfire_policy=job.misfire_policy.value,
        catchup_window_seconds=job.catchup_window_seconds,
        max_concurrency=job.max_concurrency,
        overlap_policy=job.overlap_policy.value,
        priority=job.priority,
        keep_last=job.keep_last,
        retention_days=job.retention_days,
        version=job.version,
        created_at=job.created_at,
        updated_at=job.updated_at,
        last_execution=job.last_execution,
        next_execution=job.next_execution,
    )


class JobPage(BaseModel):
    """One page of jobs; pass ``next_cursor`` as ``cursor`` for the next (null: last)."""

    items: list[JobOut]
    next_cursor: str | None


class _JobFields(BaseModel):
    """The fields a job may be created or changed with (those of ``dbcron create``)."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(None, description="A unique slug, e.g. nightly-fetch.")
    description: str | None = None
    timezone: str | None = Field(None, description="IANA time zone of the schedule.")
    config: dict[str, Any] | None = Field(None, description="The job type's config object.")
    timeout_seconds: int | None = None
    retry_count: int | None = None
    retry_delay_seconds: int | None = None
    retry_backoff: str | None = Field(None, description="fixed or exponential.")
    misfire_policy: str | None = Field(None, description="run_once, run_all or skip.")
    catchup_window_seconds: int | None = None
    max_concurrency: int | None = None
    overlap_policy: str | None = Field(None, description="skip, queue or allow.")
    priority: int | None = Field(None, description="Higher runs first (-1000..1000).")
    keep_last: int | None = None
    retention_days: int | None = None


class JobCreate(_JobFields):
    """A new job: the arguments and options of ``dbcron create`` (omitted options get the
    configured defaults)."""

    name: str
    job_type: str = Field(description="A job type (GET /api/v1/types).")
    schedule_expression: str | None = Field(
        None, description="Cron, macro or '@every 1h' (default: every scheduler.interval_hours)."
    )
    status: str | None = Field(None, description="active (default), inactive or paused.")


class JobPatch(_JobFields):
    """Changes to a job: only the fields sent change (null clears an optional one).
    ``version`` (or the ``If-Match`` header) is the version the change was made to."""

    version: int | None = Field(
        None, ge=0, le=2**31 - 1, description="The job's version as last read."
    )
    name: str | None = None
    job_type: str | None = None
    schedule_expression: str | None = None
    status: str | None = Field(None, description="active, inactive or paused.")


class FireOut(BaseModel):
    """One upcoming fire; ``note`` says how DST moved it (or that its local time occurs
    twice), ``dst_shifted`` then is true."""

    utc: datetime
    local: datetime = Field(description="In the job's time zone (with its offset).")
    dst_shifted: bool
    note: str | None


class NextFires(BaseModel):
    """A job's next fires in its time zone (``dbcron next``)."""

    job_id: str
    expression: str
    timezone: str
    description: str = Field(description="The expression in words.")
    fires: list[FireOut]


def fire_out(fire: FirePreview) -> FireOut:
    """The response body of one previewed fire."""
    return FireOut(utc=fire.utc, local=fire.local, dst_shifted=fire.dst_shifted, note=fire.note)


class ExecutionOut(BaseModel):
    """An execution as listed (without its logs)."""

    execution_id: str
    job_id: str
    status: str = Field(description="pending, running, success, failed, timeout, missed...")
    trigger: str = Field(description="schedule, manual, retry, catchup or dependency.")
    scheduled_for: datetime
    created_at: datetime | None
    run_after: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    retry_attempt: int
    priority: int
    node_id: str | None
    result: Any = None
    error_message: str | None


class ExecutionDetail(ExecutionOut):
    """One execution with its logs."""

    logs: str | None


def _execution_fields(execution: Execution) -> dict[str, Any]:
    return {
        "execution_id": execution.execution_id,
        "job_id": execution.job_id,
        "status": execution.status.value,
        "trigger": execution.trigger.value,
        "scheduled_for": execution.scheduled_for,
        "created_at": execution.created_at,
        "run_after": execution.run_after,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "duration_seconds": execution.duration_seconds,
        "retry_attempt": execution.retry_attempt,
        "priority": execution.priority,
        "node_id": execution.node_id,
        "result": execution.result,
        "error_message": execution.error_message,
    }


def execution_out(execution: Execution) -> ExecutionOut:
    """The list item of ``execution``."""
    return ExecutionOut(**_execution_fields(execution))


def execution_detail(execution: Execution) -> ExecutionDetail:
    """The response body of one ``execution``, logs included."""
    return ExecutionDetail(**_execution_fields(execution), logs=execution.logs)


class ExecutionPage(BaseModel):
    """One page of executions, newest first; pass ``next_cursor`` as ``cursor`` for the
    next (null: last)."""

    items: list[ExecutionOut]
    next_cursor: str | None


class CancelIn(BaseModel):
    """Why an execution is cancelled (kept in its error message)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=1000)


class StatsOut(BaseModel):
    """Execution statistics over a window (``success_rate``: 0 to 1 of the finished
    runs, null when none finished; durations in seconds)."""

    runs: int
    success: int
    failed: int
    timeout: int
    missed: int
    running: int
    pending: int
    success_rate: float | None
    mean_duration_seconds: float | None
    p95_duration_seconds: float | None


def stats_out(stats: JobStats) -> StatsOut:
    """The response body of ``stats``."""
    return StatsOut(
        runs=stats.runs,
        success=stats.success,
        failed=stats.failed,
        timeout=stats.timeout,
        missed=stats.missed,
        running=stats.running,
        pending=stats.pending,
        success_rate=stats.success_rate,
        mean_duration_seconds=stats.mean_duration,
        p95_duration_seconds=stats.p95_duration,
    )


class WindowStats(StatsOut):
    """``GET /stats``: the statistics of every job's executions created in the window."""

    window_seconds: float
    since: datetime


class NodeOut(BaseModel):
    """A scheduler node and its state: running, stopped or dead."""

    node_id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_heartbeat: datetime
    stopped_at: datetime | None
    state: str


class UpcomingOut(BaseModel):
    """A job's next fire."""

    job_id: str
    name: str
    timezone: str
    fire_at: datetime


class FailingJobOut(StatsOut):
    """A job with failures in the window, and its statistics."""

    job_id: str
    name: str


class StatusOut(BaseModel):
    """The cluster status: the document of ``dbcron status --json``."""

    generated_at: datetime
    database: str
    nodes: list[NodeOut]
    running_count: int
    running: list[ExecutionOut] = Field(description="The newest 100 running executions.")
    pending_count: int
    upcoming: list[UpcomingOut]
    window_hours: float
    jobs_by_status: dict[str, int]
    jobs_fired: int
    overall: StatsOut
    jobs_with_most_failures: list[FailingJobOut]


class JobTypeOut(BaseModel):
    """A job type with its config's JSON schema and an example config (``dbcron types``)."""

    name: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    example: dict[str, Any]


class PaperOut(BaseModel):
    """A paper stored by a ``paper_fetch`` job (``dbcron papers``)."""

    arxiv_id: str
    version: int
    title: str
    authors: list[str]
    abstract: str | None
    categories: list[str]
    primary_category: str | None
    published: datetime | None
    updated: datetime | None
    doi: str | None
    journal_ref: str | None
    comment: str | None
    pdf_url: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    job_id: str | None


def paper_out(paper: StoredPaper) -> PaperOut:
    """The response body of one paper."""
    return PaperOut(
        arxiv_id=paper.arxiv_id,
        version=paper.version,
        title=paper.title,
        authors=list(paper.authors),
        abstract=paper.abstract,
        categories=list(paper.categories),
        primary_category=paper.primary_category,
        published=paper.published,
        updated=paper.updated,
        doi=paper.doi,
        journal_ref=paper.journal_ref,
        comment=paper.comment,
        pdf_url=paper.pdf_url,
        first_seen_at=paper.first_seen_at,
        last_seen_at=paper.last_seen_at,
        job_id=paper.job_id,
    )
