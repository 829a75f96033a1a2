"""W5 scale: 100,000 jobs and 10,000,000 executions (issue #11); what reading it costs.

Build. The schema is dbcron's own (``open_store(url, create=True)``, ``migrate()``). Jobs
go in through the store's ``insert_job`` query (``bulk_insert_jobs``); executions are
generated in Python and bulk-loaded: SQLite on one connection with ``synchronous=OFF``,
``journal_mode=DELETE`` and ``executemany`` in transactions of 250,000 rows; PostgreSQL
with ``COPY ... FROM STDIN`` (psycopg ``cursor.copy()``, triggers off during the load).
The secondary indexes of ``job_executions`` are dropped before the load and recreated
from their own definitions afterwards (the constraint indexes stay). Execution ids are
uuid-shaped but increase with the row number (random ids would only slow the load).

Data. Jobs: 5% "heavy" (10x the mean count of executions, ``@every 45m``), 20% medium
(2x, ``0 */4 * * *``), 75% light (the rest: daily, weekdays, ``@every 2d``); five time
zones; 85% active, 7% paused, 5% inactive, 3% deleted. Each job's executions are evenly
spaced over the 31 days before the build (so that a 30-day retention has one day to
delete): 90% success (a small JSON result), 5% failed, 2% timeout, 2.5% missed (never
started), a third of failures/timeouts followed by a retry row (``retry_attempt`` 1,
trigger ``retry``); a job's newest row is ``running`` or ``pending`` for 1 job in 50.
Logs: 30% none, 50% 50-200 bytes, 15% 200-1,000, 5% 1-2 KiB. The built databases are kept
in ``.bench/w5/<key>/`` (SQLite file, ``meta.json``) and as PostgreSQL database
``dbcron_w5_<key>``; ``meta.json`` is written last, so a half-built database is rebuilt.

Measure. Each CLI command runs as ``python -m dbcron --db URL ...`` subprocesses: one
warm-up, then ``runs`` timed runs, each with a time limit (a command that hits it is
recorded as not finished and not retried). Separately, the same manager call the command
makes (``status_report``, ``list_jobs``, ``history``, ``get_job`` + ``history`` +
``next_fires``) is timed in a child process that has already opened the store: that is
the database's work plus turning rows into objects, without the interpreter's start-up
and imports. The maintenance pass (``prune_executions`` with retention 30 days,
``keep_last`` 0, batches of 1,000, then ``optimize``, as the ``maintenance`` handler
does) runs once per built database, with a deadline, timing every batch (each batch is
one write transaction: the longest is how long a scheduler can be locked out). W1 with
history: 5,000 yearly no-op jobs are added to the built database, made due at once and
run by a thread-mode scheduler (32 workers), then removed with their executions; the same
code on a fresh empty database is the baseline (rate and claim latency, median of 3).
The measured subprocesses run the committed code (``git archive HEAD src``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import (
    PG_ADMIN_URL,
    PYTHON,
    REPO,
    _pg_url_for,
    bulk_insert_jobs,
    child_env,
    median,
    percentile,
)
from dbcron.models import Job, JobStatus, SchedulerNode
from dbcron.store import open_store

#: Where built databases are kept between runs (git-ignored).
CACHE = REPO / ".bench" / "w5"
#: Bump when the generated data or the schema changes, so that old caches are not reused.
DATA_VERSION = 3
FULL = (100_000, 10_000_000)
SMALL = (10_000, 1_000_000)
SPAN_DAYS = 31
#: The issue's targets.
TARGETS = {
    "db_p95_ms": 50.0,
    "cli_p95_ms": 500.0,
    "maintenance_batch_max_ms": 100.0,
    "w1_and_claim_within": 0.10,
}
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
LIGHT_SCHEDULES = ("0 3 * * *", "30 9 * * 1-5", "@every 2d", "15 */12 * * *")
EXEC_COLUMNS = (
    "execution_id", "job_id", "status", "started_at", "finished_at", "duration_seconds",
    "result", "error_message", "retry_attempt", "logs", "created_at", "scheduled_for",
    "trigger", "run_after", "node_id", "lease_expires_at", "fencing_token", "priority",
)  # fmt: skip
_LOG_LINE = (
    "2026-01-01 00:00:00,000 INFO  worker: fetched 128 rows from upstream in 0.42s; "
    "writing batch to sink (attempt 1)\n"
)
_LOG_TEXT = (_LOG_LINE * 40)[:4096]
ERRORS = (
    "RuntimeError: upstream returned HTTP 503",
    "ValueError: could not parse row 17",
    "ConnectionError: [Errno 111] Connection refused",
)


def _mix(*values: int) -> int:
    """A cheap deterministic hash of integers (0 <= result < 2**32)."""
    h = 2166136261
    for v in values:
        h = ((h ^ (v & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
        h ^= h >> 13
    return h


# -- the data ---------------------------------------------------------------------------


def job_class(j: int) -> str:
    """heavy, medium or light."""
    r = j % 20
    return "heavy" if r == 0 else "medium" if r <= 4 else "light"


def job_counts(jobs: int, executions: int) -> list[int]:
    """Executions per job, summing to exactly ``executions``."""
    mean = executions / jobs
    factor = {"heavy": 10.0, "medium": 2.0, "light": 0.1 / 0.75}
    counts = [int(mean * factor[job_class(j)]) for j in range(jobs)]
    left = executions - sum(counts)
    j = 0
    while left > 0:  # the remainder goes to the heavy jobs first, then to anyone
        if job_class(j % jobs) == "heavy" or left < jobs // 20:
            counts[j % jobs] += 1
            left -= 1
        j += 1
    return counts


def make_w5_jobs(jobs: int, anchor: datetime) -> list[Job]:
    """The jobs (schedules, zones and states mixed)."""
    out = []
    created = anchor - timedelta(days=SPAN_DAYS + 1)
    for j in range(jobs):
        klass = job_class(j)
        schedule = (
            "@every 45m"
            if klass == "heavy"
            else "0 */4 * * *"
            if klass == "medium"
            else LIGHT_SCHEDULES[j % len(LIGHT_SCHEDULES)]
        )
        s = (j * 7) % 100
        status = (
            JobStatus.ACTIVE
            if s < 85
            else JobStatus.PAUSED
            if s < 92
            else JobStatus.INACTIVE
            if s < 97
            else JobStatus.DELETED
        )
        out.append(
            Job(
                name=f"w5-{klass}-{j:06d}",
                job_type="python",
                schedule_expression=schedule,
                config={"callable": "benchmarks.handlers:noop", "args": [j % 7]},
                status=status,
                timezone=ZONES[j % len(ZONES)],
                timeout_seconds=60,
                retry_count=1 if j % 3 == 0 else 0,
                retry_delay_seconds=30,
                version=1,
                created_at=created,
                updated_at=created,
                last_execution=anchor - timedelta(minutes=j % 60),
                next_execution=(
                    anchor + timedelta(days=400, minutes=j % 1440)
                    if status is JobStatus.ACTIVE
                    else None
                ),
            )
        )
    return out


class _TimeText:
    """UTC timestamps as dbcron's SQLite text (also valid PostgreSQL input), fast."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def __call__(self, t: float) -> str:
        whole = int(t)
        micro = int((t - whole) * 1_000_000)
        minute = whole // 60
        prefix = self._minutes.get(minute)
        if prefix is None:
            prefix = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
            self._minutes[minute] = prefix
        return f"{prefix}{whole % 60:02d}.{micro:06d}Z"


