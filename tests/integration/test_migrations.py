"""Schema migrations: from empty, step by step, concurrently, and version checks."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbcron.errors import SchemaError
from dbcron.models import Execution, Job
from dbcron.store import check_current, open_store
from dbcron.store.sqlfiles import load_migrations

SPEC_JOBS = [
    "job_id",
    "name",
    "job_type",
    "schedule_expression",
    "config",
    "status",
    "description",
    "timeout_seconds",
    "retry_count",
    "retry_delay_seconds",
    "created_at",
    "updated_at",
    "last_execution",
    "next_execution",
]
SPEC_EXECUTIONS = [
    "execution_id",
    "job_id",
    "status",
    "started_at",
    "finished_at",
    "duration_seconds",
    "result",
    "error_message",
    "retry_attempt",
    "logs",
    "created_at",
]


def describe(url: str) -> dict[str, Any]:
    """Tables, columns, indexes and constraints of a database, comparable across runs."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            objects = sorted(
                conn.execute(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master "
                    "WHERE name NOT LIKE 'sqlite_%' AND name <> 'dbcron_schema_version'"
                )
            )
            columns = {
                table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
                for kind, table, _, _ in objects
                if kind == "table"
            }
        finally:
            conn.close()
        return {"objects": objects, "columns": columns}
    with psycopg.connect(url.split("?")[0]) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name <> 'dbcron_schema_version' ORDER BY table_name, ordinal_position"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column, *_ in cols:
        columns.setdefault(table, []).append(column)
    return {"cols": cols, "indexes": indexes, "constraints": constraints, "columns": columns}


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(
    request: pytest.FixtureRequest, tmp_path: Path, make_pg_database: Callable[[], str]
) -> Callable[[], str]:
    counter = iter(range(1000))

    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite'}"
        return make_pg_database()

    return make


def test_step_by_step_equals_all_at_once(fresh_url: Callable[[], str]) -> None:
    at_once = fresh_url()
    store = open_store(at_once, create=True, check_schema=False)
    assert store.migrate() == list(range(1, store.latest_version() + 1))
    store.close()
    dialect = "sqlite" if at_once.startswith("sqlite") else "postgres"
    migrations = load_migrations(dialect)
    for stop in range(len(migrations) + 1):
        stepwise = fresh_url()
        store = open_store(stepwise, create=True, check_schema=False)
        for version, name, sql in migrations[:stop]:
            assert store._apply_migration(version, name, sql)  # type: ignore[attr-defined]
        assert store.schema_version() == stop
        assert store.migrate() == list(range(stop + 1, len(migrations) + 1))
        check_current(store)
        store.close()
        assert describe(stepwise) == describe(at_once)


def test_schema_has_every_specified_and_modelled_column(db_url: str) -> None:
    columns = describe(db_url)["columns"]
    assert set(SPEC_JOBS) <= set(columns["jobs"])
    assert set(SPEC_EXECUTIONS) <= set(columns["job_executions"])
    assert set(columns["jobs"]) == {f.name for f in fields(Job)}
    assert set(columns["job_executions"]) == {f.name for f in fields(Execution)}
    assert "scheduler_nodes" in columns


def test_concurrent_init_is_safe(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    errors: list[BaseException] = []
    applied: list[list[int]] = []
    barrier = threading.Barrier(4, timeout=60)

    def init() -> None:
        try:
            store = open_store(url, create=True, check_schema=False)
            barrier.wait()
            applied.append(store.migrate())
            store.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=init) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(v for run in applied for v in run) == list(
        range(1, len(load_migrations("sqlite" if url.startswith("sqlite") else "postgres")) + 1)
    )


def test_version_checks(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    store = open_store(url, create=True, check_schema=False)
    with pytest.raises(SchemaError, match="run `dbcron init`"):
        check_current(store)
    store.migrate()
    check_current(store)
    with store.transaction() as cur:  # type: ignore[attr-defined]
        cur.execute(
            store.sql("record_version"),  # type: ignore[attr-defined]
            {"version": 999, "name": "future", "applied_at": store._encode_ts(store.clock.now())},  # type: ignore[attr-defined]
        )
    with pytest.raises(SchemaError, match="newer than this dbcron understands"):
        check_current(store)
    store.close()


def test_opening_a_new_sqlite_file_waits_while_another_connection_writes(
    tmp_path: Path,
) -> None:
    """Switching a file to WAL while another connection holds a write lock is answered
    "database is locked" at once, without SQLite's busy handler (several processes or
    threads running `dbcron init` on a new file meet this; in CI it hung the concurrent
    init test). Opening waits until the lock is released instead of failing."""
    path = tmp_path / "new.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE scratch (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO scratch VALUES (1)")
    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    release.start()
    try:
        store = open_store(f"sqlite:///{path}", create=True, check_schema=False)
        assert store.migrate()
        store.close()
    finally:
        release.join(10)
        other.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
