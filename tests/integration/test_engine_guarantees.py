"""The engine's guarantees under deploys, queues, locks and clock skew (issue 9).

Each test here reproduced a defect on the engine before its fix. Exactly-once is counted
by real handler starts (the ``ledger`` handler), with retries enabled, never only by rows
that the UNIQUE fire key already protects.
"""

from __future__ import annotations

import logging
import resource
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbcron.clock import SystemClock
from dbcron.errors import ValidationError
from dbcron.manager import JobManager
from dbcron.models import Execution, ExecutionStatus, Job, JobStatus, OverlapPolicy, Trigger
from dbcron.store import Store, open_store
from tests.support.engine import history as rows_of
from tests.support.engine import make_scheduler, py_job, run_by_a_dead_node, running
from tests.support.handlers import read_ledger
from tests.support.waiting import wait_for


def ledger_job(manager: JobManager, path: Path, schedule: str = "0 0 1 1 *", **fields: Any) -> Job:
    """A job running the ledger handler on ``path``; two retries without delay unless
    ``fields`` say otherwise."""
    kwargs = {"path": str(path), **fields.pop("kwargs", {})}
    values: dict[str, Any] = {"retry_count": 2, "retry_delay_seconds": 0, "timeout_seconds": 60}
    values.update(fields)
    values.setdefault("name", "ledger")
    return py_job(manager, "ledger", schedule, kwargs=kwargs, **values)


def all_final(store: Store, job_id: str) -> list[Execution]:
    rows = rows_of(store, job_id)
    return rows if rows and all(e.status.is_final for e in rows) else []


@pytest.fixture
def manager(store: Store) -> JobManager:
    return JobManager(store)


# -- 1. a graceful stop runs nothing twice ------------------------------------------------


