"""Records and states: frozen dataclasses and the enums every state is drawn from.

Each enum's values match a CHECK constraint in both database schemas, so a state that
is not listed here cannot be stored.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, NamedTuple, Self, get_type_hints


class JobStatus(StrEnum):
    """Whether a job's schedule fires. ``deleted`` is a soft delete that keeps history."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    PAUSED = "paused"
    DELETED = "deleted"


class ExecutionStatus(StrEnum):
    """Where one execution is in its life; the last five are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MISSED = "missed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True once the execution can no longer change."""
        return self not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)


class Trigger(StrEnum):
    """Why an execution exists."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"
    CATCHUP = "catchup"
    DEPENDENCY = "dependency"


class MisfirePolicy(StrEnum):
    """What to do with fires that were due while no scheduler ran."""

    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"
    SKIP = "skip"


class OverlapPolicy(StrEnum):
    """What to do with a fire while ``max_concurrency`` executions of the job run."""

    SKIP = "skip"
    QUEUE = "queue"
    ALLOW = "allow"


class RetryBackoff(StrEnum):
    """How the delay between retries grows."""

    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class JobOrder(StrEnum):
    """The orders a job search can list jobs in (each then by job id)."""

    CREATED = "created"
    """Oldest first."""
    NAME = "name"
    """By name (the database's collation)."""
    NEXT_RUN = "next_run"
    """The soonest next fire first; jobs without one last."""


class JobTableSort(StrEnum):
    """The columns the dashboard's jobs table sorts by (each then by name, then id)."""

    NAME = "name"
    TYPE = "type"
    STATUS = "status"
    NEXT = "next"
    """Next fire, soonest first; jobs without one last."""
    LAST = "last"
    """Last fire, most recent first; jobs that never fired last."""


@dataclass(frozen=True, slots=True)
class JobTableQuery:
    """What the dashboard's jobs table shows: a search, a status filter and an order."""

    search: str | None = None
    """Jobs whose name, key, type or description contains this text (ignoring ASCII
    case), or whose id starts with it."""
    status: JobStatus | None = None
    """Only jobs in this state (None: every state but ``deleted``)."""
    sort: JobTableSort = JobTableSort.NAME
    descending: bool = False
    """The whole order reversed."""


@dataclass(frozen=True, slots=True)
class JobQuery:
    """What a job search lists: filters and an order."""

    status: JobStatus | None = None
    """Only jobs in this state (None: every state but ``deleted``)."""
    job_type: str | None = None
    name_contains: str | None = None
    """Only jobs whose name contains this text, ignoring (ASCII) case."""
    order: JobOrder = JobOrder.CREATED


def new_id() -> str:
    """A new random job id (a version 4 UUID in its canonical text form): random from
    the first digit, so that a short prefix names a job on the command line."""
    return str(uuid.uuid4())


def new_execution_id() -> str:
    """A new execution id: a version 7 UUID (RFC 9562) in its canonical text form.

    Its first 48 bits are the Unix time in milliseconds, so ids sort by creation time
    and the primary-key index of the history table grows at its end instead of being
    written all over; the remaining 74 bits are random.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_Layout = tuple[tuple[str, ...], tuple[tuple[int, dict[str, Any]], ...]]


def _layout(cls: type) -> _Layout:
    """A record's field names in order, and where its enum fields sit with a map from
    value to member (for its compact pickling)."""
    hints = get_type_hints(cls)
    names = tuple(f.name for f in fields(cls))
    enums = tuple(
        (i, {member.value: member for member in hints[name]})
        for i, name in enumerate(names)
        if isinstance(hints[name], type) and issubclass(hints[name], Enum)
    )
    return names, enums


def _getstate(self: Any) -> tuple[Any, ...]:
    """Field values in order, enums as their plain values: what pickle keeps of a record
    (executions and jobs cross to worker processes for every run; the generic dataclass
    state, with an enum reconstructed by calling its class, is several times slower)."""
    names, enums = self._layout()
    values = [getattr(self, name) for name in names]
    for i, _ in enums:
        values[i] = values[i]._value_
    return tuple(values)


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    names, enums = self._layout()
    values = list(state)
    for i, members in enums:
        values[i] = members[values[i]]
    for name, value in zip(names, values, strict=True):
        object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class Job:
    """A job definition: the specification's ``jobs`` row plus the engine's columns.

    Build one with at least ``name``, ``job_type`` and ``schedule_expression`` and hand
    it to :meth:`dbcron.JobManager.create_job`, which validates it, fills the
    timestamps and ``next_execution``, and returns the stored record.
    """

    name: str
    job_type: str
    schedule_expression: str
    config: dict[str, Any] = field(default_factory=dict)
    status: JobStatus = JobStatus.ACTIVE
    description: str | None = None
    timeout_seconds: int | None = None
    retry_count: int | None = None
    retry_delay_seconds: int | None = None
    job_id: str = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_execution: datetime | None = None
    next_execution: datetime | None = None
    timezone: str = "UTC"
    misfire_policy: MisfirePolicy = MisfirePolicy.RUN_ONCE
    catchup_window_seconds: int = 3600
    max_concurrency: int = 1
    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    priority: int = 0
    retry_backoff: RetryBackoff = RetryBackoff.FIXED
    version: int = 0
    keep_last: int | None = None
    """Retention: the newest this-many executions are kept however old (None: the
    maintenance job's ``keep_last``)."""
    retention_days: int | None = None
    """Retention: executions younger than this are kept (None: the maintenance job's
    ``retention_days``)."""
    key: str | None = None
    """A stable slug that names the job in jobs files and on the command line (e.g.
    ``nightly-fetch``); unique among the jobs that are not deleted. None: no key."""

    def with_changes(self, **changes: Any) -> Self:
        """A copy with the given fields replaced (the record itself never changes)."""
        return replace(self, **changes)

    @classmethod
    def _layout(cls) -> _Layout:
        return _JOB_LAYOUT

    __getstate__ = _getstate
    __setstate__ = _setstate


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution of a job: the specification's ``job_executions`` row plus the engine's.

    ``scheduled_for`` is the nominal fire time; ``(job_id, scheduled_for,
    retry_attempt)`` is unique, which is what makes a fire impossible to record twice.
    """

    job_id: str
    scheduled_for: datetime
    status: ExecutionStatus = ExecutionStatus.PENDING
    trigger: Trigger = Trigger.SCHEDULE
    execution_id: str = field(default_factory=new_execution_id)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    result: Any = None
    error_message: str | None = None
    retry_attempt: int = 0
    logs: str | None = None
    created_at: datetime | None = None
    run_after: datetime | None = None
    node_id: str | None = None
    lease_expires_at: datetime | None = None
    fencing_token: int = 0
    priority: int = 0

    def with_changes(self, **changes: Any) -> Self:
        """A copy with the given fields replaced."""
        return replace(self, **changes)

    @classmethod
    def missed(cls, job: Job, fire: datetime, reason: str, now: datetime) -> Execution:
        """The ``missed`` row of ``job``'s fire at ``fire``, recorded at ``now``, with the
        reason it did not run."""
        return cls(
            job_id=job.job_id,
            scheduled_for=fire,
            status=ExecutionStatus.MISSED,
            trigger=Trigger.SCHEDULE,
            created_at=now,
            finished_at=now,
            error_message=reason,
            priority=job.priority,
        )

    @classmethod
    def _layout(cls) -> _Layout:
        return _EXECUTION_LAYOUT

    __getstate__ = _getstate
    __setstate__ = _setstate


_JOB_LAYOUT = _layout(Job)
_EXECUTION_LAYOUT = _layout(Execution)


@dataclass(frozen=True, slots=True)
class SchedulerNode:
    """One running (or dead) scheduler process, as recorded in ``scheduler_nodes``."""

    node_id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_heartbeat: datetime
    stopped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobStats:
    """Execution counts of one job (or of all jobs when ``job_id`` is None) over a window."""

    job_id: str | None
    runs: int
    """Executions that started (running or ended); missed fires and pending runs are not
    runs."""
    success: int
    failed: int
    timeout: int
    missed: int
    running: int
    pending: int
    mean_duration: float | None
    p95_duration: float | None

    @property
    def success_rate(self) -> float | None:
        """Successful runs over finished runs, or None when nothing finished."""
        finished = self.success + self.failed + self.timeout
        return None if finished == 0 else self.success / finished


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one running execution ended, ready to be written back.

    The write is accepted only while the execution is still ``running`` with the same
    ``fencing_token``: a node whose lease was taken over cannot overwrite the rescue.
    ``retry`` is the next attempt's pending execution, inserted only if accepted.
    """

    execution_id: str
    job_id: str
    fencing_token: int
    status: ExecutionStatus
    finished_at: datetime
    duration_seconds: float | None
    result: Any = None
    error_message: str | None = None
    logs: str | None = None
    retry: Execution | None = None


@dataclass(frozen=True, slots=True)
class ClaimSummary:
    """What one claim of due fires did; ``started`` are the executions it started on
    the claiming node at once (already ``running``, with their jobs), ``completed`` the
    ids of the outcomes it recorded first (those accepted)."""

    jobs: int
    pending: int
    missed: int
    started: tuple[tuple[Execution, Job], ...] = ()
    completed: frozenset[str] = frozenset()


# -- papers (the ``paper_fetch`` job type's table) ------------------------------------


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper as the API describes its latest version."""

    arxiv_id: str
    """The id without version: ``1210.7708`` or ``cond-mat/0102536``."""
    version: int
    title: str
    authors: tuple[str, ...] = ()
    abstract: str | None = None
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    published: datetime | None = None
    """When version 1 was submitted (UTC)."""
    updated: datetime | None = None
    """When this version was submitted (UTC)."""
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    pdf_url: str | None = None

    @property
    def versioned_id(self) -> str:
        """The id with its version, as arXiv writes it: ``1210.7708v1``."""
        return f"{self.arxiv_id}v{self.version}"


@dataclass(frozen=True, slots=True)
class StoredPaper(Paper):
    """A row of the ``papers`` table: the paper and when dbcron saw it."""

    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    job_id: str | None = None
    """The job that first found the paper (the job may since have been purged)."""


class UpsertResult(NamedTuple):
    """How many papers an upsert inserted and how many it moved to a newer version."""

    new: int
    updated: int


# -- maintenance (the ``maintenance`` job type) ------------------------------------------


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What pruning old executions did."""

    deleted: int
    """Executions deleted."""
    batches: int
    """Delete statements run (each in its own transaction)."""
    complete: bool
    """False when ``should_stop`` ended the pruning before every old row was gone."""


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """What optimising the database did."""

    optimized: bool
    """True when the optimisation statements ran."""
    bytes_reclaimed: int | None
    """Bytes the database gave back (measured before and after), None if unmeasurable."""
    notes: list[str] = field(default_factory=list)
    """Plain-language remarks, e.g. why no space could be returned to the filesystem."""