def _logs(h: int) -> str | None:
    r = h % 100
    if r < 30:
        return None
    size = 50 + h % 151 if r < 80 else 200 + h % 801 if r < 95 else 1024 + h % 1025
    start = (h >> 8) % 1024
    return _LOG_TEXT[start : start + size]


def execution_rows(job_ids: list[str], counts: list[int], anchor: datetime) -> Iterator[tuple]:
    """Every execution row, job by job, oldest first (column order of EXEC_COLUMNS)."""
    ts = _TimeText()
    end = anchor.timestamp()
    span = SPAN_DAYS * 86400.0
    seq = 0
    for j, (job_id, n) in enumerate(zip(job_ids, counts, strict=True)):
        if n == 0:
            continue
        spacing = span / n
        phase = (_mix(j) % 1000) / 1000.0 * spacing
        prev_failed: tuple[float, float, int] | None = None  # scheduled, finished, attempt
        for k in range(n):
            seq += 1
            h = _mix(j, k)
            slot = end - span + phase + k * spacing
            attempt, trigger = 0, "schedule"
            scheduled = float(int(slot))
            created = scheduled
            if prev_failed is not None and h % 3 == 0:  # a retry of the previous row
                scheduled, finished_prev, attempt = prev_failed
                attempt += 1
                trigger = "retry"
                created = finished_prev + 30.0
            run_after = created
            r = (h >> 4) % 1000
            last = k == n - 1
            started = finished = duration = None
            result = error = logs = lease = node = None
            if last and j % 50 == 0:
                status = "running" if j % 100 == 0 else "pending"
            elif r < 900:
                status = "success"
            elif r < 950:
                status = "failed"
            elif r < 970:
                status = "timeout"
            else:
                status = "missed"
            if status == "pending":
                run_after = end + 86400.0 * 400  # never due during the benchmark
            elif status != "missed":
                started = created + 0.005 + (h % 500) / 1000.0
                node = "node-a" if h % 2 else "node-b"
                if status == "running":
                    lease = started + 60.0
                else:
                    d = (h >> 12) % 1000
                    duration = (
                        60.0 if status == "timeout" else 0.02 + d / 200.0 if d < 950 else d / 4.0
                    )
                    finished = started + duration
                    logs = _logs(h >> 3)
                    if status == "success":
                        result = f'{{"rows": {h % 5000}, "ok": true}}'
                    else:
                        error = ERRORS[h % 3] if status == "failed" else "timed out after 60 s"
            prev_failed = (
                (scheduled, finished or created, attempt)
                if status in ("failed", "timeout") and attempt == 0
                else None
            )
            yield (
                f"{seq:08x}-{(seq >> 32) & 0xFFFF:04x}-4{h % 4096:03x}-8{j % 4096:03x}-"
                f"{_mix(seq, 7) * 65536 + (h & 0xFFFF):012x}",
                job_id,
                status,
                ts(started) if started is not None else None,
                ts(finished) if finished is not None else None,
                round(duration, 3) if duration is not None else None,
                result,
                error,
                attempt,
                logs,
                ts(created),
                ts(scheduled),
                trigger,
                ts(run_after),
                node,
                ts(lease) if lease is not None else None,
                1 if started is not None else 0,
                0,
            )


