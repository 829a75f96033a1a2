"""The hot read queries use their index on a populated database (issue 11): a change
cannot quietly turn one job's history into a walk over every execution."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import open_store
from dbcron.store.base import SqlStore

#: A job's history is 1% of the table: reading it in time order over every job would be
#: the wrong plan.
JOBS, ROWS = 100, 4000


def _populate(url: str) -> tuple[SqlStore, str]:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    now = datetime.now(UTC)
    jobs = [
        store.insert_job(
            Job(
                name=f"j{n}",
                job_type="shell",
                schedule_expression="* * * * *",
                config={},
                created_at=now,
                updated_at=now,
            )
        )
        for n in range(JOBS)
    ]
    store.insert_executions(
        [
            Execution(
                job_id=jobs[n % JOBS].job_id,
                scheduled_for=now - timedelta(minutes=n),
                status=ExecutionStatus.SUCCESS,
                created_at=now - timedelta(minutes=n),
                finished_at=now - timedelta(minutes=n),
                duration_seconds=1.0,
            )
            for n in range(ROWS)
        ]
    )
    return store, jobs[0].job_id


def test_one_jobs_history_and_statistics_use_the_history_index_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    store, job_id = _populate_migrated(url)
    try:
        params = {"job_id": job_id, "status": None, "limit": 20, "since": "2000-01-01"}
        conn = sqlite3.connect(tmp_path / "plans.db")
        conn.execute("ANALYZE")
        # The statistics ANALYZE gives the table at W5's 1,000,000 executions of 10,000
        # jobs, where the planner chose to walk the created_at index for one job.
        conn.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'job_executions'")
        conn.executemany(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('job_executions', ?, ?)",
            [
                ("job_executions_active_idx", "200 1 1"),
                ("job_executions_next_run_idx", "100 100"),
                ("job_executions_queue_idx", "100 100 100"),
                ("job_executions_created_idx", "1000000 2"),
                ("job_executions_lease_idx", "100 1"),
                ("job_executions_history_idx", "1000000 100 1"),
                ("sqlite_autoindex_job_executions_1", "1000000 1"),
                ("sqlite_autoindex_job_executions_2", "1000000 100 1 1"),
            ],
        )
        conn.commit()
        conn.close()
        conn = sqlite3.connect(tmp_path / "plans.db")  # the planner reads them on open
        for name in (
            "list_executions_of_job",
            "execution_counts_of_job",
            "execution_durations_of_job",
        ):
            plan = " | ".join(
                row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + store.sql(name), params)
            )
            assert "job_executions_history_idx" in plan, (name, plan)
        conn.close()
        assert len(store.list_executions(job_id=job_id, limit=500)) == ROWS // JOBS
        assert store.job_stats(datetime(2000, 1, 1, tzinfo=UTC), job_id).success == ROWS // JOBS
    finally:
        store.close()


def test_one_jobs_history_uses_an_index_on_postgres(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("TRUNCATE job_executions, jobs, scheduler_nodes CASCADE")
    store, job_id = _populate(pg_url)
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("ANALYZE job_executions")
            params = {"job_id": job_id, "status": None, "limit": 20}
            plan = "\n".join(
                str(row[0])
                for row in conn.execute("EXPLAIN " + store.sql("list_executions_of_job"), params)
            )
        assert "job_executions_history_idx" in plan, plan
        assert len(store.list_executions(job_id=job_id, limit=500)) == ROWS // JOBS
    finally:
        store.close()


def _populate_migrated(url: str) -> tuple[SqlStore, str]:
    store = open_store(url, create=True, check_schema=False)
    store.migrate()
    store.close()
    return _populate(url)
