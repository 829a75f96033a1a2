"""The hot read queries use their index on a populated database (issue 11): a change
cannot quietly turn a page of history, a job's statistics or ``status`` into a walk over
every execution.

SQLite: a small database whose planner statistics (``sqlite_stat1``) are those ANALYZE
gave W5's 1,000,000 executions of 10,000 jobs, so that the planner chooses as it would
there. PostgreSQL: 100,000 executions of 2,000 jobs over 30 days, ANALYZEd; the planner's
own choice (no ``enable_seqscan`` tricks).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import open_store
from dbcron.store.base import SqlStore

NOW = datetime.now(UTC)

#: Query -> the index its plan must use (or one of several: partial indexes of the same
#: rows). Every hot read of the CLI, the API and status.
HOT_QUERIES: dict[str, str | tuple[str, ...]] = {
    "list_executions": "job_executions_window_idx",
    "list_executions_before": "job_executions_window_idx",
    "list_executions_of_job": "job_executions_history_idx",
    "list_executions_of_job_before": "job_executions_history_idx",
    "last_results": "job_executions_history_idx",
    "list_unfinished": ("job_executions_active_idx", "job_executions_lease_idx"),
    "list_unfinished_before": ("job_executions_active_idx", "job_executions_lease_idx"),
    "window_stats": "job_executions_window_idx",
    "failing_jobs": "job_executions_failures_idx",
    "stats_of_jobs": "job_executions_history_idx",
    "p95_of_jobs": "job_executions_history_idx",
    "count_unfinished": "job_executions_",
    "next_jobs_to_fire": "jobs_due_idx",
    "list_jobs": "jobs_list_idx",
    "list_jobs_after": "jobs_list_idx",
    "count_jobs_after": "jobs_list_idx",
    "maintenance_prune_slice_end": "job_executions_window_idx",
    "maintenance_prune_executions": "job_executions_history_idx",
    "maintenance_prune_job_slice_end": "job_executions_history_idx",
    "maintenance_prune_job_executions": "job_executions_history_idx",
}
#: SQLite plan steps that may SCAN: an index in order, the id list, a subquery's rows.
SCAN_OK = ("INDEX", "ids", "subquery", "kept")


def _expected(name: str) -> tuple[str, ...]:
    index = {**HOT_QUERIES, **SQLITE_ONLY}[name]
    return index if isinstance(index, tuple) else (index,)


#: Parameters a query needs other than the common ones.
OWN_PARAMS = {
    "list_unfinished": {"status": "running"},
    "list_unfinished_before": {"status": "running"},
}
SQLITE_ONLY: dict[str, str | tuple[str, ...]] = {"window_p95": "job_executions_window_idx"}

#: What ANALYZE wrote for W5's 1M-execution SQLite database.
W5_STATS = [
    ("job_executions", "job_executions_active_idx", "200 1 1"),
    ("job_executions", "job_executions_failures_idx", "67946 1 1"),
    ("job_executions", "job_executions_history_idx", "1000000 100 1"),
    ("job_executions", "job_executions_lease_idx", "100 1"),
    ("job_executions", "job_executions_next_run_idx", "100 100"),
    ("job_executions", "job_executions_queue_idx", "100 100 100"),
    ("job_executions", "job_executions_window_idx", "1000000 2 2 1"),
    ("job_executions", "sqlite_autoindex_job_executions_1", "1000000 1"),
    ("job_executions", "sqlite_autoindex_job_executions_2", "1000000 100 1 1"),
    ("jobs", "jobs_due_idx", "10000 2500 7"),
    ("jobs", "jobs_list_idx", "10000 10000 1 1"),
    ("jobs", "sqlite_autoindex_jobs_1", "10000 1"),
]


def _populate(store: SqlStore, jobs: int, rows: int) -> dict[str, Any]:
    """``jobs`` jobs and ``rows`` executions spread over 30 days; the parameters of a
    page deep in the history of the first job."""
    made = [
        store.insert_job(
            Job(
                name=f"j{n}",
                job_type="shell",
                schedule_expression="* * * * *",
                config={},
                created_at=NOW,
                updated_at=NOW,
                next_execution=NOW + timedelta(minutes=n),
            )
        )
        for n in range(jobs)
    ]
    step = timedelta(days=30) / rows
    for first in range(0, rows, 10_000):
        store.insert_executions(
            [
                Execution(
                    job_id=made[n % jobs].job_id,
                    scheduled_for=NOW - n * step,
                    status=ExecutionStatus.SUCCESS,
                    created_at=NOW - n * step,
                    finished_at=NOW - n * step,
                    duration_seconds=1.0 + n % 7,
                )
                for n in range(first, min(rows, first + 10_000))
            ]
        )
    job_id = made[0].job_id
    deep = store.list_executions(job_id, limit=rows // jobs // 2)[-1]
    return {
        "job_id": job_id,
        "status": None,
        "job_type": None,
        "limit": 20,
        "since": store.encode_ts(NOW - timedelta(hours=24)),
        "before": deep.execution_id,
        "after": made[jobs // 2].job_id,
        "ids": _ids(store, [job_id, made[1].job_id]),
        "offset": 10,
        "walked_to": store.encode_ts(NOW - timedelta(days=31)),
        "cutoff": store.encode_ts(NOW - timedelta(days=29)),
        "slice_end": store.encode_ts(NOW - timedelta(days=29, hours=23)),
        "batch_size": 1000,
        "keep_last": 100,
        "count_limit": 100,
        "now": store.encode_ts(NOW),
        "walk_until": store.encode_ts(NOW - timedelta(days=29)),
    }


def _ids(store: SqlStore, ids: list[str]) -> str:
    """A list of ids as the backend's queries take it (JSON on SQLite, text[] on PG)."""
    return json.dumps(ids) if store.backend == "sqlite" else "{" + ",".join(ids) + "}"