# -- building ---------------------------------------------------------------------------


def cache_key(jobs: int, executions: int) -> str:
    """The folder / database name part that identifies a size."""
    return f"j{jobs}_e{executions}_v{DATA_VERSION}"


def _pg_name(key: str) -> str:
    return f"dbcron_w5_{key}"


def db_url(backend: str, key: str) -> str:
    """The URL of the built database."""
    if backend == "sqlite":
        return f"sqlite:///{CACHE / key / 'dbcron.db'}"
    return _pg_url_for(_pg_name(key))


def _meta_path(backend: str, key: str) -> Path:
    return CACHE / key / f"meta-{backend}.json"


def load_meta(backend: str, key: str) -> dict[str, Any] | None:
    """What the build recorded (None if there is no complete build)."""
    path = _meta_path(backend, key)
    if not path.exists():
        return None
    meta: dict[str, Any] = json.loads(path.read_text())
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (_pg_name(key),)
            ).fetchone()
        if row is None:
            return None
    return meta


def save_meta(backend: str, key: str, meta: dict[str, Any]) -> None:
    """Record ``meta`` (written last: its presence means the build is complete)."""
    _meta_path(backend, key).write_text(json.dumps(meta, indent=2, default=str))


def build(backend: str, jobs: int, executions: int) -> dict[str, Any]:
    """Build the database for this size (reusing a complete earlier build)."""
    key = cache_key(jobs, executions)
    meta = load_meta(backend, key)
    if meta is not None:
        meta["reused"] = True
        return meta
    folder = CACHE / key
    folder.mkdir(parents=True, exist_ok=True)
    url = db_url(backend, key)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                (folder / f"dbcron.db{suffix}").unlink()
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_pg_name(key)}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{_pg_name(key)}"')
    anchor = datetime.now(UTC).replace(second=0, microsecond=0)
    t0 = time.perf_counter()
    store = open_store(url, create=True, check_schema=False)
    try:
        store.migrate()
        job_list = make_w5_jobs(jobs, anchor)
        jobs_s = bulk_insert_jobs(store, job_list)
    finally:
        store.close()
    counts = job_counts(jobs, executions)
    rows = execution_rows([j.job_id for j in job_list], counts, anchor)
    t1 = time.perf_counter()
    if backend == "sqlite":
        index_s = _load_sqlite(url[len("sqlite:///") :], rows)
    else:
        index_s = _load_postgres(url, rows)
    total = time.perf_counter() - t0
    meta = {
        "backend": backend,
        "key": key,
        "jobs": jobs,
        "executions": executions,
        "anchor": anchor.isoformat(),
        "built_at": datetime.now(UTC).isoformat(),
        "build_seconds": round(total, 1),
        "jobs_insert_seconds": round(jobs_s, 1),
        "executions_load_seconds": round(time.perf_counter() - t1 - index_s, 1),
        "index_seconds": round(index_s, 1),
        "sample_job": {  # a heavy job (the light one is looked up by name)
            "job_id": job_list[0].job_id,
            "name": job_list[0].name,
            "schedule": job_list[0].schedule_expression,
            "timezone": job_list[0].timezone,
            "executions": counts[0],
        },
        "reused": False,
    }
    save_meta(backend, key, meta)
    return meta


