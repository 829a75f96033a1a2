"""Typed events, published on the in-process bus (:class:`~dbcron.eventbus.EventBus`).

Every event is published **after** the transaction that recorded its cause committed:
the service layer publishes job events once its store call returned, the scheduler
publishes execution and node events once the claim, acquire, completion, rescue or
node write returned. A subscriber therefore always finds the change in the database.

The bus is in-process and synchronous: handlers run in the publishing thread, in the
order they subscribed, and must be quick (hand slow work to a queue or a thread). An
exception in a handler is logged and never reaches the publisher (the engine or a
service). Events that must not be lost (an alert, a downstream fire) are rows written
in the same transaction as their cause; the bus only wakes whoever reads them. See
docs/events.md for which events are guaranteed and which are best effort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dbcron.eventbus import EventBus as EventBus
from dbcron.models import Execution, ExecutionStatus, Job, Outcome, SchedulerNode


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; subscribing to it receives them all."""


# -- jobs (published by the service layer) ------------------------------------------


@dataclass(frozen=True, slots=True)
class JobCreated(Event):
    """A job was stored."""

    job: Job


@dataclass(frozen=True, slots=True)
class JobChanged(Event):
    """A job's fields or status changed (update, pause, resume); ``job`` as stored."""

    job: Job
    previous: Job


@dataclass(frozen=True, slots=True)
class JobDeleted(Event):
    """A job was soft-deleted (status ``deleted``) or, with ``purged``, removed."""

    job: Job
    purged: bool = False


# -- executions (published by the scheduler and the foreground runner) ---------------


@dataclass(frozen=True, slots=True)
class ExecutionEvent(Event):
    """Base of the events about one execution row, as recorded."""

    execution: Execution


@dataclass(frozen=True, slots=True)
class ExecutionStarted(ExecutionEvent):
    """An execution was set ``running`` on ``execution.node_id`` (claim or acquire)."""

    job: Job


@dataclass(frozen=True, slots=True)
class ExecutionFinished(Event):
    """A completion was accepted (its fencing token matched) and recorded."""

    execution_id: str
    job_id: str
    status: ExecutionStatus
    finished_at: datetime
    duration_seconds: float | None
    error_message: str | None
    retry_scheduled: bool

    @classmethod
    def of(cls, outcome: Outcome) -> ExecutionFinished:
        """The event that says ``outcome`` was accepted and recorded."""
        return cls(
            execution_id=outcome.execution_id,
            job_id=outcome.job_id,
            status=outcome.status,
            finished_at=outcome.finished_at,
            duration_seconds=outcome.duration_seconds,
            error_message=outcome.error_message,
            retry_scheduled=outcome.retry is not None,
        )


@dataclass(frozen=True, slots=True)
class ExecutionRescued(ExecutionEvent):
    """A running execution whose lease expired was marked failed (and maybe retried)."""


@dataclass(frozen=True, slots=True)
class ExecutionCancelled(ExecutionEvent):
    """A pending or running execution was cancelled (``execution`` as recorded); a
    running one's node stops it within about a second."""

    previous_status: ExecutionStatus


@dataclass(frozen=True, slots=True)
class ExecutionMissed(ExecutionEvent):
    """A fire was recorded ``missed`` (misfire policy, overlap, pause, schedule change)."""


# -- nodes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FiresClaimed(Event):
    """A claim transaction committed on ``node_id`` and turned ``jobs`` (one or more)
    due jobs into fires (``started`` of them started at once) in ``seconds`` (the transaction's wall
    time, as the scheduler measured it: the claim latency)."""

    node_id: str
    jobs: int
    started: int
    seconds: float


@dataclass(frozen=True, slots=True)
class NodeEvent(Event):
    """Base of the events a scheduler node publishes about itself."""

    node_id: str


@dataclass(frozen=True, slots=True)
class NodeStarted(NodeEvent):
    """A scheduler node registered itself."""


@dataclass(frozen=True, slots=True)
class NodeStopped(NodeEvent):
    """A scheduler node stopped cleanly (its row is marked stopped)."""


@dataclass(frozen=True, slots=True)
class NodeDead(Event):
    """A node's heartbeat was seen stale by the status query (best effort)."""

    node: SchedulerNode
