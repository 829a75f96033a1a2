"""Typed events after commit, on SQLite and PostgreSQL (directly and through PgBouncer).

Every handler here looks the change up through a second, independent connection: an
event is only published once its change is visible to everyone. Each event is seen
once, and none for rejected input or a rejected (stale) completion.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dbcron.clock import FakeClock
from dbcron.config import Settings
from dbcron.errors import ConflictError, CronError, ValidationError
from dbcron.events import (
    Event,
    ExecutionFinished,
    ExecutionMissed,
    ExecutionRescued,
    ExecutionStarted,
    JobChanged,
    JobCreated,
    JobDeleted,
    NodeDead,
    NodeStarted,
    NodeStopped,
)
from dbcron.models import ExecutionStatus, JobStatus, Outcome, SchedulerNode
from dbcron.runtime import Runtime
from dbcron.store import Store, open_store
from tests.support.engine import TEST_SETTINGS, running
from tests.support.waiting import wait_for

NOOP = {"callable": "tests.support.handlers:noop"}
NEVER = "0 0 1 1 *"  # due once a year: only triggers run in these tests


def visible(observer: Store, event: Event) -> bool:
    """Whether ``event``'s change is in the database, read on another connection."""
    match event:
        case JobCreated(job=job):
            return observer.get_job(job.job_id) == job
        case JobChanged(job=job):
            return observer.get_job(job.job_id) == job
        case JobDeleted(job=job, purged=True):
            return observer.get_job(job.job_id) is None
        case JobDeleted(job=job):
            row = observer.get_job(job.job_id)
            return row is not None and row.status is JobStatus.DELETED
        case ExecutionStarted(execution=execution):
            row = observer.get_execution(execution.execution_id)
            return row is not None and row.started_at is not None and row.node_id is not None
        case ExecutionFinished(execution_id=execution_id, status=status):
            row = observer.get_execution(execution_id)
            return row is not None and row.status is status
        case ExecutionRescued(execution=execution):
            row = observer.get_execution(execution.execution_id)
            return row is not None and row.status is ExecutionStatus.FAILED
        case ExecutionMissed(execution=execution):
            rows = observer.list_executions(
                job_id=execution.job_id, status=ExecutionStatus.MISSED, limit=1000
            )
            return execution.scheduled_for in {r.scheduled_for for r in rows}
        case NodeStarted(node_id=node_id):
            return node_id in {n.node_id for n in observer.list_nodes()}
        case NodeStopped(node_id=node_id):
            return any(n.node_id == node_id and n.stopped_at for n in observer.list_nodes())
    raise AssertionError(f"unexpected event {event!r}")


class Recorder:
    """Every event published on a runtime's bus, each checked for visibility at once."""

    def __init__(self, runtime: Runtime, observer: Store) -> None:
        self.events: list[Event] = []
        self.invisible: list[Event] = []
        self._observer = observer
        self._lock = threading.Lock()
        runtime.bus.subscribe(Event, self._record)

    def _record(self, event: Event) -> None:
        ok = visible(self._observer, event)
        with self._lock:
            self.events.append(event)
            if not ok:
                self.invisible.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]

    def kinds(self) -> list[str]:
        with self._lock:
            return [type(e).__name__ for e in self.events]


@pytest.fixture
def observer(db_url: str) -> Iterator[Store]:
    """A second, independent connection to the test database."""
    opened = open_store(db_url)
    yield opened
    opened.close()


def make_runtime(store: Store, db_url: str, clock: FakeClock | None = None) -> Runtime:
    settings = Settings.model_validate(
        {"database": {"url": db_url}, "scheduler": {**TEST_SETTINGS, "executor": "thread"}}
    )
    return Runtime(settings, store=store, clock=clock)


def test_job_events_follow_each_committed_change_and_never_rejected_input(
    store: Store, db_url: str, observer: Store
) -> None:
    runtime = make_runtime(store, db_url)
    seen = Recorder(runtime, observer)
    jobs = runtime.jobs
    job = jobs.new_job("j", "python", "@hourly", NOOP)
    with pytest.raises(CronError):
        jobs.new_job("bad", "python", "not a schedule", NOOP)
    with pytest.raises(ValidationError):
        jobs.update_fields(job.job_id, priority=5000)
    changed = jobs.update_fields(job.job_id, description="changed")
    with pytest.raises(ConflictError):
        jobs.update_job(job.with_changes(description="stale"))  # job.version is stale
    jobs.pause_job(job.job_id)
    jobs.pause_job(job.job_id)  # already paused: nothing changes, nothing published
    jobs.resume_job(job.job_id)
    jobs.trigger_job(job.job_id)  # an execution, not a job change
    jobs.delete_job(job.job_id)
    jobs.delete_job(job.job_id)  # already deleted
    with pytest.raises(ValidationError):
        jobs.pause_job(job.job_id)
    jobs.delete_job(job.job_id, purge=True)
    assert seen.kinds() == [
        "JobCreated",
        "JobChanged",
        "JobChanged",
        "JobChanged",
        "JobDeleted",
        "JobDeleted",
    ]
    assert seen.invisible == []
    first_change = seen.of(JobChanged)[0]
    assert isinstance(first_change, JobChanged)
    assert first_change.job == changed and first_change.previous.description is None
    deleted = seen.of(JobDeleted)
    assert [e.purged for e in deleted if isinstance(e, JobDeleted)] == [False, True]


