"""`dbcron doctor` as a subprocess (issue 12): one line per check, exit status 1 when a
check fails, and a database that is down or not initialised reported as a failed check,
never a traceback."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.acceptance.conftest import Cli, Result, make_env
from tests.support.pgserver import make_private_server
from tests.support.waiting import wait_for

STATUSES = ("ok", "warn", "fail", "skip")
SQLITE_NAMES = ["connection", "schema", "journal", "row_security", "clock", "schedulers"]
POSTGRES_NAMES = ["connection", "schema", "pooler", "row_security", "clock", "schedulers"]


def checks(result: Result) -> dict[str, list[dict[str, Any]]]:
    """``doctor --json``'s checks by name (a name may have several lines)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for check in result.json():
        assert set(check) == {"name", "status", "detail", "value", "unit"}
        assert check["status"] in STATUSES
        found.setdefault(check["name"], []).append(check)
    return found


def status_of(found: dict[str, list[dict[str, Any]]], name: str) -> str:
    [check] = found[name]
    return str(check["status"])


def lines(result: Result) -> dict[str, str]:
    """The text report's lines by check name: ``status  name  detail``, one line each."""
    by_name: dict[str, str] = {}
    for line in result.out.splitlines():
        status, name, _detail = line.split(maxsplit=2)
        assert status in STATUSES, line
        by_name.setdefault(name, line)
    return by_name


def test_doctor_on_a_healthy_database(cli: Cli) -> None:
    cli.ok("init")
    cli.shell_job("Nightly", "true")
    result = cli("doctor")
    assert (result.code, result.err) == (0, ""), result
    shown = lines(result)
    postgres = cli.url.startswith("postgresql")
    names = POSTGRES_NAMES if postgres else SQLITE_NAMES
    assert list(shown) == [*names, "handlers", "jobs", "config"]
    assert len(result.out.splitlines()) == len(shown)  # one line per check
    assert shown["connection"].startswith("ok ") and "median round trip" in shown["connection"]
    assert shown["schema"].startswith("ok ") and "the latest this dbcron ships" in shown["schema"]
    assert shown["schedulers"].startswith("warn ")
    assert "no scheduler is running: nothing will fire" in shown["schedulers"]
    assert "the handlers of all 2 jobs resolve" in shown["jobs"]  # with the maintenance job
    assert f"database.url {cli.url} from flag --db" in shown["config"]
    found = checks(cli("doctor", "--json"))
    assert found["connection"][0]["unit"] == "ms"
    assert isinstance(found["connection"][0]["value"], float)
    assert found["schema"][0]["value"] > 0
    assert found["schedulers"][0]["value"] == 0
    if postgres:
        assert shown["pooler"].startswith("ok ") and "LISTEN/NOTIFY works" in shown["pooler"]
        assert "direct connection" in shown["pooler"]
        # whether another test made Supabase's roles on the shared server or not
        assert status_of(found, "row_security") == "ok"
        assert "row level security is on for all 5 tables" in shown["row_security"]
        assert status_of(found, "clock") == "ok"
        assert found["clock"][0]["unit"] == "ms"
    else:
        assert shown["journal"].startswith("ok ") and "WAL" in shown["journal"]
        assert status_of(found, "row_security") == "skip"
        assert status_of(found, "clock") == "skip"


def test_doctor_on_an_uninitialised_database(cli: Cli) -> None:
    if cli.url.startswith("sqlite"):
        sqlite3.connect(cli.url.removeprefix("sqlite:///")).close()  # an empty file
    result = cli("doctor")
    assert result.code == 1, result
    assert result.err == ""
    shown = lines(result)
    assert shown["connection"].startswith("ok ")
    assert shown["schema"].startswith("fail ")
    assert "no dbcron tables: run `dbcron init`" in shown["schema"]
    for name in ("row_security", "schedulers", "jobs"):
        assert shown[name].startswith("skip "), shown[name]


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres:s3cret-pw@127.0.0.1:1/x", "sqlite:///{tmp}/missing/dir/x.db"],
    ids=["postgres-down", "sqlite-missing-dir"],
)
def test_doctor_when_the_database_cannot_be_reached(url: str, tmp_path: Path) -> None:
    cli = Cli(url=url.format(tmp=tmp_path), cwd=tmp_path, env=make_env(tmp_path))
    for args in (("doctor",), ("doctor", "--json")):
        result = cli(*args)
        assert result.code == 1, result
        assert result.err == ""
        assert "Traceback" not in result.out and "s3cret" not in result.out
    shown = lines(cli("doctor"))
    connection = shown["connection"]
    assert connection.startswith("fail ")
    if url.startswith("postgresql"):
        assert "cannot connect to postgresql://postgres:***@127.0.0.1:1/x" in connection
    else:
        assert "no SQLite database at" in connection and "missing/dir/x.db" in connection
    for name in ("schema", "row_security", "clock", "schedulers", "jobs"):
        assert shown[name].startswith("skip ") and "no database connection" in shown[name]
    assert shown["handlers"].startswith("ok ")  # needs no database
    assert shown["config"].startswith("ok ") and "s3cret" not in shown["config"]