def _load_sqlite(path: str, rows: Iterator[tuple]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'job_executions' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        insert = (
            f"INSERT INTO job_executions ({', '.join(EXEC_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(EXEC_COLUMNS))})"
        )
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 250_000:
                conn.execute("BEGIN")
                conn.executemany(insert, batch)
                conn.execute("COMMIT")
                batch.clear()
        if batch:
            conn.execute("BEGIN")
            conn.executemany(insert, batch)
            conn.execute("COMMIT")
        t = time.perf_counter()
        for _, text in indexes:
            conn.execute(text)
        conn.execute("ANALYZE")
        index_s = time.perf_counter() - t
        conn.execute("PRAGMA journal_mode=WAL")
        return index_s
    finally:
        conn.close()


def _load_postgres(url: str, rows: Iterator[tuple]) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = 'job_executions' AND i.indexname NOT IN ("
            "  SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conindid"
            "  WHERE k.conrelid = 'job_executions'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("ALTER TABLE job_executions DISABLE TRIGGER ALL")
        try:
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY job_executions ({', '.join(EXEC_COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        finally:
            conn.execute("ALTER TABLE job_executions ENABLE TRIGGER ALL")
        t = time.perf_counter()
        for _, text in indexes:
            conn.execute(text)
        conn.execute("VACUUM (ANALYZE) job_executions")
        conn.execute("VACUUM (ANALYZE) jobs")
        return time.perf_counter() - t


def _job_id(backend: str, key: str, name: str) -> str:
    """The id of the job called ``name`` in the built database."""
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(str(CACHE / key / "dbcron.db"))) as conn:
            row = conn.execute("SELECT job_id FROM jobs WHERE name = ?", (name,)).fetchone()
    else:
        with psycopg.connect(db_url(backend, key), autocommit=True) as conn:
            row = conn.execute("SELECT job_id FROM jobs WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def _deep_execution(backend: str, key: str) -> str:
    """An execution half-way down the history (15 of its 31 days): a deep page cursor."""
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(str(CACHE / key / "dbcron.db"))) as conn:
            row = conn.execute(
                "SELECT execution_id FROM job_executions WHERE created_at <= ("
                "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', min(created_at), '+15 days') "
                "FROM job_executions) ORDER BY created_at DESC LIMIT 1"
            ).fetchone()
    else:
        with psycopg.connect(db_url(backend, key), autocommit=True) as conn:
            row = conn.execute(
                "SELECT execution_id FROM job_executions WHERE created_at <= ("
                "SELECT min(created_at) + interval '15 days' FROM job_executions) "
                "ORDER BY created_at DESC LIMIT 1"
            ).fetchone()
    assert row is not None
    return str(row[0])


def db_size(backend: str, key: str) -> dict[str, Any]:
    """The database's size in bytes (SQLite: the file and its WAL)."""
    if backend == "sqlite":
        base = CACHE / key / "dbcron.db"
        wal = Path(str(base) + "-wal")
        return {
            "bytes": base.stat().st_size,
            "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        }
    with psycopg.connect(db_url(backend, key), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), "
            "pg_total_relation_size('job_executions'), pg_relation_size('job_executions')"
        ).fetchone()
    assert row is not None
    return {"bytes": row[0], "job_executions_bytes": row[1], "job_executions_heap_bytes": row[2]}


# -- timing in a child process ----------------------------------------------------------


def _child_main(argv: list[str]) -> None:
    """``python -m benchmarks.w5_scale OP URL RUNS ...``: time store calls, one JSON line
    per call (``{"ms": ...}``), flushed, so that the parent can stop waiting."""
    op, url, runs = argv[0], argv[1], int(argv[2])
    from dbcron.manager import JobManager

    if op == "w1":
        print(json.dumps({"ready": True}), flush=True)
        print(json.dumps(_w1_burst(url, argv[3], runs)), flush=True)
        return
    store = open_store(url)
    manager = JobManager(store)
    print(json.dumps({"ready": True}), flush=True)
    if op == "maintenance":
        _child_maintenance(store, datetime.fromisoformat(argv[3]), float(argv[4]))
        return
    job = argv[3] if len(argv) > 3 else None
    queries = manager.queries
    calls = {
        "status": lambda: manager.status_report(),
        "list": lambda: manager.jobs_page(),
        "list_paused": lambda: manager.jobs_page(status="paused"),
        "list_deep": lambda: manager.jobs_page(after=job),
        "history": lambda: manager.history(None, limit=20),
        "history_deep": lambda: queries.history_page(None, limit=20, before=job),
        "history_job": lambda: manager.history(job, limit=20),
        "show": lambda: (
            manager.next_fires(manager.get_job(job), 5),
            manager.history(job, limit=10),
        ),
    }
    call = calls[op]
    for _ in range(runs + 1):  # the first is the warm-up
        t = time.perf_counter()
        call()
        print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)


class _WriteProbe(threading.Thread):
    """What a scheduler sharing the database sees during maintenance: a scheduler node's
    heartbeat (a real write transaction of the engine) every 20 ms, each timed from its
    start to its commit: the longest is the longest a claim would have been held up."""

    def __init__(self, store: Any) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.waits: list[float] = []
        self.done = threading.Event()
        self.node = SchedulerNode(
            node_id=f"w5-probe-{os.getpid()}",
            host="bench",
            pid=os.getpid(),
            version="bench",
            started_at=datetime.now(UTC),
            last_heartbeat=datetime.now(UTC),
        )
        store.register_node(self.node)

    def run(self) -> None:
        """Heartbeat until told to finish."""
        while not self.done.wait(0.02):
            t = time.perf_counter()
            self.store.heartbeat_node(self.node.node_id, datetime.now(UTC))
            self.waits.append((time.perf_counter() - t) * 1000)

    def finish(self) -> list[float]:
        """Stop, remove the probe's node row, return every write's milliseconds."""
        self.done.set()
        self.join()
        self.store.stop_node(self.node.node_id, datetime.now(UTC))
        return self.waits


def _child_maintenance(store: Any, now: datetime, limit: float) -> None:
    maintenance = store.capabilities().maintenance
    marks: list[float] = []
    deadline = time.monotonic() + limit

    def should_stop() -> bool:
        marks.append(time.perf_counter())
        return time.monotonic() > deadline

    probe = _WriteProbe(store)
    probe.start()
    t = time.perf_counter()
    pruned = maintenance.prune_executions(
        retention_days=30, keep_last=0, now=now, should_stop=should_stop
    )
    marks.append(time.perf_counter())
    prune_s = time.perf_counter() - t
    waits = probe.finish()
    batches = [(b - a - 0.005) * 1000 for a, b in itertools.pairwise(marks)]
    t = time.perf_counter()
    outcome = maintenance.optimize() if pruned.complete else None
    optimize_s = time.perf_counter() - t
    print(
        json.dumps(
            {
                "deleted": pruned.deleted,
                "batches": pruned.batches,
                "complete": pruned.complete,
                "prune_seconds": round(prune_s, 2),
                "batch_ms_max": round(max(batches), 1) if batches else None,
                "batch_ms_p50": round(percentile(batches, 0.5), 1) if batches else None,
                "scheduler_write_ms_max": round(max(waits), 1) if waits else None,
                "scheduler_write_ms_p95": round(percentile(waits, 0.95), 1) if waits else None,
                "scheduler_writes": len(waits),
                "optimize_seconds": round(optimize_s, 2) if outcome else None,
                "bytes_reclaimed": outcome.bytes_reclaimed if outcome else None,
                "notes": outcome.notes if outcome else [],
            }
        ),
        flush=True,
    )


W1_PREFIX = "w5w1"


def _w1_burst(url: str, backend: str, jobs: int) -> dict[str, Any]:
    """W1 (thread mode, 32 workers) on a fresh empty database ("empty") or on the W5 one:
    ``jobs`` yearly no-op jobs are added, made due at once, run, and removed again with
    their executions. Rate and claim latency (first ``started_at`` - made due)."""
    from benchmarks.common import bench_database

    if url == "empty":
        with bench_database(backend) as db:
            return _w1_burst(db.url, backend, jobs)
    from benchmarks.common import make_jobs, wait_quiet, wait_until
    from dbcron.config import SchedulerSettings

    try:  # where the scheduler lives depends on the commit measured
        from dbcron.engine.scheduler import Scheduler  # type: ignore[import-not-found]
    except ImportError:
        from dbcron.scheduler import Scheduler

    admin = open_store(url)
    store = open_store(url)
    ph = "%(p)s" if backend == "postgresql" else ":p"
    mine = f"SELECT job_id FROM jobs WHERE name LIKE {ph}"
    try:
        bulk_insert_jobs(admin, make_jobs(jobs, prefix=W1_PREFIX))
        settings = SchedulerSettings(
            max_workers=32, executor="thread", check_interval_seconds=60, lease_seconds=30
        )
        scheduler = Scheduler(store, settings, executor="thread", database_url=url)
        thread = scheduler.start_in_thread()
        if not scheduler.ready.wait(120):
            raise RuntimeError("the scheduler did not become ready")
        wait_quiet(os.getpid())
        due = datetime.now(UTC)
        with admin.transaction() as cur:  # type: ignore[attr-defined]
            cur.execute(
                f"UPDATE jobs SET next_execution = {ph.replace('p', 'due')} WHERE name LIKE {ph}",
                {"due": admin._encode_ts(due), "p": W1_PREFIX + "-%"},  # type: ignore[attr-defined]
            )
            if backend == "postgresql":
                cur.execute("SELECT pg_notify('dbcron_wakeup', '')")
        finished = wait_until(lambda: scheduler.stats["completed"] >= jobs, 300, 0.001)
        end = time.time()
        scheduler.stop()
        thread.join(60)
        with admin.transaction() as cur:  # type: ignore[attr-defined]
            cur.execute(
                f"SELECT min(started_at) AS s, count(*) AS n FROM job_executions "
                f"WHERE job_id IN ({mine}) AND status = 'success'",
                {"p": W1_PREFIX + "-%"},
            )
            row = cur.fetchone()
        first = admin._decode_ts(row["s"]).timestamp()  # type: ignore[attr-defined]
        return {
            "finished": finished,
            "success_rows": row["n"],
            "rate_per_s": round(jobs / (end - first), 1),
            "first_start_after_due_ms": round((first - due.timestamp()) * 1000, 1),
            "elapsed_seconds": round(end - first, 3),
        }
    finally:
        with admin.transaction() as cur:  # type: ignore[attr-defined]
            cur.execute(
                f"DELETE FROM job_executions WHERE job_id IN ({mine})", {"p": W1_PREFIX + "-%"}
            )
            cur.execute(f"DELETE FROM jobs WHERE name LIKE {ph}", {"p": W1_PREFIX + "-%"})
        store.close()
        admin.close()


def w1_compare(backend: str, url: str, jobs: int, runs: int, limit: float) -> dict[str, Any]:
    """W1 rate and claim latency, empty database vs. the W5 history (medians of ``runs``)."""
    out: dict[str, Any] = {"jobs": jobs, "mode": "thread", "workers": 32}
    for label, target in (("empty", "empty"), ("history", url)):
        runs_out = []
        for _ in range(runs):
            proc = subprocess.Popen(
                [PYTHON, "-m", "benchmarks.w5_scale", "w1", target, str(jobs), backend],
                cwd=REPO, env=_ENV or child_env(), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            msgs = list(_read_lines(proc, limit * 5))
            proc.wait(30)
            if len(msgs) < 2 or msgs[-1] is None:
                assert proc.stderr is not None
                runs_out.append({"error": proc.stderr.read()[-500:]})
                continue
            runs_out.append(msgs[1])
        ok = [r for r in runs_out if "rate_per_s" in r]
        out[label] = {
            "runs": runs_out,
            "median_rate_per_s": median([r["rate_per_s"] for r in ok]),
            "median_claim_ms": median([r["first_start_after_due_ms"] for r in ok]),
        }
    e, h = out["empty"], out["history"]
    out["rate_ratio"] = round(h["median_rate_per_s"] / e["median_rate_per_s"], 3)
    out["claim_ratio"] = round(h["median_claim_ms"] / e["median_claim_ms"], 3)
    return out


#: A command's timed runs stop after at least MIN_RUNS once they have taken more than
#: BUDGET_LIMITS times the per-command limit.
MIN_RUNS = 3
BUDGET_LIMITS = 2.0


def _read_lines(proc: subprocess.Popen[str], limit: float) -> Iterator[dict[str, Any] | None]:
    """JSON lines from ``proc``; yields None (and kills it) when one takes > ``limit`` s."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=limit)
        except queue.Empty:
            proc.kill()
            proc.wait(10)
            yield None
            return
        if not line:
            return
        yield json.loads(line)


def time_in_process(url: str, op: str, runs: int, limit: float, *extra: str) -> dict[str, Any]:
    """p50/p95 of the manager call behind a command (warm; start-up excluded)."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.w5_scale", op, url, str(runs), *extra],
        cwd=REPO,
        env=_ENV or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    times: list[float] = []
    finished = True
    started, budget = time.perf_counter(), BUDGET_LIMITS * limit
    try:
        for i, msg in enumerate(_read_lines(proc, limit)):
            if msg is None:
                finished = False
                break
            if "ms" in msg and i > 1:  # line 0: ready, line 1: warm-up
                times.append(msg["ms"])
            if len(times) >= MIN_RUNS and time.perf_counter() - started > budget:
                break  # slow: fewer timed runs rather than minutes more
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    if finished and len(times) < min(runs, MIN_RUNS):
        assert proc.stderr is not None
        return {"error": proc.stderr.read().strip()[-500:], "finished": False}
    return _summary(times, finished, limit, runs)


def time_cli(url: str, args: list[str], runs: int, limit: float) -> dict[str, Any]:
    """p50/p95 of ``dbcron ARGS`` end to end as a subprocess, after one warm-up."""
    times: list[float] = []
    started, budget = time.perf_counter(), BUDGET_LIMITS * limit
    for i in range(runs + 1):
        t = time.perf_counter()
        try:
            done = subprocess.run(
                [PYTHON, "-m", "dbcron", "--db", url, *args],
                cwd=REPO,
                env=_ENV or child_env(),
                capture_output=True,
                text=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return _summary(times, False, limit, runs)
        ms = (time.perf_counter() - t) * 1000
        if done.returncode != 0:
            return {"error": done.stderr.strip()[-500:], "finished": False}
        if i:
            times.append(ms)
        if len(times) >= MIN_RUNS and time.perf_counter() - started > budget:
            break  # slow: fewer timed runs rather than minutes more
    return _summary(times, True, limit, runs)


def _summary(times: list[float], finished: bool, limit: float, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"finished": finished, "limit_seconds": limit, "runs": len(times)}
    if times:
        out["p50_ms"] = round(percentile(times, 0.5), 1)
        out["p95_ms"] = round(percentile(times, 0.95), 1)
    if not finished:
        out["note"] = f"did not finish in {limit:.0f} s"
    return out


def head_env() -> tuple[dict[str, str], str]:
    """The environment for the measured subprocesses: dbcron's committed code (``git
    archive HEAD src`` into ``.bench/w5/src-<commit>``) ahead of the working tree, which
    other people may be editing; and the commit."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = CACHE / f"src-{commit[:12]}"
    if not (target / "src" / "dbcron").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "HEAD", "src"], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(target / "src"), env["PYTHONPATH"]])
    return env, commit


_ENV: dict[str, str] = {}


# -- the workload -----------------------------------------------------------------------


def measure(backend: str, meta: dict[str, Any], runs: int, limit: float) -> dict[str, Any]:
    """Every figure for one built database."""
    key = meta["key"]
    url = db_url(backend, key)
    job = meta["sample_job"]
    heavy = job["job_id"][:8]
    light = _job_id(backend, key, "w5-light-000005")[:8]
    half = meta["jobs"] // 2
    middle = _job_id(backend, key, f"w5-{job_class(half)}-{half:06d}")
    deep = _deep_execution(backend, key)
    commands: dict[str, tuple[list[str], str | None, str]] = {
        "status": (["status"], "status", heavy),
        "list": (["list"], "list", heavy),
        "list --status paused": (["list", "--status", "paused"], "list_paused", heavy),
        "list --after <job> (deep page)": (["list", "--after", middle], "list_deep", middle),
        "history": (["history"], "history", heavy),
        "history --before <id> (deep page)": (
            ["history", "--before", deep],
            "history_deep",
            deep,
        ),
        "history <heavy job>": (["history", heavy], "history_job", heavy),
        "history <light job>": (["history", light], "history_job", light),
        "show <heavy job>": (["show", heavy], "show", heavy),
        "show <light job>": (["show", light], "show", light),
        "next <expr>": (["next", job["schedule"], "--tz", job["timezone"]], None, heavy),
        "--version (start-up)": (["--version"], None, heavy),
    }
    out: dict[str, Any] = {"backend": backend, "size": db_size(backend, key), "commands": {}}
    for name, (args, op, prefix) in commands.items():
        entry: dict[str, Any] = {"cli": time_cli(url, args, runs, limit)}
        if op is not None:
            entry["db"] = time_in_process(url, op, runs, limit, prefix)
        out["commands"][name] = entry
        print(f"  w5 {backend:<10} {name:<22} {_fmt(entry)}", flush=True)
    w1 = w1_compare(backend, url, 5_000, 3, limit)
    out["w1"] = w1
    print(
        f"  w5 {backend:<10} W1 5,000 jobs: empty {w1['empty']['median_rate_per_s']:,.0f}/s "
        f"(claim {w1['empty']['median_claim_ms']} ms), with history "
        f"{w1['history']['median_rate_per_s']:,.0f}/s (claim "
        f"{w1['history']['median_claim_ms']} ms)",
        flush=True,
    )
    out["maintenance"] = maintenance(backend, meta, limit * 5)
    m = out["maintenance"]
    print(f"  w5 {backend:<10} maintenance            {json.dumps(m)[:300]}", flush=True)
    return out


def _fmt(entry: dict[str, Any]) -> str:
    def one(r: dict[str, Any] | None) -> str:
        if r is None:
            return "-"
        if "error" in r:
            return "error: " + r["error"][-120:]
        if not r["finished"]:
            return r["note"]
        return f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms"

    return f"CLI {one(entry['cli'])}; db {one(entry.get('db'))}"


def maintenance(backend: str, meta: dict[str, Any], limit: float) -> dict[str, Any]:
    """One maintenance pass per built database (it deletes the oldest day: the result
    is kept in the metadata and reported again by later runs)."""
    if "maintenance" in meta:
        return {**meta["maintenance"], "cached_from": meta["maintenance"].get("measured_at")}
    key = meta["key"]
    url = db_url(backend, key)
    now = datetime.fromisoformat(meta["anchor"])  # so that exactly the oldest day is old
    before = db_size(backend, key)
    proc = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.w5_scale", "maintenance", url, "0", now.isoformat(),
         str(limit)],
        cwd=REPO, env=_ENV or child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    result: dict[str, Any] = {"finished": False}
    t = time.perf_counter()
    try:
        for i, msg in enumerate(_read_lines(proc, limit + 120)):
            if msg is None:
                result["note"] = f"killed after {limit + 120:.0f} s (one batch never returned)"
                break
            if i == 1:
                result = {"finished": bool(msg["complete"]), **msg}
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    result["wall_seconds"] = round(time.perf_counter() - t, 1)
    result["limit_seconds"] = limit
    result["size_before"] = before
    result["size_after"] = db_size(backend, key)
    result["one_day_rows_expected"] = round(meta["executions"] / SPAN_DAYS)
    result["measured_at"] = datetime.now(UTC).isoformat()
    meta["maintenance"] = result
    save_meta(backend, key, meta)
    return result


def run(
    quick: bool,
    jobs: int | None = None,
    executions: int | None = None,
    small: bool = False,
    runs: int | None = None,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    limit: float = 60.0,
) -> dict[str, Any]:
    """W5 at the chosen size (full by default; ``small`` or ``quick``: 10k / 1M)."""
    default = SMALL if (small or quick) else FULL
    jobs = jobs or default[0]
    executions = executions or default[1]
    runs = runs or (5 if quick else 10)
    out: dict[str, Any] = {
        "jobs": jobs,
        "executions": executions,
        "runs": runs,
        "limit_seconds": limit,
        "targets": TARGETS,
        "results": [],
    }
    env, commit = head_env()
    _ENV.update(env)
    out["measured_commit"] = commit
    for backend in backends:
        meta = build(backend, jobs, executions)
        print(
            f"  w5 {backend:<10} {jobs:,} jobs, {executions:,} executions: "
            + ("reused " if meta["reused"] else "")
            + f"build {meta['build_seconds']:.0f}s",
            flush=True,
        )
        r = measure(backend, meta, runs, limit)
        r["build"] = meta
        out["results"].append(r)
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out


def clean() -> None:
    """Remove every cached build (files and PostgreSQL databases)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dbcron_w5_%'"
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(CACHE, ignore_errors=True)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
    os._exit(0)