def test_engine_events_each_once_after_commit(store: Store, db_url: str, observer: Store) -> None:
    runtime = make_runtime(store, db_url)
    seen = Recorder(runtime, observer)
    job = runtime.jobs.new_job("j", "python", NEVER, NOOP)
    triggered = runtime.jobs.trigger_job(job.job_id)
    engine = runtime.engine(runtime.engine_settings(executor="thread"))
    assert engine is not None and engine.bus is runtime.bus
    with running(engine):
        wait_for(lambda: seen.of(ExecutionFinished), 20, what="the finished event")
    assert seen.invisible == []
    assert seen.kinds() == [
        "JobCreated",
        "NodeStarted",
        "ExecutionStarted",
        "ExecutionFinished",
        "NodeStopped",
    ]
    [started] = seen.of(ExecutionStarted)
    [finished] = seen.of(ExecutionFinished)
    assert isinstance(started, ExecutionStarted) and isinstance(finished, ExecutionFinished)
    assert started.execution.execution_id == triggered.execution_id
    assert started.execution.node_id == engine.node_id
    assert finished.execution_id == triggered.execution_id
    assert finished.status is ExecutionStatus.SUCCESS and not finished.retry_scheduled


def test_rescue_is_published_and_the_rejected_completion_is_not(
    store: Store, db_url: str, observer: Store
) -> None:
    runtime = make_runtime(store, db_url)
    job = runtime.jobs.new_job("j", "python", NEVER, NOOP, retry_count=0)
    runtime.jobs.trigger_job(job.job_id)
    now = runtime.jobs.clock.now()
    # a node that died: its lease ran out a lease period ago and it never heartbeats
    lost = now - timedelta(seconds=60)
    [(execution, _)] = store.acquire(now, "node-gone", lost, 10)
    engine = runtime.engine()
    assert engine is not None
    seen = Recorder(runtime, observer)
    engine._maintenance(engine.clock.monotonic())  # the rescue sweep
    [rescued] = seen.of(ExecutionRescued)
    assert isinstance(rescued, ExecutionRescued)
    assert rescued.execution.execution_id == execution.execution_id
    # the lost node's completion arrives late: its fencing token no longer matches
    engine._done.append(
        Outcome(
            execution.execution_id,
            job.job_id,
            execution.fencing_token,
            ExecutionStatus.SUCCESS,
            now,
            0.1,
        )
    )
    engine._flush()
    assert engine.stats["rejected"] == 1
    assert seen.kinds() == ["ExecutionRescued"]
    assert seen.invisible == []


def test_missed_fires_of_a_claim_are_published(store: Store, db_url: str, observer: Store) -> None:
    # the job was created ten minutes ago; its fires since then are late beyond grace
    past = FakeClock(datetime.now(UTC) - timedelta(minutes=10))
    runtime = make_runtime(store, db_url, clock=past)
    job = runtime.jobs.new_job("j", "python", "* * * * *", NOOP, misfire_policy="skip")
    engine = runtime.engine()
    assert engine is not None
    seen = Recorder(runtime, observer)
    with running(engine):
        wait_for(lambda: seen.of(ExecutionMissed), 20, what="the missed events")
    missed = [e for e in seen.of(ExecutionMissed) if isinstance(e, ExecutionMissed)]
    rows = store.list_executions(job_id=job.job_id, status=ExecutionStatus.MISSED, limit=100)
    # the fire on time (if any) runs; the late ones are recorded missed, each published
    assert rows
    assert sorted(e.execution.scheduled_for for e in missed) == sorted(
        r.scheduled_for for r in rows
    )
    assert engine.stats["missed"] == len(rows)
    assert seen.invisible == []
    assert len(seen.of(ExecutionMissed)) == len(rows)


def test_a_dead_node_is_published_once_by_the_status_query(
    store: Store, db_url: str, observer: Store
) -> None:
    runtime = make_runtime(store, db_url)
    seen: list[Event] = []
    runtime.bus.subscribe(NodeDead, seen.append)
    now = runtime.jobs.clock.now()
    old = now - timedelta(minutes=10)
    store.register_node(SchedulerNode("gone", "host", 1, "0", old, old))
    store.register_node(SchedulerNode("alive", "host", 2, "0", now, now))
    report = runtime.queries.status_report()
    assert report.node_states == {"gone": "dead", "alive": "running"}
    runtime.queries.status_report()  # seen dead again: not published twice
    assert [e.node.node_id for e in seen if isinstance(e, NodeDead)] == ["gone"]
