"""The maintenance handler and store.maintenance over both backends."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbcron.handlers.context import HandlerContext, HandlerTimedOut
from dbcron.handlers.maintenance import run
from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import Store, open_store
from dbcron.store.maintenance import maintenance_of
from dbcron.store.shared import close_shared_stores

S = ExecutionStatus


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    yield db_url
    close_shared_stores()


def add_job(store: Store, name: str, **fields: Any) -> Job:
    now = datetime.now(UTC)
    return store.insert_job(
        Job(
            name=name,
            job_type="shell",
            schedule_expression="0 * * * *",
            config={"command": ["true"]},
            created_at=now,
            updated_at=now,
            **fields,
        )
    )


def add_execution(
    store: Store, job: Job, days_ago: float, status: ExecutionStatus = S.SUCCESS
) -> str:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    execution = store.insert_execution(
        Execution(
            job_id=job.job_id,
            scheduled_for=at,
            status=status,
            created_at=at,
            started_at=None if status is S.PENDING else at,
            finished_at=at if status.is_final else None,
            duration_seconds=1.0 if status.is_final else None,
            logs="x" * 200,
        )
    )
    return execution.execution_id


def add_node(
    store: Store, node_id: str, *, stopped_days_ago: float | None, beat_days_ago: float
) -> None:
    now = datetime.now(UTC)
    enc = store._encode_ts  # type: ignore[attr-defined]
    values = {
        "node_id": node_id,
        "host": "host-a",
        "pid": 123,
        "version": "0.1.0",
        "started_at": enc(now - timedelta(days=beat_days_ago + 1)),
        "last_heartbeat": enc(now - timedelta(days=beat_days_ago)),
        "stopped_at": None
        if stopped_days_ago is None
        else enc(now - timedelta(days=stopped_days_ago)),
    }
    columns = ", ".join(values)
    if store.backend == "sqlite":
        marks = ", ".join(f":{k}" for k in values)
    else:
        marks = ", ".join(f"%({k})s" for k in values)
    with store.transaction() as cur:  # type: ignore[attr-defined]
        cur.execute(f"INSERT INTO scheduler_nodes ({columns}) VALUES ({marks})", values)


def make_ctx(url: str, config: dict[str, Any], timeout: float = 30.0) -> HandlerContext:
    job = Job(name="Maintenance", job_type="maintenance", schedule_expression="0 3 * * *")
    return HandlerContext(
        job=job,
        execution=Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)),
        config=config,
        logger=logging.getLogger("test.maintenance"),
        deadline=time.monotonic() + timeout,
        database_url=url,
    )


def surviving(store: Store) -> set[str]:
    return {e.execution_id for e in store.list_executions(limit=10_000)}


def test_prunes_old_rows_beyond_keep_last_and_never_pending_or_running(url: str) -> None:
    store = open_store(url)
    try:
        busy = add_job(store, "busy")
        recent = [add_execution(store, busy, d, S.FAILED) for d in (1, 2)]
        newest_old = add_execution(store, busy, 40)
        doomed = [
            add_execution(store, busy, d, s)
            for d, s in ((41, S.SUCCESS), (42, S.TIMEOUT), (43, S.MISSED), (44, S.CANCELLED))
        ]
        pending = add_execution(store, busy, 50, S.PENDING)
        running = add_execution(store, busy, 51, S.RUNNING)
        quiet = add_job(store, "quiet")
        quiet_old = [add_execution(store, quiet, d) for d in (100, 101)]
        add_node(store, "stopped-long-ago", stopped_days_ago=40, beat_days_ago=40)
        add_node(store, "stopped-yesterday", stopped_days_ago=1, beat_days_ago=1)
        add_node(store, "dead-never-stopped", stopped_days_ago=None, beat_days_ago=100)
        before = surviving(store)

        result = run(make_ctx(url, {"retention_days": 30, "keep_last": 3, "batch_size": 3}))

        assert result["deleted"] == {"job_executions": 4, "scheduler_nodes": 1}
        assert result["batches"] == 3  # 9 rows older than the cutoff, slices of 3
        assert result["optimized"] is True
        assert isinstance(result["bytes_reclaimed"], int)
        assert result["seconds"] >= 0
        after = surviving(store)
        assert after == before - set(doomed)
        assert {*recent, newest_old, pending, running, *quiet_old} <= after
        assert sorted(n.node_id for n in store.list_nodes()) == [
            "dead-never-stopped",
            "stopped-yesterday",
        ]
    finally:
        store.close()


def test_keep_last_zero_leaves_only_recent_and_unfinished_rows(url: str) -> None:
    store = open_store(url)
    try:
        job = add_job(store, "job")
        young = add_execution(store, job, 29)
        old = [add_execution(store, job, d) for d in (31, 60, 90)]
        running = add_execution(store, job, 90.5, S.RUNNING)
        result = run(make_ctx(url, {"retention_days": 30, "keep_last": 0, "optimize": False}))
        assert result["deleted"]["job_executions"] == len(old)
        assert result["optimized"] is False
        assert result["bytes_reclaimed"] is None
        assert surviving(store) == {young, running}
    finally:
        store.close()


def test_young_rows_survive_whatever_keep_last_says(url: str) -> None:
    store = open_store(url)
    try:
        job = add_job(store, "job")
        rows = {add_execution(store, job, d / 10) for d in range(1, 8)}
        result = run(make_ctx(url, {"retention_days": 1, "keep_last": 1}))
        assert result["deleted"]["job_executions"] == 0
        assert surviving(store) == rows
    finally:
        store.close()


def test_batches_are_separate_transactions_of_bounded_size(store: Store) -> None:
    job = add_job(store, "job")
    for d in range(40, 47):
        add_execution(store, job, d)
    seen: list[int] = []

    def stop_after_two_batches() -> bool:
        # every earlier batch is already committed when this is asked
        seen.append(len(store.list_executions(limit=100)))
        return len(seen) > 2

    partial = maintenance_of(store).prune_executions(
        retention_days=30, keep_last=0, batch_size=3, should_stop=stop_after_two_batches
    )
    assert (partial.deleted, partial.batches, partial.complete) == (6, 2, False)
    assert seen == [7, 4, 1]
    rest = maintenance_of(store).prune_executions(retention_days=30, keep_last=0, batch_size=3)
    assert (rest.deleted, rest.batches, rest.complete) == (1, 1, True)
    assert store.list_executions(limit=100) == []


def test_deadline_stops_pruning_as_a_timeout(url: str) -> None:
    store = open_store(url)
    try:
        job = add_job(store, "job")
        add_execution(store, job, 40)
        with pytest.raises(HandlerTimedOut, match="deleting 0 executions"):
            run(make_ctx(url, {"keep_last": 0}, timeout=0.5))
        assert len(store.list_executions()) == 1
    finally:
        store.close()


def test_optimize_reports_honestly(store: Store) -> None:
    outcome = maintenance_of(store).optimize()
    assert outcome.optimized is True
    assert outcome.bytes_reclaimed is not None and outcome.bytes_reclaimed >= 0
    if store.backend == "sqlite":
        # a file dbcron created can give space back: no "not incremental" note
        assert outcome.notes == []
    # the store still works in transactions afterwards (PostgreSQL: autocommit was reset)
    job = add_job(store, "after-vacuum")
    marker = "%(job_id)s" if store.backend == "postgresql" else ":job_id"

    def delete_then_fail() -> None:
        with store.transaction() as cur:  # type: ignore[attr-defined]
            cur.execute(f"DELETE FROM jobs WHERE job_id = {marker}", {"job_id": job.job_id})
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert store.get_job(job.job_id) is not None
    assert maintenance_of(store).optimize().optimized is True


def test_a_file_made_before_dbcron_says_it_cannot_shrink(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE made_by_someone_else (x)")
    conn.close()
    store = open_store(f"sqlite:///{path}", create=True, check_schema=False)
    store.migrate()
    try:
        outcome = maintenance_of(store).optimize()
        assert any("not incremental" in note for note in outcome.notes)
    finally:
        store.close()


def test_incremental_vacuum_shrinks_a_file_dbcron_created(tmp_path: Path) -> None:
    path = tmp_path / "incremental.db"
    url = f"sqlite:///{path}"
    store = open_store(url, create=True, check_schema=False)
    store.migrate()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
    try:
        job = add_job(store, "chatty")
        for d in range(40, 140):
            at = datetime.now(UTC) - timedelta(days=d)
            store.insert_execution(
                Execution(
                    job_id=job.job_id,
                    scheduled_for=at,
                    status=S.SUCCESS,
                    created_at=at,
                    logs="log line\n" * 2000,
                )
            )
        pruned = maintenance_of(store).prune_executions(retention_days=30, keep_last=0)
        assert pruned.deleted == 100
        outcome = maintenance_of(store).optimize()
        assert outcome.bytes_reclaimed is not None
        assert outcome.bytes_reclaimed > 1_000_000
        assert outcome.notes == []
    finally:
        store.close()


def test_postgres_history_tables_get_autovacuum_suited_to_churn(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        options = dict(
            conn.execute(
                "SELECT relname, reloptions FROM pg_class "
                "WHERE relname IN ('job_executions', 'jobs') AND relkind = 'r'"
            ).fetchall()
        )
    assert "autovacuum_vacuum_scale_factor=0.01" in options["job_executions"]
    assert "autovacuum_vacuum_insert_scale_factor=0.02" in options["job_executions"]
    assert "autovacuum_vacuum_scale_factor=0.05" in options["jobs"]


def test_a_jobs_own_retention_overrides_the_maintenance_policy(store: Store) -> None:
    plain = add_job(store, "plain")
    short = add_job(store, "short", retention_days=3)
    long = add_job(store, "long", retention_days=60)
    hoarder = add_job(store, "hoarder", keep_last=5)
    days = (1, 2, 4, 5, 10, 20, 35, 40, 70)
    rows = {
        job.name: {d: add_execution(store, job, d) for d in days}
        for job in (plain, short, long, hoarder)
    }
    running = add_execution(store, short, 9, S.RUNNING)
    result = maintenance_of(store).prune_executions(retention_days=30, keep_last=2, batch_size=2)
    kept = surviving(store)
    assert {d for d, e in rows["plain"].items() if e in kept} == {1, 2, 4, 5, 10, 20}
    # 3 days, but its newest 2 always stay (the policy's keep_last)
    assert {d for d, e in rows["short"].items() if e in kept} == {1, 2}
    assert {d for d, e in rows["long"].items() if e in kept} == {1, 2, 4, 5, 10, 20, 35, 40}
    # its own keep_last 5 beats the policy's 2; 30 days still apply beyond those
    assert {d for d, e in rows["hoarder"].items() if e in kept} == {1, 2, 4, 5, 10, 20}
    assert running in kept
    assert result.complete and result.deleted == 3 + 7 + 1 + 3
