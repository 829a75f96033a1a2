"""`dbcron schema`: the committed SQL files, and the Supabase schema applied for real."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dbcron.manager import JobManager
from dbcron.models import Job
from dbcron.schema_export import POSTGRES_TABLES, schema_sql
from dbcron.store import check_current, open_store

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
SUPABASE_ROLES = ("anon", "authenticated", "service_role")


@pytest.mark.parametrize(
    ("name", "backend", "supabase"),
    [
        ("dbcron_supabase.sql", "postgres", True),
        ("dbcron_postgres.sql", "postgres", False),
        ("dbcron_sqlite.sql", "sqlite", False),
    ],
)
def test_committed_files_are_current(name: str, backend: str, supabase: bool) -> None:
    assert (SQL_DIR / name).read_text() == schema_sql(backend, supabase=supabase), (
        f"sql/{name} is stale: regenerate it with `dbcron schema`"
    )


def test_no_do_blocks() -> None:
    code = [
        line.strip().upper()
        for line in schema_sql("postgres", supabase=True).splitlines()
        if line.strip() and not line.strip().startswith("--")
    ]
    assert not [line for line in code if line.startswith("DO ") or line == "DO"]
    assert not [line for line in code if "$$" in line or "FUNCTION" in line]


def test_sqlite_script_gives_a_current_database(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    for _ in range(2):
        conn.executescript(schema_sql("sqlite"))
    conn.close()
    store = open_store(f"sqlite:///{path}")
    check_current(store)
    store.close()


@pytest.fixture
def supabase_like(pg_admin_url: str, make_pg_database: Callable[[], str]) -> Iterator[str]:
    """A scratch database in a cluster that has Supabase's roles and default grants."""
    created: list[str] = []
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for role in SUPABASE_ROLES:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(f"CREATE ROLE {role} NOLOGIN")
                created.append(role)
    url = make_pg_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role")
        conn.execute(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT ALL ON TABLES TO anon, authenticated, service_role"
        )
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP OWNED BY anon, authenticated, service_role")
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        name = url.rsplit("/", 1)[1]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in created:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_supabase_schema_is_secure_and_idempotent(supabase_like: str, tmp_path: Path) -> None:
    script = tmp_path / "dbcron_supabase.sql"
    script.write_text(schema_sql("postgres", supabase=True))
    for _ in range(2):  # idempotent
        done = subprocess.run(
            ["psql", supabase_like, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr

    store = open_store(supabase_like)  # dbcron, as the owner, sees a current schema
    try:
        job = JobManager(store).create_job(
            Job(
                name="owner works",
                job_type="shell",
                schedule_expression="@hourly",
                config={"command": ["true"]},
            )
        )
        JobManager(store).trigger_job(job.job_id)
    finally:
        store.close()

    with psycopg.connect(supabase_like, autocommit=True) as conn:
        policies = conn.execute("SELECT count(*) FROM pg_policies").fetchone()
        assert policies == (0,)
        rls = dict(
            conn.execute(
                "SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY(%s)",
                [list(POSTGRES_TABLES)],
            ).fetchall()
        )
        assert rls == dict.fromkeys(POSTGRES_TABLES, True)
        for role in ("anon", "authenticated"):
            for table in POSTGRES_TABLES:
                for statement in (
                    f"SELECT * FROM {table}",
                    f"DELETE FROM {table}",
                    f"INSERT INTO {table} DEFAULT VALUES",
                ):
                    conn.execute(f"SET ROLE {role}")
                    try:
                        with pytest.raises(psycopg.errors.InsufficientPrivilege):
                            conn.execute(statement)
                    finally:
                        conn.execute("RESET ROLE")
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM job_executions").fetchone() == (1,)


def test_dbcron_init_on_supabase_is_as_secure(supabase_like: str) -> None:
    store = open_store(supabase_like, check_schema=False)
    store.migrate()
    store.close()
    with psycopg.connect(supabase_like, autocommit=True) as conn:
        for role in ("anon", "authenticated"):
            for table in POSTGRES_TABLES:
                conn.execute(f"SET ROLE {role}")
                try:
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(f"SELECT * FROM {table}")
                finally:
                    conn.execute("RESET ROLE")
