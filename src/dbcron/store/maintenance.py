"""Housekeeping of dbcron's own tables: pruning history and optimising the database.

Used by the ``maintenance`` job type. Pruning deletes in small batches, each in its
own short transaction, so that schedulers sharing the database are never locked out
for long; optimising is ``PRAGMA optimize`` (plus ``PRAGMA incremental_vacuum`` where
the file allows it) on SQLite and ``VACUUM (ANALYZE)`` on PostgreSQL, which must run
outside a transaction and therefore uses an autocommit connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dbcron.errors import StoreError
from dbcron.store.base import Cursor, SqlStore
from dbcron.store.protocol import Store

#: Seconds to pause between two delete batches, so that writers queued behind a
#: batch's lock (SQLite has no fair queue) get their turn.
BATCH_PAUSE_SECONDS = 0.005

#: The tables that ``optimize`` vacuums on PostgreSQL.
VACUUMED_TABLES = ("jobs", "job_executions", "papers", "scheduler_nodes")

#: ``PRAGMA auto_vacuum`` value of a SQLite file that supports incremental vacuum.
_SQLITE_AUTO_VACUUM_INCREMENTAL = 2


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What :func:`prune_executions` did."""

    deleted: int
    """Executions deleted."""
    batches: int
    """Delete statements run (each in its own transaction)."""
    complete: bool
    """False when ``should_stop`` ended the pruning before every old row was gone."""


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """What :func:`optimize` did."""

    optimized: bool
    """True when the optimisation statements ran."""
    bytes_reclaimed: int | None
    """Bytes the database gave back (measured before and after), None if unmeasurable."""
    notes: list[str] = field(default_factory=list)
    """Plain-language remarks, e.g. why no space could be returned to the filesystem."""


def _sql_store(store: Store | SqlStore) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise StoreError(f"maintenance needs a SQL store, not {type(store).__name__}")
    return store


