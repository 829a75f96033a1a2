"""The process-mode executor on its own: real worker processes, no database."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dbcron.execution import SHUTDOWN_MESSAGE, ProcessExecutor, Report, Work
from dbcron.models import Execution, ExecutionStatus, Job
from tests.support.handlers import read_ledger
from tests.support.waiting import wait_for


def _work(func: str, timeout: int | None = 30, module: str = "handlers", **kwargs: Any) -> Work:
    return call_work(f"tests.support.{module}:{func}", timeout, **kwargs)


def call_work(target: str, timeout: int | None = 30, /, **kwargs: Any) -> Work:
    """A ``python`` job's work calling ``target`` (``module:function``) with ``kwargs``."""
    job = Job(
        name=target,
        job_type="python",
        schedule_expression="@hourly",
        config={"callable": target, "kwargs": kwargs},
        timeout_seconds=timeout,
    )
    return Work(Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)), job)


def shell_work(command: str, timeout: int | None = 60) -> Work:
    """A ``shell`` job's work running ``command`` through /bin/sh."""
    job = Job(
        name="shell",
        job_type="shell",
        schedule_expression="@hourly",
        config={"command": command, "shell": True},
        timeout_seconds=timeout,
    )
    return Work(Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)), job)


#: A command that writes its pid to the file named by the format argument, ignores
#: SIGTERM and sleeps: only a SIGKILL ends it before 30 s.
STUBBORN = "echo $$ > {}; trap '' TERM; exec sleep 30"


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie nobody reaped yet is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def parent_of(pid: int) -> int:
    """The parent process id of ``pid`` (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def pid_in(path: Path) -> int:
    """The pid a command wrote to ``path`` (waiting for it to be written)."""
    text = wait_for(lambda: path.exists() and path.read_text().strip(), 10, what=str(path))
    return int(text)


class Reports:
    """Collects on_done calls; wait() blocks until ``n`` have arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[Work, Report]] = []
        self._cond = threading.Condition()

    def __call__(self, work: Work, report: Report) -> None:
        with self._cond:
            self.items.append((work, report))
            self._cond.notify_all()

    def wait(self, n: int, timeout: float = 60) -> list[tuple[Work, Report]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, timeout), (
                f"{len(self.items)} of {n} reports"
            )
            return list(self.items)

    def of(self, work: Work) -> Report:
        found = [r for w, r in self.items if w is work]
        assert len(found) == 1, f"{len(found)} reports for one work"
        return found[0]


@contextmanager
def pool_of(workers: int) -> Iterator[tuple[ProcessExecutor, Reports]]:
    """A started pool of ``workers`` processes and its reports; stopped afterwards."""
    reports = Reports()
    pool = ProcessExecutor(workers, reports)
    pool.start()
    try:
        yield pool, reports
    finally:
        pool.stop()


def submit_all(pool: ProcessExecutor, works: list[Work]) -> None:
    """Hand ``works`` over as slots free up, as the scheduler does."""
    for work in works:
        while pool.free_slots() == 0:
            time.sleep(0.001)
        pool.submit(work)


def test_every_work_is_reported_exactly_once() -> None:
    with pool_of(3) as (pool, reports):
        works = [_work("echo", n=n) for n in range(120)]
        submit_all(pool, works)
        reports.wait(len(works))
        assert [reports.of(w).status for w in works] == [ExecutionStatus.SUCCESS] * len(works)
        assert [reports.of(w).result for w in works] == [{"n": n} for n in range(120)]
        assert pool.in_flight() == [] and pool.free_slots() == 6


def test_a_worker_that_dies_is_reported_and_replaced() -> None:
    with pool_of(1) as (pool, reports):
        before = pool.pids()
        crash, after = _work("exit_process", code=3), _work("noop")
        pool.submit(crash)
        pool.submit(after)
        reports.wait(2)
        died = reports.of(crash)
        assert died.status is ExecutionStatus.FAILED
        assert "worker process died" in (died.error_message or "")
        assert "exit code 3" in (died.error_message or "")
        assert reports.of(after).status is ExecutionStatus.SUCCESS
        assert pool.pids() != before


def test_a_timeout_kills_one_worker_while_the_others_keep_reporting() -> None:
    with pool_of(2) as (pool, reports):
        hung = _work("sleep", timeout=1, seconds=3600)
        pool.submit(hung)
        quick = [_work("noop") for _ in range(40)]
        submit_all(pool, quick)
        reports.wait(len(quick) + 1)
        assert all(reports.of(w).status is ExecutionStatus.SUCCESS for w in quick)
        # the quick ones did not wait for the hung one to be killed
        order = [w for w, _ in reports.items]
        assert order.index(hung) == len(quick)
        timed_out = reports.of(hung)
        assert timed_out.status is ExecutionStatus.TIMEOUT
        assert 1.0 <= timed_out.duration_seconds < 3.0
        assert "killed and replaced" in (timed_out.error_message or "")
        # the replacement takes work again
        again = _work("noop")
        pool.submit(again)
        reports.wait(len(quick) + 2)
        assert reports.of(again).status is ExecutionStatus.SUCCESS


def test_stop_with_kill_reports_running_and_queued_work_as_failed() -> None:
    reports = Reports()
    pool = ProcessExecutor(1, reports)
    pool.start()
    running, queued = _work("sleep", seconds=3600), _work("noop")
    pool.submit(running)
    pool.submit(queued)
    time.sleep(0.2)
    unfinished = pool.stop(kill=True)
    assert {w.execution.execution_id for w in unfinished} == {
        running.execution.execution_id,
        queued.execution.execution_id,
    }
    reports.wait(2, timeout=10)
    for work in (running, queued):
        report = reports.of(work)
        assert report.status is ExecutionStatus.FAILED
        assert report.error_message == SHUTDOWN_MESSAGE
    assert pool.in_flight() == []


