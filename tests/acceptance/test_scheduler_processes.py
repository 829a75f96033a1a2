"""Scheduler processes as a user runs them: daemon, kill -9, a cluster, a database restart."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbcron.manager import JobManager
from dbcron.models import Job
from dbcron.store import open_store
from tests.acceptance.conftest import Cli, make_env
from tests.support import exactly_once as once
from tests.support.handlers import read_ledger
from tests.support.pgserver import make_private_server
from tests.support.processes import descendants, kill_all
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def scheduler_env(home: Path, **settings: Any) -> dict[str, str]:
    env = make_env(home)
    env["PYTHONPATH"] = str(REPO)  # the test handlers live in tests.support.handlers
    for key, value in settings.items():
        env[f"DBCRON_SCHEDULER__{key.upper()}"] = str(value)
    return env


@contextmanager
def scheduler_process(
    url: str, home: Path, *args: str, **settings: Any
) -> Iterator[subprocess.Popen[bytes]]:
    log = open(home / f"scheduler-{time.monotonic_ns()}.out", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbcron",
            "--db",
            url,
            "start",
            "--pid-file",
            str(home / f"{time.monotonic_ns()}.pid"),
            *args,
        ],
        cwd=home,
        env=scheduler_env(home, **settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def add_jobs(url: str, count: int, func: str, schedule: str, **fields: Any) -> list[Job]:
    """``count`` python jobs calling ``func``: a name in tests.support.handlers, or a
    ``module:name`` path."""
    store = open_store(url)
    try:
        manager = JobManager(store)
        kwargs = fields.pop("kwargs", {})
        target = func if ":" in func else f"tests.support.handlers:{func}"
        return [
            manager.create_job(
                Job(
                    name=f"{target.rsplit(':', 1)[1]}-{n}",
                    job_type="python",
                    schedule_expression=schedule,
                    config={"callable": target, "kwargs": kwargs},
                    **fields,
                )
            )
            for n in range(count)
        ]
    finally:
        store.close()


def rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        import sqlite3

        from dbcron.store.sqlite import encode_timestamp

        stored = [encode_timestamp(p) if isinstance(p, datetime) else p for p in params]
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return list(conn.execute(sql.replace("%s", "?"), stored))
        finally:
            conn.close()
    with psycopg.connect(url.split("?")[0]) as conn:
        return list(conn.execute(sql, params))  # type: ignore[call-overload]


def count(url: str, where: str = "TRUE", *params: Any) -> int:
    return int(rows(url, f"SELECT count(*) FROM job_executions WHERE {where}", *params)[0][0])


def scheduler_logs(home: Path) -> list[str]:
    """What the schedulers started in ``home`` wrote: their output and the log file."""
    return [p.read_text(errors="replace") for p in sorted(home.glob("scheduler-*.out"))] + [
        p.read_text(errors="replace") for p in sorted(home.glob("job_scheduler.log*"))
    ]


def assert_ran_once(url: str, ledger: Path, home: Path, killed_pids: Collection[int] = ()) -> None:
    """Every handler start in the ledger ran once and was recorded once: no (job, fire,
    attempt) started twice (except after a kill -9 of the process that ran it), no fire
    succeeded twice, no run rescued from a node that was alive, no failure but a kill's,
    every success really started, and no completion was thrown away as stale."""
    executions = once.executions(url)
    starts = once.starts(ledger)
    assert once.repeated_starts(starts, killed_pids) == []
    assert once.double_successes(executions) == []
    assert once.rescued_from_live_nodes(executions, killed_pids) == []
    assert once.unexpected_failures(executions, killed_pids) == []
    assert once.successes_without_a_start(executions, starts) == []
    assert once.rejected_completions(scheduler_logs(home)) == []


def test_daemon_start_status_stop(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'dbcron.db'}", tmp_path, make_env(tmp_path))
    cli.ok("init", "--no-maintenance")
    cli.env.update(scheduler_env(cli.cwd))
    add_jobs(cli.url, 1, "noop", "@every 1s", retry_count=0)
    started = cli("start", "--daemon", "--executor", "thread")
    assert started.code == 0, started.err
    assert "started in the background" in started.out
    pid = int((cli.cwd / "dbcron.pid").read_text())
    again = cli("start", "--daemon")
    assert again.code == 1
    assert f"already running with pid {pid}" in again.err
    wait_for(lambda: count(cli.url, "status = 'success'") >= 2, 20)
    status = cli.ok("status", "--json").json()
    [node] = status["nodes"]
    assert node["pid"] == pid
    assert node["stopped_at"] is None
    assert "Stopped the scheduler" in cli.ok("stop").out
    assert not (cli.cwd / "dbcron.pid").exists()
    [node] = cli.ok("status", "--json").json()["nodes"]
    assert node["stopped_at"] is not None
    log = (cli.cwd / "job_scheduler.log").read_text()
    assert "started (thread executor" in log
    assert "received SIGTERM; stopping gracefully" in log
    nothing = cli("stop")
    assert nothing.code == 1
    assert "no scheduler is running" in nothing.err


def test_kill_9_is_rescued_and_retried(make_pg_database: Callable[[], str], tmp_path: Path) -> None:
    url = make_pg_database()
    ledger = tmp_path / "ledger"
    Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
    jobs = add_jobs(
        url,
        5,
        "tests.support.exactly_once:ledger_sleeping_first",
        "0 0 1 1 *",
        retry_count=1,
        retry_delay_seconds=0,
        kwargs={"path": str(ledger), "seconds": 60},
    )
    store = open_store(url)
    try:
        for job in jobs:
            JobManager(store).trigger_job(job.job_id)
    finally:
        store.close()
    killed: set[int] = set()
    try:
        with scheduler_process(
            url, tmp_path, "--executor", "process", "--workers", "5", lease_seconds=2
        ) as victim:
            wait_for(lambda: count(url, "status = 'running'") == 5, 60, what="five running")
            wait_for(lambda: len(read_ledger(ledger)) == 5, 60, what="five handlers started")
            # its worker processes are its children, each in its own process group: they
            # outlive a kill -9 of the scheduler and finish the handler they run
            killed = {victim.pid, *descendants(victim.pid)}
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(10)
            killed_at = datetime.now(UTC)
        with scheduler_process(url, tmp_path, "--executor", "thread", lease_seconds=2) as rescuer:
            wait_for(lambda: count(url, "status = 'success'") == 5, 30, what="five retries")
        failed = rows(
            url, "SELECT error_message, finished_at FROM job_executions WHERE status = 'failed'"
        )
        assert len(failed) == 5
        for message, finished_at in failed:
            assert message.startswith("node lost")
            assert finished_at - killed_at < timedelta(seconds=2 + 0.5 + 5)  # lease + sweep + start
        assert count(url, "status = 'running'") == 0
        # real handler starts: each first attempt once, in the killed node's workers;
        # each retry once, in the scheduler that rescued it
        starts = once.starts(ledger)
        assert sorted((s.job_id, s.attempt) for s in starts) == sorted(
            (job.job_id, attempt) for job in jobs for attempt in (0, 1)
        )
        assert {s.pid for s in starts if s.attempt == 0} <= killed - {victim.pid}
        assert {s.pid for s in starts if s.attempt == 1} == {rescuer.pid}
        assert_ran_once(url, ledger, tmp_path, killed)
    finally:
        kill_all(killed)  # the orphaned workers still sleep in their first attempt


@pytest.mark.parametrize("route", ["direct", "pgbouncer", "sqlite"])
def test_schedulers_share_one_database(
    make_pg_database: Callable[[], str], tmp_path: Path, route: str, request: pytest.FixtureRequest
) -> None:
    """Three schedulers on one PostgreSQL (directly, and through a transaction-mode
    pooler as Supabase's port 6543), two on one SQLite file: every fire of 100 jobs
    firing every second runs once, counted by real handler starts."""
    if route == "sqlite":
        url, nodes = f"sqlite:///{tmp_path / 'dbcron.db'}", 2
    else:
        url, nodes = make_pg_database(), 3
    if route == "pgbouncer":
        url = request.getfixturevalue("bouncer").url_for(url.rsplit("/", 1)[1])
    ledger = tmp_path / "ledger"
    Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
    # a retry can only come from a rescue here: it would show as a second start
    add_jobs(url, 100, "ledger", "@every 1s", retry_count=1, kwargs={"path": str(ledger)})
    with contextlib.ExitStack() as cluster:
        for _ in range(nodes):
            cluster.enter_context(
                scheduler_process(url, tmp_path, "--executor", "thread", "--workers", "16")
            )
        # every node has run something (missed-fire rows carry no node)
        ran_on = "SELECT DISTINCT node_id FROM job_executions WHERE node_id IS NOT NULL"
        wait_for(lambda: len(rows(url, ran_on)) == nodes, 30, what="every node to run fires")
        # the workload itself: 20 fires of each job with every node up
        # (every job counts: one with no success yet as 0)
        fewest = (
            "SELECT min(n) FROM (SELECT count(e.execution_id) AS n FROM jobs AS j "
            "LEFT JOIN job_executions AS e ON e.job_id = j.job_id AND e.status = 'success' "
            "GROUP BY j.job_id) AS runs"
        )
        base = int(rows(url, fewest)[0][0])
        wait_for(lambda: int(rows(url, fewest)[0][0]) >= base + 20, 60, what="20 fires a job")
        stopping = datetime.now(UTC)
    duplicates = rows(
        url,
        "SELECT job_id, scheduled_for FROM job_executions GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert duplicates == []
    per_job = rows(
        url,
        "SELECT job_id, min(scheduled_for), max(scheduled_for), count(*) FROM job_executions "
        "GROUP BY job_id",
    )
    assert len(per_job) == 100
    for _, first, last, n in per_job:
        if route == "sqlite":
            first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
        assert n == int((last - first).total_seconds()) + 1  # no fire lost in between
        assert n >= 20
    assert count(url, "status IN ('failed', 'timeout', 'running')") == 0
    assert count(url, "retry_attempt > 0") == 0
    for text in scheduler_logs(tmp_path):
        assert "Traceback" not in text
        assert " ERROR " not in text
        assert "database problem" not in text
    # each handler start recorded once, a success, and each success a handler start
    assert len(read_ledger(ledger)) == count(url, "status = 'success'")
    assert_ran_once(url, ledger, tmp_path)
    # fires claimed in the last moment before the stop wait, pending, for the next start
    assert (
        count(url, "status = 'pending' AND scheduled_for < %s", stopping - timedelta(seconds=3))
        == 0
    )


def test_postgres_restart_is_survived(tmp_path: Path) -> None:
    server = make_private_server()
    try:
        url = server.url.rsplit("/", 1)[0] + "/postgres"
        ledger = tmp_path / "ledger"
        Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
        add_jobs(url, 5, "ledger", "@every 1s", retry_count=1, kwargs={"path": str(ledger)})
        log = tmp_path / "job_scheduler.log"
        with scheduler_process(url, tmp_path, "--executor", "thread") as proc:
            wait_for(lambda: count(url, "status = 'success'") >= 10, 30)
            server.stop("fast")
            # down until the scheduler has met the outage (a fire falls every second)
            wait_for(lambda: "database problem" in log.read_text(), 10, what="the outage seen")
            server.start()
            back = datetime.now(UTC)
            wait_for(
                lambda: count(url, "status = 'success' AND started_at > %s", back) >= 5,
                5,
                what="executions within 5 s of the database returning",
            )
            assert proc.poll() is None
        duplicates = rows(
            url,
            "SELECT job_id, scheduled_for FROM job_executions GROUP BY 1, 2 HAVING count(*) > 1",
        )
        assert duplicates == []
        assert count(url, "status = 'running'") == 0
        assert "database answers again" in log.read_text()
        assert_ran_once(url, ledger, tmp_path)
    finally:
        server.destroy()


def test_database_down_at_startup_is_waited_for(tmp_path: Path) -> None:
    server = make_private_server()
    try:
        # trust auth ignores the password; it is here to prove it never reaches the log
        url = server.url.replace("postgres@", "postgres:s3cretpw@")
        ledger = tmp_path / "ledger"
        Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
        add_jobs(url, 3, "ledger", "@every 1s", retry_count=1, kwargs={"path": str(ledger)})
        server.stop("fast")
        with scheduler_process(url, tmp_path, "--executor", "thread") as proc:
            log = tmp_path / "job_scheduler.log"
            wait_for(lambda: log.exists() and "database unreachable" in log.read_text(), 20)
            with pytest.raises(subprocess.TimeoutExpired):  # it keeps waiting, quietly
                proc.wait(2)
            server.start()
            back = datetime.now(UTC)
            wait_for(
                lambda: count(url, "status = 'success' AND started_at > %s", back) >= 3,
                5,
                what="executions within 5 s of the database answering",
            )
        text = log.read_text()
        assert text.count("database unreachable") == 1
        assert "s3cretpw" not in text
        assert "postgres:***@" in text
        assert_ran_once(url, ledger, tmp_path)
    finally:
        server.destroy()


def test_killed_backends_are_survived(
    make_pg_database: Callable[[], str], tmp_path: Path, pg_admin_url: str
) -> None:
    url = make_pg_database()
    name = url.rsplit("/", 1)[1]
    ledger = tmp_path / "ledger"
    Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
    add_jobs(url, 5, "ledger", "@every 1s", retry_count=1, kwargs={"path": str(ledger)})
    with scheduler_process(url, tmp_path, "--executor", "thread") as proc:
        wait_for(lambda: count(url, "status = 'success'") >= 10, 30)
        for _ in range(3):
            with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [name],
                ).fetchone()
            assert killed is not None and killed[0] >= 1
            after = datetime.now(UTC)
            wait_for(
                lambda: count(url, "status = 'success' AND started_at > %s", after) >= 5,  # noqa: B023
                5,
                what="executions within 5 s of the backends being killed",
            )
        assert proc.poll() is None
    duplicates = rows(
        url, "SELECT job_id, scheduled_for FROM job_executions GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert duplicates == []
    assert count(url, "status = 'running'") == 0
    assert_ran_once(url, ledger, tmp_path)