def prune_executions(
    store: Store | SqlStore,
    *,
    retention_days: float = 30,
    keep_last: int = 100,
    batch_size: int = 1000,
    now: datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
    pause_seconds: float = BATCH_PAUSE_SECONDS,
) -> PruneResult:
    """Delete finished executions that are both old and beyond each job's newest.

    A row is kept when it is among its job's newest ``keep_last`` executions (by
    ``created_at``) *or* was created less than ``retention_days`` ago; ``pending`` and
    ``running`` executions are never deleted. Rows go ``batch_size`` at a time, each
    batch committed on its own; ``should_stop`` is asked before every batch (a
    deadline) and stops the pruning early, keeping what was already deleted.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    sql = _sql_store(store)
    cutoff = (now or sql.clock.now()) - timedelta(days=retention_days)
    params = {
        "cutoff": sql._encode_ts(cutoff),
        "keep_last": max(0, keep_last),
        "batch_size": batch_size,
    }
    deleted = batches = 0
    while True:
        if should_stop is not None and should_stop():
            return PruneResult(deleted, batches, complete=False)
        with sql.transaction() as cur:
            cur.execute(sql.sql("maintenance_prune_executions"), params)
            count = max(0, cur.rowcount)
        batches += 1
        deleted += count
        if count < batch_size:
            return PruneResult(deleted, batches, complete=True)
        if pause_seconds > 0:
            time.sleep(pause_seconds)


def prune_nodes(
    store: Store | SqlStore, *, retention_days: float = 30, now: datetime | None = None
) -> int:
    """Delete ``scheduler_nodes`` rows of schedulers stopped more than
    ``retention_days`` ago; return how many. Running (or dead but never stopped)
    nodes stay: ``dbcron status`` reports those."""
    sql = _sql_store(store)
    cutoff = (now or sql.clock.now()) - timedelta(days=retention_days)
    with sql.transaction() as cur:
        cur.execute(sql.sql("maintenance_prune_nodes"), {"cutoff": sql._encode_ts(cutoff)})
        return max(0, cur.rowcount)


def optimize(store: Store | SqlStore) -> OptimizeResult:
    """Optimise the database after pruning and measure the space given back.

    SQLite: ``PRAGMA optimize`` (refreshes the planner's statistics where useful) and
    ``PRAGMA incremental_vacuum``, which returns free pages to the filesystem only
    when the file was created with ``auto_vacuum=incremental``; otherwise freed pages
    stay in the file for reuse, and the notes say so. PostgreSQL: ``VACUUM (ANALYZE)``
    of dbcron's tables on an autocommit connection (VACUUM cannot run in a
    transaction); it makes dead rows' space reusable and returns only trailing empty
    pages to the operating system.
    """
    sql = _sql_store(store)
    if sql.backend == "sqlite":
        return _optimize_sqlite(sql)
    if sql.backend == "postgresql":
        return _optimize_postgres(sql)
    raise StoreError(f"no optimisation known for backend {sql.backend!r}")


def _pragma_int(cur: Cursor, sql: SqlStore, name: str) -> int:
    cur.execute(sql.sql(name), {})
    row = cur.fetchone()
    return int(row[0])


def _optimize_sqlite(sql: SqlStore) -> OptimizeResult:
    notes: list[str] = []
    with sql.transaction() as cur:
        page_size = _pragma_int(cur, sql, "maintenance_page_size")
        pages_before = _pragma_int(cur, sql, "maintenance_page_count")
        cur.execute(sql.sql("maintenance_optimize"), {})
        cur.fetchall()
        auto_vacuum = _pragma_int(cur, sql, "maintenance_auto_vacuum")
    if auto_vacuum == _SQLITE_AUTO_VACUUM_INCREMENTAL:
        _incremental_vacuum(sql)
    with sql.transaction(write=False) as cur:
        pages_after = _pragma_int(cur, sql, "maintenance_page_count")
        free_pages = _pragma_int(cur, sql, "maintenance_freelist_count")
    if auto_vacuum != _SQLITE_AUTO_VACUUM_INCREMENTAL:
        notes.append(
            "PRAGMA incremental_vacuum has no effect: the file's auto_vacuum mode is "
            f"{_AUTO_VACUUM_NAMES.get(auto_vacuum, auto_vacuum)}, not incremental; "
            f"{free_pages * page_size} bytes of free pages stay in the file for reuse "
            "(an offline VACUUM would return them)"
        )
    return OptimizeResult(
        optimized=True,
        bytes_reclaimed=max(0, pages_before - pages_after) * page_size,
        notes=notes,
    )


#: Free pages returned per transaction by :func:`_incremental_vacuum`.
VACUUM_PAGES_PER_TRANSACTION = 2000


def _incremental_vacuum(sql: SqlStore) -> None:
    """Return every free page to the filesystem, a bounded number per transaction.

    Python's sqlite3 steps a statement that returns no columns only once, and each
    step of ``PRAGMA incremental_vacuum`` frees one page: so the pragma is run once
    per page, in short transactions that let other writers in between.
    """
    while True:
        with sql.transaction() as cur:
            free = _pragma_int(cur, sql, "maintenance_freelist_count")
            for _ in range(min(free, VACUUM_PAGES_PER_TRANSACTION)):
                cur.execute(sql.sql("maintenance_incremental_vacuum"), {})
            left = _pragma_int(cur, sql, "maintenance_freelist_count")
        if left == 0 or left >= free:
            return
        time.sleep(BATCH_PAUSE_SECONDS)


_AUTO_VACUUM_NAMES: dict[int, str] = {0: "none", 1: "full", 2: "incremental"}


def _relation_bytes(sql: SqlStore) -> int:
    with sql.transaction(write=False) as cur:
        cur.execute(sql.sql("maintenance_relation_bytes"), {})
        row = cur.fetchone()
    return int(row["bytes"])


def _optimize_postgres(sql: SqlStore) -> OptimizeResult:
    import psycopg

    from dbcron.store.postgres import PostgresStore

    if not isinstance(sql, PostgresStore):  # pragma: no cover - backend says postgresql
        raise StoreError(f"cannot vacuum through a {type(sql).__name__}")
    before = _relation_bytes(sql)
    try:
        with sql._pool.connection() as conn:
            conn.autocommit = True
            try:
                conn.execute(sql.sql("maintenance_vacuum"))
            finally:
                conn.autocommit = False  # the pool hands this connection out again
    except psycopg.Error as exc:
        raise StoreError(f"VACUUM failed on {sql.display_url}: {_first_line(exc)}") from exc
    after = _relation_bytes(sql)
    notes = [
        "VACUUM makes the space of deleted rows reusable; only empty pages at the end "
        "of a table go back to the operating system"
    ]
    return OptimizeResult(optimized=True, bytes_reclaimed=max(0, before - after), notes=notes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
