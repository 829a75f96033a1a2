"""JobManager (the service layer) over every backend, driven by a fake clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from dbcron.clock import FakeClock
from dbcron.config import JobDefaults
from dbcron.errors import (
    AmbiguousIdError,
    ConflictError,
    CronError,
    JobTypeError,
    NotFoundError,
    ValidationError,
)
from dbcron.manager import JobManager
from dbcron.models import ExecutionStatus, Job, JobStatus, Trigger
from dbcron.store import Store

NOW = datetime(2026, 3, 7, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def manager(store: Store, clock: FakeClock) -> JobManager:
    return JobManager(store, clock=clock, defaults=JobDefaults(timeout_seconds=600, retry_count=2))


def job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "name": "Daily Fetch",
        "job_type": "paper_fetch",
        "schedule_expression": "0 9 * * *",
        "config": {"keywords": ["AI"]},
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


def snapshot(store: Store) -> tuple[object, ...]:
    return (
        tuple(store.list_jobs(status=None)),
        tuple(store.list_executions(limit=1000)),
        tuple(store.list_jobs(status=JobStatus.DELETED)),
    )


def test_create_fills_defaults_timestamps_and_next_execution(manager: JobManager) -> None:
    created = manager.create_job(job(timezone="Europe/London"))
    assert created.version == 1
    assert created.created_at == created.updated_at == NOW
    assert created.next_execution == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
    assert (created.timeout_seconds, created.retry_count, created.retry_delay_seconds) == (
        600,
        2,
        300,
    )
    assert manager.get_job(created.job_id) == created


def test_next_execution_is_in_the_jobs_zone(manager: JobManager, clock: FakeClock) -> None:
    today = manager.create_job(job(timezone="America/New_York"))
    assert today.next_execution == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # 09:00 EST
    clock.set(datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    # Clocks spring forward on 2026-03-08 at 02:00, so the next 09:00 is EDT (UTC-4).
    tomorrow = manager.create_job(job(timezone="America/New_York"))
    assert tomorrow.next_execution == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"name": "  "}, ValidationError, "name must not be empty"),
        ({"job_type": "nope"}, JobTypeError, "unknown job type 'nope'"),
        ({"schedule_expression": "61 * * * *"}, CronError, "minute"),
        ({"timezone": "Mars/Base"}, CronError, "Mars/Base"),
        ({"config": {"max_papers": "lots"}}, JobTypeError, "max_papers"),
        ({"config": {"unknown_key": 1}}, JobTypeError, "unknown_key"),
        ({"timeout_seconds": 0}, ValidationError, "timeout_seconds must be at least 1"),
        ({"retry_count": -1}, ValidationError, "retry_count must be at least 0"),
        ({"retry_delay_seconds": -5}, ValidationError, "retry_delay_seconds"),
        ({"max_concurrency": 0}, ValidationError, "max_concurrency"),
        ({"misfire_policy": "sometimes"}, ValidationError, "misfire_policy must be one of"),
        ({"status": "deleted"}, ValidationError, "cannot be created deleted"),
        ({"job_type": "custom", "config": {}}, JobTypeError, "handler"),
        ({"job_type": "shell", "config": {"command": []}}, JobTypeError, "command"),
    ],
)
def test_rejected_input_writes_nothing(
    manager: JobManager,
    store: Store,
    overrides: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    manager.create_job(job(name="existing"))
    before = snapshot(store)
    with pytest.raises(error, match=message):
        manager.create_job(job(**overrides))
    assert snapshot(store) == before


def test_get_by_unique_prefix_and_ambiguity(manager: JobManager) -> None:
    a = manager.create_job(job(job_id="aaaa1111-0000-4000-8000-000000000001"))
    b = manager.create_job(job(job_id="aaaa2222-0000-4000-8000-000000000002"))
    assert manager.get_job("aaaa1").job_id == a.job_id
    assert manager.get_job(b.job_id.upper()).job_id == b.job_id
    with pytest.raises(AmbiguousIdError, match="aaaa1111-0000, aaaa2222-0000"):
        manager.get_job("aaaa")
    with pytest.raises(NotFoundError):
        manager.get_job("bbbb")


def test_update_recomputes_next_execution_and_detects_conflicts(
    manager: JobManager, clock: FakeClock
) -> None:
    created = manager.create_job(job())
    clock.advance(60)
    moved = manager.update_fields(created.job_id, schedule_expression="*/5 * * * *")
    assert moved.version == 2
    assert moved.next_execution == datetime(2026, 3, 7, 12, 5, tzinfo=UTC)
    assert moved.updated_at == NOW + timedelta(seconds=60)
    renamed = manager.update_job(moved.with_changes(name="renamed"))
    assert renamed.next_execution == moved.next_execution
    with pytest.raises(ConflictError):
        manager.update_job(moved.with_changes(name="stale write"))
    assert manager.get_job(created.job_id).name == "renamed"


def test_update_validates(manager: JobManager, store: Store) -> None:
    created = manager.create_job(job())
    before = snapshot(store)
    with pytest.raises(CronError):
        manager.update_fields(created.job_id, schedule_expression="* * *")
    with pytest.raises(ValidationError, match="cannot change"):
        manager.update_fields(created.job_id, version=9)
    assert snapshot(store) == before


def test_concurrent_updates_are_not_lost(manager: JobManager, store: Store) -> None:
    created = manager.create_job(job(config={"keywords": []}))
    errors: list[Exception] = []
    applied: list[int] = []

    def writer(n: int) -> None:
        for _ in range(20):
            current = manager.get_job(created.job_id)
            keywords = [*current.config["keywords"], f"w{n}"]
            try:
                manager.update_job(current.with_changes(config={"keywords": keywords}))
                applied.append(n)
            except ConflictError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = manager.get_job(created.job_id)
    # Every successful update is in the final document: none was overwritten.
    assert len(final.config["keywords"]) == len(applied)
    assert final.version == 1 + len(applied)
    assert len(applied) + len(errors) == 80


def test_pause_resume(manager: JobManager, clock: FakeClock) -> None:
    created = manager.create_job(job(schedule_expression="*/10 * * * *"))
    paused = manager.pause_job(created.job_id[:8])
    assert paused.status is JobStatus.PAUSED
    assert paused.next_execution is None
    assert manager.get_due_jobs(NOW + timedelta(days=1)) == []
    clock.advance(3600)
    resumed = manager.resume_job(created.job_id)
    assert resumed.status is JobStatus.ACTIVE
    assert resumed.next_execution == datetime(2026, 3, 7, 13, 10, tzinfo=UTC)
    assert manager.resume_job(created.job_id) == resumed


def test_due_jobs(manager: JobManager, clock: FakeClock) -> None:
    every = manager.create_job(job(schedule_expression="* * * * *"))
    manager.create_job(job(schedule_expression="0 0 1 1 *"))
    assert manager.get_due_jobs() == []
    clock.advance(30)
    assert [j.job_id for j in manager.get_due_jobs()] == [every.job_id]


def test_soft_delete_keeps_history_and_purge_removes_it(manager: JobManager) -> None:
    created = manager.create_job(job())
    manager.trigger_job(created.job_id)
    deleted = manager.delete_job(created.job_id)
    assert deleted.status is JobStatus.DELETED
    assert created.job_id not in [j.job_id for j in manager.list_jobs()]
    assert [j.job_id for j in manager.list_jobs(status="deleted")] == [created.job_id]
    assert len(manager.history(created.job_id)) == 1
    with pytest.raises(ValidationError, match="deleted"):
        manager.trigger_job(created.job_id)
    with pytest.raises(ValidationError, match="deleted"):
        manager.update_fields(created.job_id, name="zombie")
    manager.delete_job(created.job_id, purge=True)
    with pytest.raises(NotFoundError):
        manager.get_job(created.job_id)
    assert manager.history() == []


def test_trigger_records_a_manual_pending_execution(manager: JobManager) -> None:
    created = manager.create_job(job(status=JobStatus.PAUSED))
    execution = manager.trigger_job(created.job_id)
    assert execution.trigger is Trigger.MANUAL
    assert execution.status is ExecutionStatus.PENDING
    assert execution.scheduled_for == execution.run_after == NOW
    assert manager.history(created.job_id) == [execution]


def test_list_jobs_validates_filters(manager: JobManager) -> None:
    with pytest.raises(ValidationError, match="status must be one of"):
        manager.list_jobs(status="sleeping")
    with pytest.raises(JobTypeError):
        manager.list_jobs(job_type="nope")


def test_next_fires_and_status_report(manager: JobManager) -> None:
    created = manager.create_job(job(schedule_expression="@every 30s"))
    fires = manager.next_fires(created, 3)
    assert fires == [
        datetime(2026, 3, 7, 12, 1, tzinfo=UTC),
        datetime(2026, 3, 7, 12, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 7, 12, 2, tzinfo=UTC),
    ]
    manager.trigger_job(created.job_id)
    report = manager.status_report()
    assert report.pending == 1
    assert report.jobs_by_status == {"active": 1}
    assert report.upcoming[0][1] == datetime(2026, 3, 7, 12, 1, tzinfo=UTC)
    assert report.overall.pending == 1


def test_status_flags_dead_nodes(manager: JobManager, store: Store, clock: FakeClock) -> None:
    from dbcron.models import SchedulerNode

    for name, beat in (("alive", NOW - timedelta(seconds=5)), ("gone", NOW - timedelta(minutes=5))):
        store.register_node(
            SchedulerNode(
                node_id=name, host="h", pid=1, version="0", started_at=beat, last_heartbeat=beat
            )
        )
    store.register_node(
        SchedulerNode(
            node_id="done", host="h", pid=2, version="0", started_at=NOW, last_heartbeat=NOW
        )
    )
    store.stop_node("done", NOW)
    assert manager.status_report().node_states == {
        "alive": "running",
        "gone": "dead",
        "done": "stopped",
    }


def test_resume_records_the_fires_missed_while_paused(
    manager: JobManager, clock: FakeClock
) -> None:
    created = manager.create_job(job(schedule_expression="*/10 * * * *"))
    manager.pause_job(created.job_id)
    clock.advance(3600)  # paused 12:00:30 .. 13:00:30: fires 12:10 .. 13:00
    manager.resume_job(created.job_id)
    missed = manager.history(created.job_id, limit=100)
    assert sorted(e.scheduled_for.minute for e in missed) == [0, 10, 20, 30, 40, 50]
    assert {e.status for e in missed} == {ExecutionStatus.MISSED}
    assert all("paused" in (e.error_message or "") for e in missed)
    manager.pause_job(created.job_id)
    clock.advance(86400 * 2)
    manager.resume_job(created.job_id)
    assert len(manager.history(created.job_id, limit=1000)) == 6 + 100