def test_stop_without_kill_lets_handed_over_work_finish() -> None:
    reports = Reports()
    pool = ProcessExecutor(1, reports)
    pool.start()
    works = [_work("sleep", seconds=0.3), _work("noop")]
    for w in works:
        pool.submit(w)
    pool.stop()
    assert [reports.of(w).status for w in works] == [ExecutionStatus.SUCCESS] * 2
    assert pool.in_flight() == []


def test_a_timed_out_shell_command_leaves_nothing_alive(tmp_path: Path) -> None:
    pidfile = tmp_path / "cmd.pid"
    with pool_of(1) as (pool, reports):
        pool.submit(shell_work(STUBBORN.format(pidfile), timeout=2))
        [(_, report)] = reports.wait(1, timeout=20)
        assert report.status is ExecutionStatus.TIMEOUT
        pid = pid_in(pidfile)
        wait_for(lambda: not alive(pid), 5, what=f"command {pid} to be gone")


@pytest.mark.parametrize("tracked", [True, False], ids=["tracked", "found-as-child"])
def test_a_timeout_kills_the_sessions_a_handler_started(tmp_path: Path, tracked: bool) -> None:
    """The backstop: the handler ignores its deadline, so the pool kills the worker, and
    with it the session the handler started (reported through the context, or found as a
    child of the worker on Linux)."""
    if not tracked and not Path("/proc/self/task").is_dir():
        pytest.skip("finding a worker's children needs Linux /proc")
    pidfile = tmp_path / "session.pid"
    with pool_of(1) as (pool, reports):
        # a timeout long enough for a slow worker start to reach the handler on a busy machine
        work = _work("start_session", 4, "executor_handlers", pidfile=str(pidfile), track=tracked)
        pool.submit(work)
        [(_, report)] = reports.wait(1, timeout=20)
        assert report.status is ExecutionStatus.TIMEOUT, report.error_message
        assert "killed and replaced" in (report.error_message or "")
        pid = pid_in(pidfile)
        wait_for(lambda: not alive(pid), 5, what=f"session leader {pid} to be gone")


def test_stop_with_kill_leaves_no_shell_command_alive(tmp_path: Path) -> None:
    pidfile = tmp_path / "cmd.pid"
    reports = Reports()
    pool = ProcessExecutor(1, reports)
    pool.start()
    work = shell_work(STUBBORN.format(pidfile), timeout=None)
    pool.submit(work)
    pid = pid_in(pidfile)
    pool.stop(kill=True)
    reports.wait(1, timeout=10)
    assert reports.of(work).error_message == SHUTDOWN_MESSAGE
    wait_for(lambda: not alive(pid), 5, what=f"command {pid} to be gone")


def test_work_reported_failed_at_shutdown_never_starts(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    reports = Reports()
    pool = ProcessExecutor(1, reports)
    pool.start()
    running = _work("ledger", path=str(ledger), seconds=30)
    queued = [_work("ledger", path=str(ledger)) for _ in range(3)]
    for work in (running, *queued):
        pool.submit(work)
    wait_for(lambda: read_ledger(ledger), 20, what="the first handler start")
    workers = pool.pids()
    unfinished = pool.stop(kill=True)
    assert {w.execution.execution_id for w in unfinished} == {
        w.execution.execution_id for w in (running, *queued)
    }
    reports.wait(4, timeout=10)
    assert all(reports.of(w).error_message == SHUTDOWN_MESSAGE for w in (running, *queued))
    # every worker is gone, so nothing handed over can start any more
    assert not any(alive(pid) for pid in workers + pool.pids())
    assert [entry[3] for entry in read_ledger(ledger)] == [running.execution.execution_id]


WHERE_AM_I = """
import os, sys


def where():
    main = sys.modules["__main__"]
    return {
        "cwd": os.getcwd(),
        "mark": os.environ.get("DBCRON_TEST_MARK"),
        "main_file": getattr(main, "__file__", None),
    }
"""


def test_workers_take_the_parents_path_cwd_and_environment_but_not_its_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``python`` job imports what the parent could (its sys.path and working
    directory), sees the parent's environment, and its worker never imported the
    parent's ``__main__`` (here pytest's)."""
    (tmp_path / "user_jobs_for_pool_test.py").write_text(WHERE_AM_I)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DBCRON_TEST_MARK", "from the parent")
    with pool_of(1) as (pool, reports):
        work = call_work("user_jobs_for_pool_test:where")
        pool.submit(work)
        [(_, report)] = reports.wait(1)
    assert report.status is ExecutionStatus.SUCCESS, report.error_message
    assert report.result == {"cwd": os.getcwd(), "mark": "from the parent", "main_file": None}


def test_workers_come_from_one_fork_server_that_is_replaced_if_it_dies() -> None:
    if not Path("/proc/self/stat").is_file():
        pytest.skip("reading a parent pid needs Linux /proc")
    with pool_of(2) as (pool, reports):
        servers = {parent_of(pid) for pid in pool.pids()}
        assert len(servers) == 1 and os.getpid() not in servers
        [server] = servers
        os.kill(server, signal.SIGKILL)
        crash = _work("exit_process", code=3)
        pool.submit(crash)
        reports.wait(1)
        assert "worker process died" in (reports.of(crash).error_message or "")
        works = [_work("echo", n=n) for n in range(4)]
        submit_all(pool, works)
        reports.wait(5)
        assert [reports.of(w).result for w in works] == [{"n": n} for n in range(4)]
        assert server not in {parent_of(pid) for pid in pool.pids()}
