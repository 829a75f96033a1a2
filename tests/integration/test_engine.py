"""The scheduler engine in-process, on real SQLite files and PostgreSQL databases."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbcron.config import SchedulerSettings
from dbcron.engine.scheduler import Scheduler
from dbcron.execution import SHUTDOWN_MESSAGE
from dbcron.manager import JobManager
from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    MisfirePolicy,
    OverlapPolicy,
    Trigger,
)
from dbcron.store import Store, open_store
from tests.support import exactly_once as once
from tests.support.engine import history, py_job, run_by_a_dead_node
from tests.support.engine import scheduler_running as running
from tests.support.waiting import wait_for


def finished(store: Store, job_id: str, n: int) -> list[Execution]:
    rows = [e for e in history(store, job_id) if e.status.is_final]
    return rows if len(rows) >= n else []


def asleep(scheduler: Scheduler, at_least: float = 10.0) -> bool:
    """The scheduler has taken a turn and planned the next one ``at_least`` seconds
    ahead (it sleeps, or is about to)."""
    return scheduler._next_turn - time.monotonic() >= at_least


def rejected(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The scheduler's "completion ... rejected" warnings captured so far."""
    return once.rejected_completions(r.getMessage() for r in caplog.records)


@pytest.fixture
def manager(store: Store) -> JobManager:
    return JobManager(store)


def test_schedule_fires_run_once_on_time(store: Store, db_url: str, manager: JobManager) -> None:
    job = py_job(manager, "echo", "@every 1s", kwargs={"n": 1})
    with running(store, db_url):
        rows = wait_for(lambda: finished(store, job.job_id, 3), 15, what="three runs")
    keys = [(e.scheduled_for, e.retry_attempt) for e in history(store, job.job_id)]
    assert len(keys) == len(set(keys))
    for e in rows[:3]:
        assert e.status is ExecutionStatus.SUCCESS, e.error_message
        assert e.trigger is Trigger.SCHEDULE
        assert e.scheduled_for.microsecond == 0
        assert e.started_at is not None
        assert (e.started_at - e.scheduled_for) < timedelta(seconds=1)
        assert e.result == {"n": 1}
        assert e.logs is not None and "echo handler ran" in e.logs
        assert e.node_id is not None
    stored = manager.get_job(job.job_id)
    assert stored.last_execution is not None
    assert stored.next_execution is not None and stored.next_execution > rows[2].scheduled_for


def test_manual_trigger_starts_within_a_second(
    store: Store, db_url: str, manager: JobManager
) -> None:
    job = py_job(manager, "noop")
    with running(store, db_url, check_interval_seconds=60) as scheduler:
        other = open_store(db_url)  # another connection, as the CLI would be
        try:
            wait_for(lambda: asleep(scheduler), 10, what="the scheduler's long sleep")
            execution = JobManager(other).trigger_job(job.job_id)
        finally:
            other.close()
        done = wait_for(lambda: finished(store, job.job_id, 1), 5)[0]
    assert done.execution_id == execution.execution_id
    assert done.status is ExecutionStatus.SUCCESS
    assert done.started_at is not None and execution.created_at is not None
    assert done.started_at - execution.created_at < timedelta(seconds=1)


def test_failures_keep_the_traceback_and_retry(
    store: Store, db_url: str, manager: JobManager
) -> None:
    job = py_job(manager, "fail", retry_count=2, retry_delay_seconds=0)
    manager.trigger_job(job.job_id)
    with running(store, db_url):
        rows = wait_for(lambda: finished(store, job.job_id, 3), 15)
    assert [(e.retry_attempt, e.trigger, e.status) for e in rows] == [
        (0, Trigger.MANUAL, ExecutionStatus.FAILED),
        (1, Trigger.RETRY, ExecutionStatus.FAILED),
        (2, Trigger.RETRY, ExecutionStatus.FAILED),
    ]
    assert rows[0].error_message is not None
    assert rows[0].error_message.startswith("RuntimeError: boom")
    assert "Traceback" in rows[0].error_message
    assert len({e.scheduled_for for e in rows}) == 1


def test_handler_can_ask_for_a_retry_after_a_delay(
    store: Store, db_url: str, manager: JobManager
) -> None:
    job = py_job(
        manager, "retry_soon", retry_count=1, retry_delay_seconds=3600, kwargs={"delay": 0.2}
    )
    manager.trigger_job(job.job_id)
    with running(store, db_url):
        rows = wait_for(lambda: finished(store, job.job_id, 2), 10)
    retry = rows[1]
    assert retry.trigger is Trigger.RETRY
    assert retry.run_after is not None and rows[0].finished_at is not None
    assert retry.run_after - rows[0].finished_at < timedelta(seconds=1)


