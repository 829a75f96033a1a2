"""The thread-mode executor: real handler threads and shell commands, no mocks."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from dbcron.config import SchedulerSettings
from dbcron.engine.scheduler import Scheduler
from dbcron.execution import Report, ThreadExecutor, Work
from dbcron.manager import JobManager
from dbcron.models import ExecutionStatus, Job
from dbcron.store import open_store
from tests.support.executor_handlers import gate
from tests.support.handlers import read_ledger
from tests.support.waiting import wait_for
from tests.unit.test_process_pool import STUBBORN, Reports, _work, alive, pid_in, shell_work


def _gated(timeout: int | None = None) -> tuple[Work, str]:
    name = uuid.uuid4().hex
    return _work("gated", timeout, "executor_handlers", name=name), name


def _join_workers(pool: ThreadExecutor) -> None:
    """Wait until every worker thread of ``pool`` has ended (after stop)."""
    for thread in pool._threads:
        thread.join(10)
        assert not thread.is_alive()


def test_a_timed_out_thread_keeps_its_slot_and_is_reported_when_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reports = Reports()
    pool = ThreadExecutor(1, reports)
    pool.start()
    work, name = _gated(timeout=1)
    try:
        with caplog.at_level(logging.WARNING, logger="dbcron.executor"):
            pool.submit(work)
            assert gate(name).entered.wait(10)
            wait_for(
                lambda: any(
                    "exceeded its timeout of 1 s" in r.getMessage()
                    and "its slot stays taken" in r.getMessage()
                    for r in caplog.records
                ),
                10,
                what="the deadline warning",
            )
        # still running: not reported, still in flight, its slot still taken
        assert reports.items == []
        assert pool.in_flight() == [work]
        assert pool.free_slots() == 1  # one thread, one prefetch place, one run overdue
        gate(name).opened.set()
        [(_, report)] = reports.wait(1, timeout=10)
    finally:
        gate(name).opened.set()
        pool.stop()
    assert report.status is ExecutionStatus.TIMEOUT
    message = report.error_message or ""
    assert "exceeded its timeout of 1 s" in message
    assert "thread mode cannot stop a handler" in message and "it ran for" in message
    assert report.result is None  # the late result is discarded
    assert report.duration_seconds >= 1
    assert pool.in_flight() == [] and pool.free_slots() == 2


def test_stop_with_kill_takes_queued_work_out_so_it_never_starts(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    reports = Reports()
    pool = ThreadExecutor(1, reports)
    pool.start()
    running, name = _gated()
    queued = [_work("ledger", path=str(ledger)) for _ in range(3)]
    try:
        pool.submit(running)
        assert gate(name).entered.wait(10)
        for work in queued:
            pool.submit(work)
        leftover = pool.stop(kill=True)
    finally:
        gate(name).opened.set()
    assert {w.execution.execution_id for w in leftover} == {
        w.execution.execution_id for w in (running, *queued)
    }
    _join_workers(pool)
    assert read_ledger(ledger) == []
    # the caller reports what stop() handed back: the executor does not report it again
    assert reports.items == []
    assert pool.in_flight() == []


def test_a_timed_out_shell_command_is_gone_when_the_timeout_is_reported(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "cmd.pid"
    reports = Reports()
    alive_at_report: list[bool] = []

    def on_done(work: Work, report: Report) -> None:
        alive_at_report.append(alive(int(pidfile.read_text())))
        reports(work, report)

    pool = ThreadExecutor(1, on_done)
    pool.start()
    try:
        pool.submit(shell_work(STUBBORN.format(pidfile), timeout=2))
        [(_, report)] = reports.wait(1, timeout=20)
    finally:
        pool.stop()
    assert report.status is ExecutionStatus.TIMEOUT
    assert "process group was killed" in (report.error_message or "")
    assert alive_at_report == [False]


def test_stop_with_kill_kills_the_shell_commands_still_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "cmd.pid"
    reports = Reports()
    pool = ThreadExecutor(1, reports)
    pool.start()
    work = shell_work(STUBBORN.format(pidfile), timeout=None)
    pool.submit(work)
    pid = pid_in(pidfile)
    assert pool.stop(kill=True) == [work]
    wait_for(lambda: not alive(pid), 5, what=f"command {pid} to be gone")
    _join_workers(pool)
    assert reports.items == []


def test_the_retry_waits_for_the_overrunning_thread(sqlite_url: str, tmp_path: Path) -> None:
    """max_concurrency 1: the retry of a timed-out attempt starts only once the attempt's
    thread really ended, and the attempt's row stays running (its lease renewed, here
    shorter than the overrun) until then."""
    timeline = tmp_path / "timeline"
    store = open_store(sqlite_url)
    try:
        manager = JobManager(store)
        job = manager.create_job(
            Job(
                name="overrun",
                job_type="python",
                schedule_expression="0 0 1 1 *",
                config={
                    "callable": "tests.support.executor_handlers:timeline",
                    "kwargs": {"path": str(timeline), "seconds": 3},
                },
                timeout_seconds=1,
                retry_count=1,
                retry_delay_seconds=0,
                max_concurrency=1,
            )
        )
        manager.trigger_job(job.job_id)
        settings = SchedulerSettings(max_workers=2, lease_seconds=1, shutdown_grace_seconds=5)
        scheduler = Scheduler(store, settings, executor="thread", database_url=sqlite_url)
        thread = scheduler.start_in_thread()
        try:
            rows = wait_for(
                lambda: [e for e in store.list_executions(job_id=job.job_id) if e.status.is_final][
                    1:
                ],
                20,
                what="both attempts",
            )
        finally:
            scheduler.stop()
            thread.join(30)
        rows = sorted(store.list_executions(job_id=job.job_id), key=lambda e: e.retry_attempt)
    finally:
        store.close()
    events = [line.split()[:2] for line in timeline.read_text().splitlines()]
    assert events == [["start", "0"], ["end", "0"], ["start", "1"], ["end", "1"]]
    first, retry = rows
    assert first.status is ExecutionStatus.TIMEOUT
    assert "exceeded its timeout of 1 s" in (first.error_message or "")
    assert first.result is None
    assert retry.status is ExecutionStatus.SUCCESS