def test_a_graceful_stop_keeps_its_leases_and_runs_nothing_twice(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Node A runs a 4 s handler under a 1.5 s lease and is asked to stop with 10 s of
    grace while node B runs: A must keep renewing the lease until the outcome is
    recorded, so B never rescues the run and the handler starts once."""
    caplog.set_level(logging.WARNING, logger="dbcron.scheduler")
    ledger = tmp_path / "ledger"
    job = ledger_job(manager, ledger, kwargs={"seconds": 4})
    node_a = make_scheduler(store, db_url, lease_seconds=1.5, shutdown_grace_seconds=10)
    thread_a = node_a.start_in_thread()
    assert node_a.ready.wait(30)
    manager.trigger_job(job.job_id)
    wait_for(lambda: read_ledger(ledger), 10, what="node A starts the run")
    other = open_store(db_url)
    try:
        with running(make_scheduler(other, db_url, lease_seconds=1.5)):
            node_a.stop()
            thread_a.join(30)
            assert not thread_a.is_alive()
            rows = wait_for(lambda: all_final(store, job.job_id), 10, what="final rows")
    finally:
        other.close()
    assert len(read_ledger(ledger)) == 1, read_ledger(ledger)
    assert [(e.status, e.retry_attempt) for e in rows] == [(ExecutionStatus.SUCCESS, 0)]
    assert not [r for r in caplog.records if "rejected" in r.getMessage()]
    assert not [r for r in caplog.records if "rescued" in r.getMessage()]
    node = {n.node_id: n for n in store.list_nodes()}[node_a.node_id]
    assert node.stopped_at is not None


# -- 2. queued work never spins -----------------------------------------------------------


def test_work_queued_behind_a_busy_job_does_not_spin_the_loop(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path
) -> None:
    """A ``queue`` job at max_concurrency with two runs waiting: the loop must sleep
    until the running one ends, not turn thousands of times a second."""
    ledger = tmp_path / "ledger"
    job = ledger_job(
        manager,
        ledger,
        kwargs={"seconds": 2.5},
        max_concurrency=1,
        overlap_policy=OverlapPolicy.QUEUE,
        retry_count=0,
    )
    with running(make_scheduler(store, db_url, check_interval_seconds=30)):
        for _ in range(3):
            manager.trigger_job(job.job_id)
        wait_for(lambda: read_ledger(ledger), 10, what="the first run")
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall = datetime.now(UTC)
        threading.Event().wait(1.5)  # a measurement window, not synchronisation
        after = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = (datetime.now(UTC) - wall).total_seconds()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert len(read_ledger(ledger)) == 1  # the others still wait for the slot
        assert cpu < 0.25 * elapsed, f"{cpu:.2f} CPU-s in {elapsed:.2f} s: the loop spins"
        # The first run's completion (not the 30 s check interval) starts the next one.
        wait_for(lambda: len(read_ledger(ledger)) == 2, 10, what="the second run")
    rows = rows_of(store, job.job_id)
    assert [e.status for e in rows].count(ExecutionStatus.SUCCESS) == 2
    assert len(read_ledger(ledger)) == 2


# -- 3. queued work never starves ---------------------------------------------------------


def test_a_long_queue_of_a_busy_job_does_not_starve_other_jobs(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path
) -> None:
    """Job A runs one execution and has 40 more queued (more than any read-ahead of the
    queue); job B's manual trigger must still start at once."""
    ledger_a, ledger_b = tmp_path / "a", tmp_path / "b"
    busy = ledger_job(
        manager,
        ledger_a,
        name="busy",
        kwargs={"seconds": 3},
        max_concurrency=1,
        overlap_policy=OverlapPolicy.QUEUE,
        retry_count=0,
    )
    other = ledger_job(manager, ledger_b, name="other", retry_count=0)
    with running(make_scheduler(store, db_url, max_workers=4, shutdown_grace_seconds=0.5)):
        manager.trigger_job(busy.job_id)
        wait_for(lambda: read_ledger(ledger_a), 10, what="job A runs")
        now = datetime.now(UTC)
        store.insert_executions(
            [
                Execution(
                    job_id=busy.job_id,
                    scheduled_for=now - timedelta(seconds=100 - n),
                    run_after=now - timedelta(seconds=100 - n),
                    created_at=now,
                    trigger=Trigger.CATCHUP,
                )
                for n in range(40)
            ]
        )
        manager.trigger_job(other.job_id)
        wait_for(lambda: read_ledger(ledger_b), 5, what="job B's trigger starts")
        assert len(read_ledger(ledger_a)) == 1


# -- 4. a locked job row is "not now", never "deleted" ------------------------------------


def test_rescue_reads_a_job_row_locked_by_another_node(db_url: str, store: Store) -> None:
    """On PostgreSQL another node's claim may hold the job row locked while this node
    rescues one of the job's runs: the rescue must still see the job (and so insert the
    retry), not take the locked row for a deleted job."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no row locks: a write transaction excludes every other")
    manager = JobManager(store)
    job = manager.create_job(
        Job(name="j", job_type="shell", schedule_expression="0 0 1 1 *", config={"command": "true"})
    )
    run_by_a_dead_node(store, job, datetime.now(UTC) - timedelta(minutes=5), timedelta(seconds=5))
    seen: list[Job | None] = []

    def retry_for(execution: Execution, found: Job | None) -> Execution | None:
        seen.append(found)
        return None

    with psycopg.connect(db_url.split("?")[0]) as locker:
        locker.execute("SELECT 1 FROM jobs WHERE job_id = %s FOR UPDATE", (job.job_id,))
        rescued = store.rescue_expired(datetime.now(UTC), retry_for)
        locker.rollback()
    assert [e.node_id for e in rescued] == ["dead-node"]
    assert seen and seen[0] is not None and seen[0].job_id == job.job_id


# -- 7. one clock for every due time -------------------------------------------------------


class SkewedClock(SystemClock):
    """This host's clock, ``skew`` ahead of the true time."""

    def __init__(self, skew: timedelta) -> None:
        self.skew = skew

    def now(self) -> datetime:
        return super().now() + self.skew


def test_a_manual_trigger_on_a_fast_host_runs_at_once(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    """The CLI's host runs two minutes fast; the scheduler compares due times with the
    database's clock. The trigger must still start within a second or two."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite is one host's file: its clock is the host clock")
    fast = SkewedClock(timedelta(minutes=2))
    manager = JobManager(store, local_clock=fast)
    ledger = tmp_path / "ledger"
    job = ledger_job(manager, ledger, retry_count=0)
    with running(make_scheduler(store, db_url, check_interval_seconds=60)):
        manager.trigger_job(job.job_id)
        wait_for(lambda: read_ledger(ledger), 5, what="the trigger runs")
    stored = manager.get_job(job.job_id)
    assert stored.next_execution is not None


def test_create_on_a_slow_host_does_not_plan_a_past_fire(store: Store, db_url: str) -> None:
    """A host five minutes slow must not give a new job a next fire in the past (on
    PostgreSQL every due time is on the database's clock; SQLite has one host)."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite is one host's file: its clock is the host clock")
    slow = SkewedClock(timedelta(minutes=-5))
    manager = JobManager(store, local_clock=slow)
    job = manager.create_job(
        Job(name="j", job_type="shell", schedule_expression="* * * * *", config={"command": "true"})
    )
    assert job.next_execution is not None
    assert job.next_execution > store.database_now()


# -- 8. editing an overdue job records what it drops ---------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"schedule_expression": "0 0 1 1 *"}, "schedule changed"),
        ({"timezone": "Europe/Paris"}, "time zone changed"),
        ({"status": "paused"}, "paused"),
        ({"status": "deleted"}, "deleted"),
    ],
)
def test_editing_an_overdue_job_records_its_missed_fires(
    store: Store, manager: JobManager, change: dict[str, Any], reason: str
) -> None:
    job = manager.create_job(
        Job(
            name="j",
            job_type="shell",
            schedule_expression="*/5 * * * *",
            config={"command": "true"},
        )
    )
    overdue = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=15)
    overdue = overdue.replace(minute=overdue.minute - overdue.minute % 5)
    current = manager.get_job(job.job_id)
    store.update_job(current.with_changes(next_execution=overdue), current.version)
    manager.update_fields(job.job_id, **change)
    missed = rows_of(store, job.job_id)
    assert missed, "the overdue fires were dropped silently"
    assert missed[0].scheduled_for == overdue
    assert all(e.status is ExecutionStatus.MISSED for e in missed)
    assert all(reason in (e.error_message or "") for e in missed), missed[0].error_message
    assert len(missed) in (3, 4)  # every five minutes from 15 min ago up to now