def test_doctor_with_a_url_it_cannot_use(tmp_path: Path) -> None:
    cli = Cli(url="mysql://db/x", cwd=tmp_path, env=make_env(tmp_path))
    result = cli("doctor")
    assert (result.code, result.err) == (1, ""), result
    shown = lines(result)
    assert shown["connection"].startswith("fail ")
    assert shown["config"].startswith("fail ") and "unsupported scheme 'mysql'" in shown["config"]


def _set_job_type(url: str, job_id: str, job_type: str, config: str | None = None) -> None:
    """Give a job a type (and config) this dbcron does not know or cannot resolve, as
    another version or a host with other handlers might have written it."""
    config = config or "{}"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute(
                "UPDATE jobs SET job_type = ?, config = ? WHERE job_id = ?",
                [job_type, config, job_id],
            )
        conn.close()
        return
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(
            "UPDATE jobs SET job_type = %s, config = %s WHERE job_id = %s",
            [job_type, config, job_id],
        )


def test_doctor_names_the_jobs_whose_handler_cannot_be_resolved(cli: Cli) -> None:
    cli.ok("init")
    (cli.cwd / "good_tasks.py").write_text("print('noise at import')\ndef run():\n    return 1\n")
    cli.ok(
        "create", "Fine", "python", "@yearly", "--config", '{"callable": "good_tasks:run"}'
    )  # fmt: skip
    broken = cli.ok(
        "create", "Broken import", "python", "@yearly",
        "--config", '{"callable": "no_such_module_xyz:run"}', "--json",
    ).json()["job_id"]  # fmt: skip
    # create refuses an unknown custom handler; one registered on another host only
    # reaches this database from there
    nameless = cli.shell_job("Unknown handler", "true")
    _set_job_type(cli.url, nameless, "custom", '{"handler": "nobody"}')
    retired = cli.shell_job("Retired type", "true")
    _set_job_type(cli.url, retired, "fax")
    result = cli("doctor")
    assert result.code == 1, result
    failures = [line for line in result.out.splitlines() if line.startswith("fail ")]
    assert len(failures) == 3, result.out
    assert any(
        f"job 'Broken import' ({broken[:8]}, python): cannot import 'no_such_module_xyz:run': "
        "No module named 'no_such_module_xyz'" in line
        for line in failures
    ), failures
    assert any(
        f"job 'Unknown handler' ({nameless[:8]}, custom): no custom handler named 'nobody'" in line
        for line in failures
    ), failures
    assert any(
        f"job 'Retired type' ({retired[:8]}, fax): unknown job type 'fax'" in line
        for line in failures
    ), failures
    assert all(line.split()[1] == "jobs" for line in failures)
    # what a module prints while it is imported stays out of the JSON report
    found = checks(cli("doctor", "--json"))
    assert [c["status"] for c in found["jobs"]] == ["fail"] * 3


def test_doctor_reports_a_running_scheduler(cli: Cli) -> None:
    cli.ok("init")

    def live() -> dict[str, Any] | None:
        [check] = checks(cli("doctor", "--json"))["schedulers"]
        return check if check["status"] == "ok" else None

    with cli.scheduler() as proc:
        check = wait_for(live, timeout=30, what="doctor to see the scheduler")
    assert check["value"] == 1
    assert check["detail"].startswith("1 running: node ")
    assert f", pid {proc.pid}), heartbeat " in check["detail"]
    assert check["detail"].endswith(" s ago")


# -- Supabase's public API roles -------------------------------------------------------


@pytest.fixture
def supabase_cluster(tmp_path: Path) -> Iterator[str]:
    """A database in a private PostgreSQL cluster that has Supabase's ``anon`` and
    ``authenticated`` roles and default grants: roles are cluster-wide, and a cluster of
    its own keeps them away from every other test (and test run) on the shared server."""
    server = make_private_server()
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE app")
            for role in ("anon", "authenticated"):
                conn.execute(f"CREATE ROLE {role} NOLOGIN")
        url = server.url.rsplit("/", 1)[0] + "/app"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("GRANT USAGE ON SCHEMA public TO anon, authenticated")
            conn.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                "GRANT ALL ON TABLES TO anon, authenticated"
            )
        yield url
    finally:
        server.destroy()


def test_doctor_checks_row_level_security_against_supabase_roles(
    supabase_cluster: str, tmp_path: Path
) -> None:
    url = supabase_cluster
    cli = Cli(url=url, cwd=tmp_path, env=make_env(tmp_path))
    cli.ok("init")  # revokes Supabase's default grants; every table has RLS on

    def row_security() -> tuple[int, str]:
        result = cli("doctor")
        return result.code, lines(result)["row_security"]

    code, line = row_security()
    assert code == 0 and line.startswith("ok "), line
    assert "row level security is on for all 5 tables; no privilege for anon, authenticated" in (
        line
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT SELECT ON job_executions TO anon")
    code, line = row_security()
    assert code == 0 and line.startswith("warn "), line
    assert "anon holds SELECT on job_executions" in line
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE jobs DISABLE ROW LEVEL SECURITY")
        conn.execute("GRANT SELECT, INSERT ON jobs TO anon")
    code, line = row_security()
    assert code == 1 and line.startswith("fail "), line
    assert "row level security is off on jobs while" in line
    assert "anon holds SELECT, INSERT on jobs" in line
    assert "Supabase's public REST API exposes jobs" in line