def test_hot_queries_use_their_index_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    store = open_store(f"sqlite:///{path}", create=True, check_schema=False)
    store.migrate()
    assert isinstance(store, SqlStore)
    try:
        params = _populate(store, jobs=100, rows=4000)
        conn = sqlite3.connect(path)
        conn.execute("ANALYZE")
        conn.execute("DELETE FROM sqlite_stat1 WHERE tbl IN ('jobs', 'job_executions')")
        conn.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", W5_STATS)
        conn.commit()
        conn.close()
        conn = sqlite3.connect(path)  # the planner reads the statistics on open
        for name in {**HOT_QUERIES, **SQLITE_ONLY}:
            own = {**params, **OWN_PARAMS.get(name, {})}
            plan = " | ".join(
                row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + store.sql(name), own)
            )
            assert any(expected in plan for expected in _expected(name)), (name, plan)
            # "SCAN e USING INDEX" walks an index in order (a LIMITed page); a SCAN of a
            # table without an index reads every row.
            table_scans = [
                step
                for step in plan.split(" | ")
                if step.startswith("SCAN") and not any(ok in step for ok in SCAN_OK)
            ]
            assert not table_scans, (name, plan)
        conn.close()
    finally:
        store.close()


@pytest.fixture(scope="module")
def populated_pg(make_pg_database: Any) -> Iterator[tuple[SqlStore, str, dict[str, Any]]]:
    url = make_pg_database()
    store = open_store(url, check_schema=False)
    store.migrate()
    assert isinstance(store, SqlStore)
    params = _populate(store, jobs=2000, rows=100_000)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE job_executions")
        conn.execute("VACUUM ANALYZE jobs")
    yield store, url, params
    store.close()


@pytest.mark.parametrize("name", sorted(HOT_QUERIES))
def test_hot_queries_use_their_index_on_postgres(populated_pg: Any, name: str) -> None:
    store, url, params = populated_pg
    with psycopg.connect(url, autocommit=True) as conn:
        own = {**params, **OWN_PARAMS.get(name, {})}
        plan = "\n".join(str(row[0]) for row in conn.execute("EXPLAIN " + store.sql(name), own))
    assert any(index in plan for index in _expected(name)), plan
    assert "Seq Scan on job_executions" not in plan, plan
    if name.endswith(("_before", "_after")):
        # the cursor bounds the index range: joined instead, the walk started at the top
        # and filtered every row above the cursor (578 ms half-way down W5's history)
        assert "Join Filter" not in plan, plan
