"""Rules that moved from the adapters into the service layer (issue #10): default time
zone, seed and maintenance jobs, foreground runs, engine settings, show's next fires."""

from __future__ import annotations

import pytest

from dbcron.clock import FakeClock
from dbcron.config import JobDefaults, SchedulerSettings, Settings
from dbcron.errors import ValidationError
from dbcron.events import Event
from dbcron.manager import JobManager
from dbcron.models import ExecutionStatus, Job
from dbcron.runtime import Runtime
from dbcron.service.operations import engine_settings
from dbcron.store import Store

NOOP = {"callable": "tests.support.handlers:noop"}


def test_new_job_takes_the_default_time_zone_unless_given(store: Store) -> None:
    jobs = JobManager(store, defaults=JobDefaults(timezone="Europe/Paris"))
    assert jobs.new_job("a", "python", "@hourly", NOOP).timezone == "Europe/Paris"
    assert jobs.new_job("b", "python", "@hourly", NOOP, timezone=None).timezone == "Europe/Paris"
    assert jobs.new_job("c", "python", "@hourly", NOOP, timezone="UTC").timezone == "UTC"
    # a Job built by the caller is stored as given
    assert jobs.create_job(Job("d", "python", "@hourly", NOOP)).timezone == "UTC"


def test_init_and_seed_create_one_maintenance_job(store: Store, db_url: str) -> None:
    runtime = Runtime(Settings.model_validate({"database": {"url": db_url}}), store=store)
    first = runtime.operations.init()
    assert first.maintenance_job is not None and first.applied == []
    assert runtime.operations.init().maintenance_job is None
    seeded = {r.name: r.job for r in runtime.operations.seed()}
    assert seeded["Nightly maintenance"] is None  # init made it
    assert seeded["Heartbeat"] is not None and seeded["Daily Fetch"] is not None
    assert all(r.job is None for r in runtime.operations.seed())
    assert len(store.list_jobs(job_type="maintenance")) == 1


def test_run_now_runs_and_refuses_a_deleted_job(store: Store, db_url: str) -> None:
    runtime = Runtime(Settings.model_validate({"database": {"url": db_url}}), store=store)
    seen: list[Event] = []
    job = runtime.jobs.new_job("j", "python", "0 0 1 1 *", NOOP)
    runtime.bus.subscribe(Event, seen.append)
    done = runtime.operations.run_now(job.job_id[:8], mode="thread")
    assert done.status is ExecutionStatus.SUCCESS
    assert [type(e).__name__ for e in seen] == ["ExecutionStarted", "ExecutionFinished"]
    with pytest.raises(ValidationError, match="executor must be process or thread"):
        runtime.operations.run_now(job.job_id, mode="fork")
    runtime.jobs.delete_job(job.job_id)
    seen.clear()
    with pytest.raises(ValidationError, match="is deleted; it cannot be run"):
        runtime.operations.run_now(job.job_id, mode="thread")
    assert seen == []
    assert len(store.list_executions(job_id=job.job_id)) == 1


def test_engine_settings_validate_the_overrides() -> None:
    base = SchedulerSettings()
    assert engine_settings(base) is base
    changed = engine_settings(base, workers=3, executor="thread")
    assert (changed.max_workers, changed.executor) == (3, "thread")
    with pytest.raises(ValidationError, match="workers must be at least 1"):
        engine_settings(base, workers=0)
    with pytest.raises(ValidationError, match="executor must be process or thread"):
        engine_settings(base, executor="fork")


def test_show_lists_the_fires_an_active_job_will_make(store: Store) -> None:
    clock = FakeClock(store.database_now())
    jobs = JobManager(store, clock=clock)
    job = jobs.new_job("j", "python", "*/5 * * * *", NOOP)
    detail = jobs.queries.job_detail(job.job_id[:8])
    assert detail.next_fires[0] == job.next_execution  # its stored next fire, included
    assert len(detail.next_fires) == 5 and detail.executions == []
    clock.advance(12 * 60)  # overdue: no scheduler claimed the fire yet
    overdue = jobs.queries.job_detail(job.job_id)
    assert overdue.next_fires[0] > clock.now()
    paused = jobs.queries.job_detail(jobs.pause_job(job.job_id).job_id)
    assert paused.next_fires == overdue.next_fires


def test_run_now_reports_progress_while_the_job_runs(store: Store, db_url: str) -> None:
    runtime = Runtime(Settings.model_validate({"database": {"url": db_url}}), store=store)
    job = runtime.jobs.new_job(
        "slow",
        "python",
        "0 0 1 1 *",
        {"callable": "tests.support.handlers:sleep", "kwargs": {"seconds": 1.5}},
    )
    seen: list[tuple[str, float]] = []
    done = runtime.operations.run_now(
        job.job_id,
        mode="thread",
        on_progress=lambda e, elapsed: seen.append((e.execution_id, elapsed)),
    )
    assert done.status is ExecutionStatus.SUCCESS
    assert seen[0] == (done.execution_id, 0.0)
    later = [elapsed for _, elapsed in seen[1:]]
    assert later and later == sorted(later) and later[-1] >= 1.0
    assert {execution_id for execution_id, _ in seen} == {done.execution_id}


def test_latest_failures_are_failed_and_timed_out_runs_newest_first(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from dbcron.models import Execution

    jobs = JobManager(store)
    job = jobs.new_job("j", "python", "0 0 1 1 *", NOOP)
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    statuses = [ExecutionStatus.FAILED, ExecutionStatus.SUCCESS, ExecutionStatus.TIMEOUT] * 3
    made = [
        store.insert_execution(
            Execution(
                job.job_id, t0 + timedelta(minutes=i), status, created_at=t0 + timedelta(minutes=i)
            )
        )
        for i, status in enumerate(statuses)
    ]
    bad = [e.execution_id for e in reversed(made) if e.status is not ExecutionStatus.SUCCESS]
    assert [e.execution_id for e in jobs.queries.latest_failures(4)] == bad[:4]
    assert [e.execution_id for e in jobs.queries.latest_failures(10)] == bad
