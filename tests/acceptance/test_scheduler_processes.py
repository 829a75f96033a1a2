"""Scheduler processes as a user runs them: daemon, kill -9, a cluster, a database restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
from tests.support.pgserver import make_private_server
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
    store = open_store(url)
    try:
        manager = JobManager(store)
        kwargs = fields.pop("kwargs", {})
        return [
            manager.create_job(
                Job(
                    name=f"{func}-{n}",
                    job_type="python",
                    schedule_expression=schedule,
                    config={"callable": f"tests.support.handlers:{func}", "kwargs": kwargs},
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

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return list(conn.execute(sql.replace("%s", "?"), params))
        finally:
            conn.close()
    with psycopg.connect(url.split("?")[0]) as conn:
        return list(conn.execute(sql, params))  # type: ignore[call-overload]


def count(url: str, where: str = "TRUE", *params: Any) -> int:
    return int(rows(url, f"SELECT count(*) FROM job_executions WHERE {where}", *params)[0][0])


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
    Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
    jobs = add_jobs(
        url,
        5,
        "sleep_first_attempt",
        "0 0 1 1 *",
        retry_count=1,
        retry_delay_seconds=0,
        kwargs={"seconds": 60},
    )
    store = open_store(url)
    try:
        for job in jobs:
            JobManager(store).trigger_job(job.job_id)
    finally:
        store.close()
    with scheduler_process(
        url, tmp_path, "--executor", "process", "--workers", "5", lease_seconds=2
    ) as victim:
        wait_for(lambda: count(url, "status = 'running'") == 5, 60, what="five running")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        killed_at = datetime.now(UTC)
    with scheduler_process(url, tmp_path, "--executor", "thread", lease_seconds=2):
        wait_for(lambda: count(url, "status = 'success'") == 5, 30, what="five retries")
    failed = rows(
        url, "SELECT error_message, finished_at FROM job_executions WHERE status = 'failed'"
    )
    assert len(failed) == 5
    for message, finished_at in failed:
        assert message.startswith("node lost")
        assert finished_at - killed_at < timedelta(seconds=2 + 0.5 + 5)  # lease + sweep + start
    assert count(url, "status = 'running'") == 0


@pytest.mark.parametrize("route", ["direct", "pgbouncer"])
def test_three_schedulers_on_one_postgres(
    make_pg_database: Callable[[], str], tmp_path: Path, route: str, request: pytest.FixtureRequest
) -> None:
    url = make_pg_database()
    if route == "pgbouncer":  # a transaction-mode pooler, as Supabase's port 6543
        url = request.getfixturevalue("bouncer").url_for(url.rsplit("/", 1)[1])
    Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
    add_jobs(url, 100, "noop", "@every 1s", retry_count=0)
    with (
        scheduler_process(url, tmp_path, "--executor", "thread", "--workers", "16"),
        scheduler_process(url, tmp_path, "--executor", "thread", "--workers", "16"),
        scheduler_process(url, tmp_path, "--executor", "thread", "--workers", "16"),
    ):
        # every node has run something (missed-fire rows carry no node)
        ran_on = "SELECT DISTINCT node_id FROM job_executions WHERE node_id IS NOT NULL"
        wait_for(lambda: len(rows(url, ran_on)) == 3, 30, what="all three nodes to run fires")
        time.sleep(30)  # the workload itself: 30 s of 100 jobs firing every second
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
        assert n == int((last - first).total_seconds()) + 1  # no fire lost in between
        assert n >= 28
    assert count(url, "status IN ('failed', 'timeout', 'running')") == 0
    for output in tmp_path.glob("scheduler-*.out"):
        text = output.read_text()
        assert "Traceback" not in text
        assert " ERROR " not in text
        assert "database problem" not in text
    # fires claimed in the last moment before the stop wait, pending, for the next start
    assert (
        count(url, "status = 'pending' AND scheduled_for < %s", stopping - timedelta(seconds=3))
        == 0
    )


def test_postgres_restart_is_survived(tmp_path: Path) -> None:
    server = make_private_server()
    try:
        url = server.url.rsplit("/", 1)[0] + "/postgres"
        Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
        add_jobs(url, 5, "noop", "@every 1s", retry_count=0)
        with scheduler_process(url, tmp_path, "--executor", "thread") as proc:
            wait_for(lambda: count(url, "status = 'success'") >= 10, 30)
            server.stop("fast")
            time.sleep(3)
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
        log = (tmp_path / "job_scheduler.log").read_text()
        assert "database problem" in log
        assert "database answers again" in log
    finally:
        server.destroy()


def test_database_down_at_startup_is_waited_for(tmp_path: Path) -> None:
    server = make_private_server()
    try:
        # trust auth ignores the password; it is here to prove it never reaches the log
        url = server.url.replace("postgres@", "postgres:s3cretpw@")
        Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
        add_jobs(url, 3, "noop", "@every 1s", retry_count=0)
        server.stop("fast")
        with scheduler_process(url, tmp_path, "--executor", "thread") as proc:
            log = tmp_path / "job_scheduler.log"
            wait_for(lambda: log.exists() and "database unreachable" in log.read_text(), 20)
            time.sleep(2)  # it keeps waiting, quietly
            assert proc.poll() is None
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
    finally:
        server.destroy()


def test_killed_backends_are_survived(
    make_pg_database: Callable[[], str], tmp_path: Path, pg_admin_url: str
) -> None:
    url = make_pg_database()
    name = url.rsplit("/", 1)[1]
    Cli(url, tmp_path, make_env(tmp_path)).ok("init", "--no-maintenance")
    add_jobs(url, 5, "noop", "@every 1s", retry_count=0)
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
