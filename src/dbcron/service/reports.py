"""The read model's records: what a status, a page, a window's statistics, a fire
preview and a job's detail hold (frozen; built by :class:`dbcron.service.queries.Queries`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from dbcron.models import Execution, Job, JobStats, SchedulerNode

if TYPE_CHECKING:
    from dbcron.cron import FirePreview

__all__ = ["ClusterGauges", "FirePlan", "JobDetail", "Page", "StatusReport", "WindowReport"]

T = TypeVar("T")


@dataclass(frozen=True)
class StatusReport:
    """What ``dbcron status`` shows: nodes, running work, upcoming fires, statistics."""

    generated_at: datetime
    database: str
    nodes: list[SchedulerNode]
    running: list[Execution]
    """What runs now (at most :data:`dbcron.service.queries.RUNNING_SHOWN`, the newest first)."""
    running_count: int
    """How many executions run now."""
    pending: int
    """How many executions wait to run (due or not)."""
    upcoming: list[tuple[Job, datetime]]
    overall: JobStats
    per_job: list[tuple[Job, JobStats]]
    """The jobs with the most failures and timeouts in the window (at most ``jobs``)."""
    jobs_fired: int
    """How many jobs fired in the window."""
    window: timedelta
    jobs_by_status: dict[str, int]
    node_states: dict[str, str]
    """node_id -> ``running``, ``stopped`` or ``dead`` (no heartbeat for NODE_DEAD_AFTER)."""


@dataclass(frozen=True)
class ClusterGauges:
    """The cluster's state now, for metrics: unfinished work and the nodes."""

    generated_at: datetime
    pending: int
    """Executions waiting to run (due or not)."""
    running: int
    """Executions running now, on any node."""
    nodes: list[SchedulerNode]
    node_states: dict[str, str]
    """node_id -> ``running``, ``stopped`` or ``dead``."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, and where the next one starts."""

    items: list[T]
    next_cursor: str | None
    """The id to pass as ``after`` (jobs) or ``before`` (executions) for the next page;
    None when this page is the last."""
    remaining: int | None = None
    """How many items follow this page, where counting them is cheap (jobs); else None."""


@dataclass(frozen=True)
class WindowReport:
    """The statistics of the executions created since ``since`` (``window`` ago)."""

    since: datetime
    window: timedelta
    stats: JobStats


@dataclass(frozen=True)
class FirePlan:
    """A job's upcoming fires in its time zone, with DST notes."""

    job: Job
    description: str
    """The schedule in words."""
    fires: list[FirePreview]


@dataclass(frozen=True)
class JobDetail:
    """What ``dbcron show`` shows: the job, its next fires and its latest executions."""

    job: Job
    next_fires: list[datetime]
    executions: list[Execution]