def test_process_mode_timeout_kills_and_replaces_the_worker(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    job = py_job(
        manager,
        "sleep",
        timeout_seconds=2,
        retry_count=1,
        retry_delay_seconds=0,
        kwargs={"marker": str(marker)},
    )
    quick = py_job(manager, "noop")
    manager.trigger_job(job.job_id)
    with running(store, db_url, executor="process", max_workers=1) as scheduler:
        before = set(scheduler.executor.pids())  # type: ignore[union-attr]
        wait_for(marker.exists, 30, what="the handler to start")
        victim = int(marker.read_text())
        rows = wait_for(lambda: finished(store, job.job_id, 2), 20)
        assert [e.status for e in rows] == [ExecutionStatus.TIMEOUT, ExecutionStatus.TIMEOUT]
        for e in rows:
            assert e.duration_seconds is not None and e.duration_seconds < 3
            assert "killed" in (e.error_message or "")
        with pytest.raises(ProcessLookupError):
            os.kill(victim, 0)
        assert set(scheduler.executor.pids()).isdisjoint(before)  # type: ignore[union-attr]
        manager.trigger_job(quick.job_id)
        assert (
            wait_for(lambda: finished(store, quick.job_id, 1), 20)[0].status
            is ExecutionStatus.SUCCESS
        )


def test_thread_mode_records_the_timeout(store: Store, db_url: str, manager: JobManager) -> None:
    job = py_job(manager, "sleep", timeout_seconds=1, kwargs={"seconds": 3})
    manager.trigger_job(job.job_id)
    with running(store, db_url, shutdown_grace_seconds=0):
        row = wait_for(lambda: finished(store, job.job_id, 1), 5)[0]
    assert row.status is ExecutionStatus.TIMEOUT
    assert "thread mode" in (row.error_message or "")


def test_process_mode_captures_stdout_and_logging(
    store: Store, db_url: str, manager: JobManager
) -> None:
    job = py_job(manager, "echo", kwargs={"x": 1})
    manager.trigger_job(job.job_id)
    with running(store, db_url, executor="process", max_workers=1):
        row = wait_for(lambda: finished(store, job.job_id, 1), 30)[0]
    assert row.status is ExecutionStatus.SUCCESS
    assert "printed by echo" in (row.logs or "")
    assert "echo handler ran" in (row.logs or "")


def test_overlap_skip_records_missed_fires(store: Store, db_url: str, manager: JobManager) -> None:
    job = py_job(
        manager, "sleep", "@every 1s", kwargs={"seconds": 2.5}, overlap_policy=OverlapPolicy.SKIP
    )
    with running(store, db_url, shutdown_grace_seconds=5):
        wait_for(
            lambda: [e for e in history(store, job.job_id) if e.status is ExecutionStatus.MISSED],
            10,
        )
    missed = [e for e in history(store, job.job_id) if e.status is ExecutionStatus.MISSED]
    assert "overlap" in (missed[0].error_message or "")


def test_overlap_queue_never_runs_two_at_once(
    store: Store, db_url: str, manager: JobManager
) -> None:
    job = py_job(
        manager, "sleep", "@every 1s", kwargs={"seconds": 0.7}, overlap_policy=OverlapPolicy.QUEUE
    )
    with running(store, db_url, max_workers=4):
        wait_for(lambda: finished(store, job.job_id, 4), 15)
    runs = [e for e in history(store, job.job_id) if e.started_at and e.finished_at]
    spans = sorted((e.started_at, e.finished_at) for e in runs)  # type: ignore[type-var]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - timedelta(milliseconds=5)
    assert not [e for e in history(store, job.job_id) if e.status is ExecutionStatus.MISSED]


class ShiftedClock:
    """The system clock moved by a fixed offset."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


def _early_in_a_minute() -> ShiftedClock:
    """A clock that reads 5 s past the start of a minute now: a test of minute-long
    schedules has 55 s before the next fire, wherever in the minute it runs."""
    real = datetime.now(UTC)
    return ShiftedClock(real.replace(second=5, microsecond=0) - real)


def _make_late(manager: JobManager, job: Job, minutes: int, now: datetime) -> datetime:
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    manager.store.update_job(job.with_changes(next_execution=first), job.version)
    return first


@pytest.mark.parametrize(
    ("policy", "runs", "missed"),
    [(MisfirePolicy.RUN_ONCE, 1, 5), (MisfirePolicy.RUN_ALL, 6, 0), (MisfirePolicy.SKIP, 1, 5)],
)
def test_misfire_policy_after_downtime(
    store: Store,
    db_url: str,
    manager: JobManager,
    policy: MisfirePolicy,
    runs: int,
    missed: int,
) -> None:
    job = py_job(
        manager, "noop", "* * * * *", misfire_policy=policy, overlap_policy=OverlapPolicy.QUEUE
    )
    clock = _early_in_a_minute()
    _make_late(manager, job, 5, clock.now())  # the scheduler was down for five minutes
    with running(store, db_url, clock=clock):
        wait_for(lambda: finished(store, job.job_id, runs + missed), 15)
    rows = history(store, job.job_id)
    done = [e for e in rows if e.status is ExecutionStatus.SUCCESS]
    gone = [e for e in rows if e.status is ExecutionStatus.MISSED]
    assert (len(done), len(gone)) == (runs, missed)
    assert len(rows) == 6
    assert all(e.error_message for e in gone)


def test_run_on_startup(store: Store, db_url: str, manager: JobManager) -> None:
    job = py_job(manager, "noop")
    with running(store, db_url, run_on_startup=True):
        row = wait_for(lambda: finished(store, job.job_id, 1), 10)[0]
    assert row.status is ExecutionStatus.SUCCESS
    assert row.trigger is Trigger.MANUAL


def test_dead_nodes_executions_are_rescued_and_retried(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = tmp_path / "ledger"
    job = py_job(
        manager, "ledger", retry_count=1, retry_delay_seconds=0, kwargs={"path": str(ledger)}
    )
    long_ago = datetime.now(UTC) - timedelta(minutes=1)
    run_by_a_dead_node(store, job, long_ago, lease=timedelta(seconds=5))
    with running(store, db_url, lease_seconds=2):
        rows = wait_for(lambda: finished(store, job.job_id, 2), 10)
    assert rows[0].status is ExecutionStatus.FAILED
    assert (rows[0].error_message or "").startswith("node lost: scheduler dead-node")
    assert rows[1].status is ExecutionStatus.SUCCESS
    assert rows[1].trigger is Trigger.RETRY
    assert not store.list_executions(status=ExecutionStatus.RUNNING)
    # the retry's handler started once; the dead node's run never started here
    assert [(s.execution_id, s.attempt) for s in once.starts(ledger)] == [(rows[1].execution_id, 1)]
    assert rejected(caplog) == []


def test_a_lease_that_expires_while_the_scheduler_sleeps_is_rescued_and_retried_promptly(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The dead node's lease runs out after the scheduler has gone to sleep (nothing due
    for a minute): the rescue sweep must also wake the loop, so the retry runs within
    the sweep period, not at the next planned turn."""
    ledger = tmp_path / "ledger"
    job = py_job(
        manager, "ledger", retry_count=1, retry_delay_seconds=0, kwargs={"path": str(ledger)}
    )
    with running(store, db_url, lease_seconds=3, check_interval_seconds=60) as scheduler:
        wait_for(lambda: asleep(scheduler), 10, what="the scheduler's long sleep")
        run_by_a_dead_node(store, job, datetime.now(UTC), lease=timedelta(seconds=1.5))
        rows = wait_for(lambda: finished(store, job.job_id, 2), 6, what="rescue and retry")
    assert rows[0].status is ExecutionStatus.FAILED
    assert rows[1].status is ExecutionStatus.SUCCESS and rows[1].trigger is Trigger.RETRY
    assert [(s.execution_id, s.attempt) for s in once.starts(ledger)] == [(rows[1].execution_id, 1)]
    assert rejected(caplog) == []


def test_graceful_shutdown(store: Store, db_url: str, manager: JobManager, tmp_path: Path) -> None:
    marker = tmp_path / "short-started"
    short = py_job(manager, "sleep", kwargs={"seconds": 0.5, "marker": str(marker)})
    stuck = py_job(manager, "sleep", retry_count=1, retry_delay_seconds=0)
    with running(store, db_url, executor="process", max_workers=2, shutdown_grace_seconds=3) as s:
        manager.trigger_job(short.job_id)
        manager.trigger_job(stuck.job_id)
        # worker processes start slowly on a busy 2-core machine
        wait_for(lambda: len(store.list_executions(status=ExecutionStatus.RUNNING)) == 2, 90)
        wait_for(marker.exists, 90)
    assert history(store, short.job_id)[0].status is ExecutionStatus.SUCCESS
    stopped = history(store, stuck.job_id)
    assert stopped[0].status is ExecutionStatus.FAILED
    assert stopped[0].error_message == SHUTDOWN_MESSAGE
    assert stopped[1].status is ExecutionStatus.PENDING
    assert stopped[1].trigger is Trigger.RETRY
    nodes = {n.node_id: n for n in store.list_nodes()}
    assert nodes[s.node_id].stopped_at is not None


def test_stale_completion_is_rejected_by_the_fencing_token(
    store: Store, manager: JobManager
) -> None:
    from dbcron.models import Outcome

    job = py_job(manager, "noop")
    manager.trigger_job(job.job_id)
    # a second ahead of the clock the trigger was written on (on PostgreSQL the database's,
    # measured against this host's: "now" on the host can be a hair behind it)
    now = manager.clock.now() + timedelta(seconds=1)
    [(execution, _)] = store.acquire(now, "node-a", now - timedelta(seconds=1), 10)
    rescued = store.rescue_expired(now, lambda e, j: None)
    assert [e.execution_id for e in rescued] == [execution.execution_id]
    late = Outcome(
        execution_id=execution.execution_id,
        job_id=job.job_id,
        fencing_token=execution.fencing_token,
        status=ExecutionStatus.SUCCESS,
        finished_at=now,
        duration_seconds=0.1,
    )
    assert store.complete([late]) == set()
    row = store.get_execution(execution.execution_id)
    assert row is not None and row.status is ExecutionStatus.FAILED


def test_two_schedulers_share_one_database(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = tmp_path / "ledger"
    # a retry could only come from a rescue here: it would show as a second handler start
    jobs = [
        py_job(manager, "ledger", "@every 1s", retry_count=1, kwargs={"path": str(ledger)})
        for _ in range(10)
    ]
    second = open_store(db_url)
    try:
        with running(store, db_url), running(second, db_url):
            start = datetime.now(UTC)
            # both schedulers up: each job fires at least twice more (3 s of fires)
            wait_for(
                lambda: all(
                    sum(e.status is ExecutionStatus.SUCCESS and e.scheduled_for > start for e in h)
                    >= 3
                    for h in (history(store, job.job_id) for job in jobs)
                ),
                15,
                what="three fires of each job",
            )
        end = datetime.now(UTC)
    finally:
        second.close()
    rows = []
    for job in jobs:
        rows += history(store, job.job_id)
        fires = [e.scheduled_for for e in history(store, job.job_id)]
        assert len(fires) == len(set(fires))
        inside = [
            t for t in fires if start + timedelta(seconds=1) <= t <= end - timedelta(seconds=1)
        ]
        assert len(inside) >= 1
        # no fire lost between the first and the last one recorded
        assert fires == [fires[0] + timedelta(seconds=i) for i in range(len(fires))]
    assert all(e.status is ExecutionStatus.SUCCESS for e in rows if e.status.is_final)
    # every handler start ran a fire once and was recorded as its success
    starts = once.starts(ledger)
    assert once.repeated_starts(starts) == []
    assert sorted(s.execution_id for s in starts) == sorted(
        e.execution_id for e in rows if e.status is ExecutionStatus.SUCCESS
    )
    assert rejected(caplog) == []


def test_fires_waiting_for_a_slot_are_queued_on_time_and_run_in_order(
    store: Store, db_url: str, manager: JobManager
) -> None:
    """With every slot busy, a due fire waits in the jobs table, is recorded as a pending
    execution (trigger schedule, not missed) after QUEUE_AFTER_SECONDS, and runs once a
    slot frees up."""
    sleeper = py_job(
        manager,
        "sleep",
        kwargs={"seconds": 5},  # well past the queueing (due + 2 s + a turn)
        max_concurrency=2,
        overlap_policy=OverlapPolicy.ALLOW,
    )
    waiting = py_job(manager, "noop")
    with running(store, db_url, max_workers=1) as scheduler:  # 2 slots: 1 + 1 prefetched
        manager.trigger_job(sleeper.job_id)
        manager.trigger_job(sleeper.job_id)
        wait_for(lambda: scheduler.executor.free_slots() == 0, 5, what="both slots busy")
        due = datetime.now(UTC)
        store.update_job(waiting.with_changes(next_execution=due), waiting.version)
        queued = wait_for(
            lambda: [
                e for e in history(store, waiting.job_id) if e.status is ExecutionStatus.PENDING
            ],
            6,
            what="the waiting fire recorded as pending",
        )[0]
        assert queued.trigger is Trigger.SCHEDULE
        assert queued.created_at is not None
        assert timedelta(seconds=1.5) <= queued.created_at - due <= timedelta(seconds=4)
        assert (manager.get_job(waiting.job_id).next_execution or due) > due
        done = wait_for(lambda: finished(store, waiting.job_id, 1), 15, what="the queued run")[0]
    assert done.execution_id == queued.execution_id
    assert done.status is ExecutionStatus.SUCCESS
    assert [e.status for e in history(store, waiting.job_id)] == [ExecutionStatus.SUCCESS]


# -- the store's engine calls, directly (every backend) ---------------------------------


def _one_fire(job: Job, active: int) -> tuple[list[Execution], datetime | None]:
    """A planner: the job's due fire runs; the next one is a day later."""
    assert job.next_execution is not None
    fire = Execution(
        job_id=job.job_id,
        scheduled_for=job.next_execution,
        run_after=job.next_execution,
        created_at=datetime.now(UTC),
    )
    return [fire], job.next_execution + timedelta(days=1)


def _due(store: Store, manager: JobManager, n: int, at: datetime) -> list[Job]:
    jobs = [py_job(manager, "noop") for _ in range(n)]
    for job in jobs:
        store.update_job(job.with_changes(next_execution=at), job.version)
    return jobs


def test_claim_starts_what_fits_and_records_the_rest_pending(
    store: Store, manager: JobManager
) -> None:
    now = datetime.now(UTC)
    jobs = _due(store, manager, 5, now - timedelta(seconds=1))
    lease = now + timedelta(seconds=30)
    summary = store.claim_due(now, _one_fire, 10, node_id="n1", lease_until=lease, start_limit=3)
    assert (summary.jobs, summary.pending, summary.missed) == (5, 5, 0)
    assert len(summary.started) == 3
    for execution, job in summary.started:
        assert execution.status is ExecutionStatus.RUNNING
        assert execution.node_id == "n1" and execution.fencing_token == 1
        stored = store.get_execution(execution.execution_id)
        assert stored is not None and stored.status is ExecutionStatus.RUNNING
        assert stored.started_at == now and stored.lease_expires_at == lease
        assert job.job_id == execution.job_id
    statuses = sorted(
        e.status.value for job in jobs for e in store.list_executions(job_id=job.job_id)
    )
    assert statuses == ["pending", "pending", "running", "running", "running"]
    for job in jobs:
        assert (manager.get_job(job.job_id).next_execution or now) > now
    assert store.claim_due(now, _one_fire, 10).jobs == 0


def test_claim_never_starts_a_fire_recorded_before(store: Store, manager: JobManager) -> None:
    now = datetime.now(UTC)
    due = now - timedelta(seconds=1)
    [job] = _due(store, manager, 1, due)
    store.insert_execution(Execution(job_id=job.job_id, scheduled_for=due, created_at=now))
    summary = store.claim_due(
        now, _one_fire, 10, node_id="n1", lease_until=now + timedelta(seconds=30), start_limit=5
    )
    assert summary.jobs == 1 and summary.started == ()
    assert [e.status for e in store.list_executions(job_id=job.job_id)] == [ExecutionStatus.PENDING]


def test_claim_with_due_before_takes_only_the_overdue(store: Store, manager: JobManager) -> None:
    now = datetime.now(UTC)
    old = _due(store, manager, 2, now - timedelta(seconds=10))
    _due(store, manager, 2, now - timedelta(seconds=1))
    summary = store.claim_due(now, _one_fire, 10, due_before=now - timedelta(seconds=5))
    assert (summary.jobs, summary.pending, summary.started) == (2, 2, ())
    claimed = {e.job_id for e in store.list_executions(limit=100)}
    assert claimed == {j.job_id for j in old}


def test_claim_records_outcomes_first_in_the_same_transaction(
    store: Store, manager: JobManager
) -> None:
    from dbcron.models import Outcome

    now = datetime.now(UTC)
    lease = now + timedelta(seconds=30)
    first = _due(store, manager, 2, now - timedelta(seconds=2))
    started = store.claim_due(now, _one_fire, 10, node_id="n1", lease_until=lease, start_limit=2)
    (a, _), (b, _) = started.started
    retry = Execution(
        job_id=b.job_id,
        scheduled_for=b.scheduled_for,
        retry_attempt=1,
        trigger=Trigger.RETRY,
        run_after=now,
        created_at=now,
    )
    outcomes = [
        Outcome(a.execution_id, a.job_id, a.fencing_token, ExecutionStatus.SUCCESS, now, 0.5),
        Outcome(
            b.execution_id,
            b.job_id,
            b.fencing_token,
            ExecutionStatus.FAILED,
            now,
            0.5,
            error_message="boom",
            retry=retry,
        ),
        # a stale token: rejected, and its retry is not inserted
        Outcome(
            a.execution_id,
            a.job_id,
            a.fencing_token + 7,
            ExecutionStatus.FAILED,
            now,
            0.1,
            retry=retry.with_changes(retry_attempt=2),
        ),
    ]
    _due(store, manager, 1, now - timedelta(seconds=1))
    summary = store.claim_due(
        now, _one_fire, 10, node_id="n1", lease_until=lease, start_limit=5, outcomes=outcomes
    )
    assert summary.completed == {a.execution_id, b.execution_id}
    assert len(summary.started) == 1
    done_a = store.get_execution(a.execution_id)
    done_b = store.get_execution(b.execution_id)
    assert done_a is not None and done_a.status is ExecutionStatus.SUCCESS
    assert done_b is not None and done_b.status is ExecutionStatus.FAILED
    assert done_b.error_message == "boom"
    attempts = sorted(e.retry_attempt for e in store.list_executions(job_id=b.job_id))
    assert attempts == [0, 1]
    assert len(first) == 2


@pytest.mark.parametrize("path", ["flush", "claim"])
def test_a_completion_the_database_refuses_is_recorded_failed_and_the_rest_stored(
    store: Store, db_url: str, manager: JobManager, path: str
) -> None:
    """One outcome the database refuses (here a negative duration, against a CHECK
    constraint) must not stall the others: the batch is written one by one, the refused
    one as a failure without its result."""
    from dbcron.models import Outcome

    jobs = [py_job(manager, "noop") for _ in range(3)]
    for job in jobs:
        manager.trigger_job(job.job_id)
    scheduler = Scheduler(
        store, SchedulerSettings(max_workers=2), executor="thread", database_url=db_url
    )
    now = manager.clock.now()  # the clock the triggers were written on
    started = store.acquire(now, scheduler.node_id, now + timedelta(seconds=30), 10)
    assert len(started) == 3
    (bad, _), *good = started
    outcomes = [
        Outcome(
            bad.execution_id,
            bad.job_id,
            bad.fencing_token,
            ExecutionStatus.SUCCESS,
            now,
            -1.0,
            result={"x": 1},
        )
    ] + [
        Outcome(e.execution_id, e.job_id, e.fencing_token, ExecutionStatus.SUCCESS, now, 0.1)
        for e, _ in good
    ]
    scheduler._done.extend(outcomes)
    if path == "flush":
        scheduler._flush()
    else:
        assert scheduler._claim_and_start(now) is False
    refused = store.get_execution(bad.execution_id)
    assert refused is not None and refused.status is ExecutionStatus.FAILED
    assert refused.error_message is not None
    assert refused.error_message.startswith("the outcome (success) could not be stored")
    assert refused.result is None
    for e, _ in good:
        stored = store.get_execution(e.execution_id)
        assert stored is not None and stored.status is ExecutionStatus.SUCCESS
    assert scheduler.stats["completed"] == 3 and scheduler._done == []


def test_extend_leases_only_of_the_executions_named(store: Store, manager: JobManager) -> None:
    """A node renews the leases of what it still runs; a running row it lost track of
    keeps its old lease, so that it expires and is rescued."""
    jobs = [py_job(manager, "noop") for _ in range(3)]
    for job in jobs:
        manager.trigger_job(job.job_id)
    now = manager.clock.now()  # the clock the triggers were written on
    lease = now + timedelta(seconds=5)
    started = [e for e, _ in store.acquire(now, "node-a", lease, 10)]
    assert len(started) == 3
    later = now + timedelta(seconds=60)
    kept = [started[0].execution_id, started[1].execution_id, "no-such-execution"]
    assert store.extend_leases("node-b", later, kept) == 0  # another node's rows: untouched
    assert store.extend_leases("node-a", later, kept) == 2
    leases = {e.execution_id: e.lease_expires_at for e in store.list_executions(limit=10)}
    assert leases[started[0].execution_id] == later
    assert leases[started[1].execution_id] == later
    assert leases[started[2].execution_id] == lease
    assert store.extend_leases("node-a", later + timedelta(seconds=1)) == 3  # all of them