# -- 10. a deleted job stays deleted ----------------------------------------------------------


@pytest.mark.parametrize("action", ["pause", "resume", "update", "trigger"])
def test_a_deleted_job_cannot_be_revived(store: Store, manager: JobManager, action: str) -> None:
    job = manager.create_job(
        Job(name="j", job_type="shell", schedule_expression="* * * * *", config={"command": "true"})
    )
    deleted = manager.delete_job(job.job_id)
    deleted = manager.get_job(job.job_id)
    assert deleted.status is JobStatus.DELETED
    calls = {
        "pause": lambda: manager.pause_job(job.job_id),
        "resume": lambda: manager.resume_job(job.job_id),
        "update": lambda: manager.update_fields(job.job_id, description="back"),
        "trigger": lambda: manager.trigger_job(job.job_id),
    }
    with pytest.raises(ValidationError, match="is deleted"):
        calls[action]()
    assert manager.get_job(job.job_id) == deleted
    assert not store.list_executions(job_id=job.job_id)


# -- run_on_startup: once per cluster start -------------------------------------------------


def test_run_on_startup_runs_once_when_three_nodes_start_together(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    job = ledger_job(manager, ledger, retry_count=1)
    stores = [open_store(db_url) for _ in range(3)]
    nodes = [make_scheduler(s, db_url, run_on_startup=True) for s in stores]
    threads: list[threading.Thread] = []
    try:
        threads = [node.start_in_thread() for node in nodes]
        assert all(node.ready.wait(30) for node in nodes)
        wait_for(lambda: all_final(store, job.job_id), 10, what="the startup run")
        # a fourth node joining the running cluster adds no startup run
        with running(make_scheduler(store, db_url, run_on_startup=True)):
            pass
    finally:
        for node in nodes:
            node.stop()
        for thread in threads:
            thread.join(30)
        for opened in stores:
            opened.close()
    assert [(e.status, e.trigger) for e in rows_of(store, job.job_id)] == [
        (ExecutionStatus.SUCCESS, Trigger.MANUAL)
    ]
    assert len(read_ledger(ledger)) == 1


# -- rescue leaves a live node's runs alone -------------------------------------------------


def test_rescue_waits_a_lease_period_for_a_node_that_still_sends_heartbeats(
    store: Store, manager: JobManager
) -> None:
    """After a database outage longer than the lease, the first node back must not take
    the runs of a node whose heartbeat is fresh: that node gets a lease period to renew.
    A run its node no longer renews (the lease a whole period overdue) is taken."""
    from dbcron.models import SchedulerNode

    job = manager.create_job(
        Job(name="j", job_type="shell", schedule_expression="0 0 1 1 *", config={"command": "x"})
    )
    now = store.database_now()
    lease = timedelta(seconds=10)
    store.register_node(
        SchedulerNode(
            node_id="alive", host="h", pid=1, version="v", started_at=now, last_heartbeat=now
        )
    )
    recently, long_ago = now - timedelta(seconds=2), now - timedelta(seconds=30)
    for n, expired in enumerate((recently, long_ago)):
        store.insert_execution(
            Execution(
                job_id=job.job_id,
                scheduled_for=now - timedelta(minutes=n + 1),
                status=ExecutionStatus.RUNNING,
                started_at=long_ago,
                created_at=long_ago,
                node_id="alive",
                lease_expires_at=expired,
                fencing_token=1,
            )
        )
    rescued = store.rescue_expired(now, lambda e, j: None, stale_before=now - lease)
    assert [e.lease_expires_at for e in rescued] == [long_ago]
    store.heartbeat_node("alive", now - timedelta(seconds=20))  # it went quiet
    rescued = store.rescue_expired(now, lambda e, j: None, stale_before=now - lease)
    assert [e.lease_expires_at for e in rescued] == [recently]


# -- an update racing a claim -----------------------------------------------------------------


def test_an_update_that_keeps_the_timing_never_moves_next_execution_back(
    store: Store, manager: JobManager
) -> None:
    """A claim moves next_execution on without changing the job's version; an update read
    before that claim and written after it must not move next_execution back (the
    manager writes with keep_next_execution whenever the timing is unchanged)."""
    job = manager.create_job(
        Job(name="j", job_type="shell", schedule_expression="* * * * *", config={"command": "x"})
    )
    read_before = manager.get_job(job.job_id)
    assert read_before.next_execution is not None
    claimed_to = read_before.next_execution + timedelta(minutes=5)
    summary = store.claim_due(
        read_before.next_execution, lambda job, active: ([], claimed_to), limit=10
    )
    assert summary.jobs == 1
    updated = store.update_job(
        read_before.with_changes(description="edited"),
        read_before.version,
        keep_next_execution=True,
    )
    assert updated.next_execution == claimed_to
    assert manager.get_job(job.job_id).next_execution == claimed_to


# -- overlap skip and a retry waiting out its delay ---------------------------------------------


def test_a_retry_waiting_out_its_delay_does_not_make_fires_overlap(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path
) -> None:
    """Overlap ``skip`` with max_concurrency 1: every fire fails its first attempt and
    schedules a retry 30 s later. The fires meanwhile are not "overlap" misses: a pending
    retry that is not yet due does not hold the job's slot."""
    ledger = tmp_path / "ledger"
    job = ledger_job(
        manager,
        ledger,
        "@every 2s",
        kwargs={"fail_attempts": 1},
        retry_count=1,
        retry_delay_seconds=30,
        overlap_policy=OverlapPolicy.SKIP,
        max_concurrency=1,
    )
    with running(make_scheduler(store, db_url)):
        wait_for(
            lambda: (
                len({fire for _, fire, attempt, _, _ in read_ledger(ledger) if attempt == 0}) >= 3
            ),
            15,
            what="three fires start",
        )
    overlaps = [
        e
        for e in rows_of(store, job.job_id)
        if e.status is ExecutionStatus.MISSED and "overlap" in (e.error_message or "")
    ]
    assert not overlaps, [e.error_message for e in overlaps]
    retries = [e for e in rows_of(store, job.job_id) if e.trigger is Trigger.RETRY]
    assert retries and all(e.status is ExecutionStatus.PENDING for e in retries)


# -- a schedule that cannot be planned fails loudly for its own job only ------------------------


def test_an_unplannable_schedule_stops_its_own_job_only(
    store: Store, db_url: str, manager: JobManager, tmp_path: Path
) -> None:
    """A job whose stored schedule cannot be planned (stored by an older release, or one
    that cannot advance) gets a ``missed`` row with the reason and stops firing; the other
    jobs claimed with it run."""
    ledger = tmp_path / "ledger"
    good = ledger_job(manager, ledger, "@every 1s", retry_count=0)
    now = datetime.now(UTC)
    bad = store.insert_job(
        Job(
            name="bad",
            job_type="shell",
            schedule_expression="61 * * * *",
            config={"command": "true"},
            created_at=now,
            updated_at=now,
            next_execution=now - timedelta(seconds=1),
        )
    )
    with running(make_scheduler(store, db_url)):
        wait_for(lambda: read_ledger(ledger), 10, what="the good job runs")
        rows = wait_for(lambda: rows_of(store, bad.job_id), 5, what="the bad job's row")
    assert [e.status for e in rows] == [ExecutionStatus.MISSED]
    assert "cannot be planned" in (rows[0].error_message or "")
    assert "61" in (rows[0].error_message or "")
    assert manager.get_job(bad.job_id).next_execution is None
    assert manager.get_job(good.job_id).next_execution is not None
