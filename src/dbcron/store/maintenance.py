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
from datetime import UTC, datetime, timedelta

from dbcron.errors import StoreError
from dbcron.models import OptimizeResult, PruneResult
from dbcron.store.backend import Cursor
from dbcron.store.base import SqlStore
from dbcron.store.protocol import MaintenanceStore, Store

__all__ = [
    "BATCH_PAUSE_SECONDS",
    "VACUUMED_TABLES",
    "OptimizeResult",
    "PruneResult",
    "SqlMaintenance",
]

#: Seconds to pause between two delete batches, so that writers queued behind a
#: batch's lock (SQLite has no fair queue) get their turn.
BATCH_PAUSE_SECONDS = 0.005

#: How long one retention slice (one write transaction) should take at most; slices
#: shrink while they take longer.
SLICE_TARGET_SECONDS = 0.05
#: The smallest slice.
MIN_SLICE_ROWS = 20

#: The tables that ``optimize`` vacuums on PostgreSQL.
VACUUMED_TABLES = ("jobs", "job_executions", "papers", "scheduler_nodes")

#: Before any execution: where the walk over the history starts.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: ``PRAGMA auto_vacuum`` value of a SQLite file that supports incremental vacuum.
_SQLITE_AUTO_VACUUM_INCREMENTAL = 2


class SqlMaintenance:
    """Housekeeping of a SQL store (see :class:`~dbcron.store.protocol.MaintenanceStore`),
    through the store's public methods only.

    ``outside_transaction(name)`` runs the backend's named statement outside any
    transaction (PostgreSQL's ``VACUUM`` cannot run in one); a backend that needs no
    such statement passes None.
    """

    def __init__(
        self,
        store: SqlStore,
        outside_transaction: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._outside_transaction = outside_transaction

    def prune_executions(
        self,
        *,
        retention_days: float = 30,
        keep_last: int = 100,
        batch_size: int = 500,
        now: datetime | None = None,
        should_stop: Callable[[], bool] | None = None,
        pause_seconds: float = BATCH_PAUSE_SECONDS,
    ) -> PruneResult:
        """See :meth:`MaintenanceStore.prune_executions`."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        sql = self._store
        now = now or sql.clock.now()
        cutoff = now - timedelta(days=retention_days)
        keep_last = max(0, keep_last)
        with sql.transaction(write=False) as cur:
            cur.execute(sql.sql("maintenance_largest_keep_last"), {})
            row = cur.fetchone()
            cur.execute(
                sql.sql("maintenance_short_retention_jobs"), {"retention_days": retention_days}
            )
            short = [(r["job_id"], r["retention_days"], r["keep_last"]) for r in cur.fetchall()]
        largest = row["largest_keep"] if row else None
        walks = [
            (
                "maintenance_prune",
                {
                    "now": sql.encode_ts(now),
                    "cutoff": sql.encode_ts(cutoff),
                    "walk_until": sql.encode_ts(cutoff),
                    "keep_last": keep_last,
                    "count_limit": max(keep_last, largest or 0),
                },
            )
        ]
        walks += [
            (
                "maintenance_prune_job",
                {
                    "job_id": job_id,
                    "walk_until": sql.encode_ts(now - timedelta(days=days)),
                    "keep_last": keep_last if own_keep is None else own_keep,
                },
            )
            for job_id, days, own_keep in short
        ]
        total = PruneResult(0, 0, complete=True)
        for prefix, params in walks:
            done = self._walk(prefix, params, batch_size, should_stop, pause_seconds)
            total = PruneResult(
                total.deleted + done.deleted, total.batches + done.batches, done.complete
            )
            if not done.complete:
                break
        return total

    def _walk(
        self,
        prefix: str,
        params: dict[str, object],
        batch_size: int,
        should_stop: Callable[[], bool] | None,
        pause_seconds: float,
    ) -> PruneResult:
        """Delete through ``<prefix>_executions`` one slice (``<prefix>_slice_end``) at a
        time, oldest first, each slice one transaction starting after the previous.

        A slice holds at most ``batch_size`` rows, fewer while slices take longer than
        :data:`SLICE_TARGET_SECONDS` (halved after a slow one, doubled again after a
        quick one): on a large, cold history one slice of a fixed size can hold the
        write lock, which SQLite's other writers wait for, for hundreds of ms."""
        sql = self._store
        size = batch_size
        params = {**params, "walked_to": sql.encode_ts(_EPOCH)}
        deleted = batches = 0
        while True:
            if should_stop is not None and should_stop():
                return PruneResult(deleted, batches, complete=False)
            params["batch_size"] = size
            began = sql.clock.monotonic()
            with sql.transaction() as cur:
                cur.execute(sql.sql(prefix + "_slice_end"), params)
                found = cur.fetchone()
                slice_end = None if found is None else found["slice_end"]
                if slice_end is None:
                    return PruneResult(deleted, batches, complete=True)
                cur.execute(sql.sql(prefix + "_executions"), {**params, "slice_end": slice_end})
                count = max(0, cur.rowcount)
            params["walked_to"] = slice_end
            took = sql.clock.monotonic() - began
            if took > SLICE_TARGET_SECONDS:
                size = max(MIN_SLICE_ROWS, size // 2)
            elif took < SLICE_TARGET_SECONDS / 4:
                size = min(batch_size, size * 2)
            batches += 1
            deleted += count
            if pause_seconds > 0:
                time.sleep(pause_seconds)

    def prune_nodes(self, *, retention_days: float = 30, now: datetime | None = None) -> int:
        """See :meth:`MaintenanceStore.prune_nodes`."""
        sql = self._store
        cutoff = (now or sql.clock.now()) - timedelta(days=retention_days)
        with sql.transaction() as cur:
            cur.execute(sql.sql("maintenance_prune_nodes"), {"cutoff": sql.encode_ts(cutoff)})
            return max(0, cur.rowcount)

    def optimize(self) -> OptimizeResult:
        """See :meth:`MaintenanceStore.optimize`.

        SQLite: ``PRAGMA optimize`` (refreshes the planner's statistics where useful)
        and ``PRAGMA incremental_vacuum``, which returns free pages to the filesystem
        only when the file was created with ``auto_vacuum=incremental``; otherwise freed
        pages stay in the file for reuse, and the notes say so. PostgreSQL: ``VACUUM
        (ANALYZE)`` of dbcron's tables outside a transaction; it makes dead rows' space
        reusable and returns only trailing empty pages to the operating system.
        """
        sql = self._store
        if sql.backend == "sqlite":
            return _optimize_sqlite(sql)
        if sql.backend == "postgresql" and self._outside_transaction is not None:
            return _optimize_postgres(sql, self._outside_transaction)
        raise StoreError(f"no optimisation known for backend {sql.backend!r}")


def maintenance_of(store: Store) -> MaintenanceStore:
    """The store's maintenance capability; StoreError when the backend has none."""
    maintenance = store.capabilities().maintenance
    if maintenance is None:
        raise StoreError(f"maintenance needs a SQL store, not {type(store).__name__}")
    return maintenance


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


def _optimize_postgres(sql: SqlStore, outside_transaction: Callable[[str], None]) -> OptimizeResult:
    before = _relation_bytes(sql)
    outside_transaction("maintenance_vacuum")
    after = _relation_bytes(sql)
    notes = [
        "VACUUM makes the space of deleted rows reusable; only empty pages at the end "
        "of a table go back to the operating system"
    ]
    return OptimizeResult(optimized=True, bytes_reclaimed=max(0, before - after), notes=notes)
