"""The SQLite backend: the embedded default.

One connection per thread, WAL journal, a generous ``busy_timeout`` and ``BEGIN
IMMEDIATE`` for every write transaction, so that the CLI and any number of scheduler
threads and processes share one file without "database is locked" reaching a user.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbcron.backoff import Backoff
from dbcron.clock import Clock
from dbcron.errors import (
    ConflictError,
    DatabaseUnavailableError,
    DataRefusedError,
    SchemaError,
    StoreError,
)
from dbcron.store.backend import Cursor, remembered
from dbcron.store.base import SqlStore
from dbcron.store.maintenance import SqlMaintenance
from dbcron.store.papers import SqlPapers
from dbcron.store.protocol import StoreCapabilities
from dbcron.store.sql_diagnostics import SqlDiagnostics

#: How long a writer waits for another writer's lock before giving up.
BUSY_TIMEOUT_SECONDS = 30.0


def encode_timestamp(value: datetime | None) -> str | None:
    """A datetime as fixed-width UTC text, so that text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
    # isoformat is several times faster than strftime and gives the same text.
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _encode_aware(value: datetime) -> str:
    text = encode_timestamp(value)  # raises for a naive datetime
    assert text is not None
    return text


def decode_timestamp(value: str | None) -> datetime | None:
    """Stored UTC text back to an aware datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value)


#: WAL pages between automatic checkpoints (SQLite's default is 1000).
WAL_AUTOCHECKPOINT_PAGES = 4000


def _execute_when_unlocked(conn: sqlite3.Connection, sql: str) -> None:
    """Run ``sql``, retrying with backoff (up to the busy timeout) while SQLite answers
    "locked" or "busy" at once, without its busy handler: a ``BEGIN IMMEDIATE`` racing
    a reader in WAL mode, or switching a new file to WAL while another connection
    holds it (several processes or threads opening a new database together)."""
    backoff: Backoff | None = None  # made on the first refusal only: this is every BEGIN
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if backoff is None:
                backoff = Backoff(0.001, 2.0, 0.05, timeout=BUSY_TIMEOUT_SECONDS)
            if backoff.expired():
                raise
            backoff.wait()


class SQLiteStore(SqlStore):
    """A :class:`~dbcron.store.protocol.Store` in one SQLite file."""

    backend = "sqlite"
    dialect = "sqlite"

    def __init__(self, path: str | Path, *, create: bool = False, clock: Clock | None = None):
        """Open the database at ``path``; with ``create`` a missing file is created,
        otherwise a missing file is a :class:`DatabaseUnavailableError`."""
        super().__init__(clock)
        self.path = Path(path)
        self._create = create
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._ts_memo: dict[datetime, str] = {}
        self._capabilities = StoreCapabilities(
            commit_counter=self,
            papers=SqlPapers(self),
            maintenance=SqlMaintenance(self),
            diagnostics=SqlDiagnostics(self),
        )
        self._connect()  # fail now, with a clear message, rather than on first use

    def capabilities(self) -> StoreCapabilities:
        """See :meth:`Store.capabilities`: a commit counter (:meth:`data_version`), the
        papers table, maintenance and diagnostics; no change feed (schedulers poll the
        counter)."""
        return self._capabilities

    @property
    def display_url(self) -> str:
        """``sqlite:///`` and the file's path."""
        return f"sqlite:///{self.path}"

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError("the store is closed")
        if not self.path.exists() and not self._create:
            raise DatabaseUnavailableError(
                f"no SQLite database at {self.path} (run `dbcron init` to create it)"
            )
        if not self.path.parent.exists():
            raise DatabaseUnavailableError(
                f"cannot create SQLite database {self.path}: "
                f"folder {self.path.parent} does not exist"
            )
        new_file = not self.path.exists()
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            if new_file:
                # Only an empty file can take it: deleted history's pages can then be
                # given back to the filesystem (the maintenance job's incremental vacuum).
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            _execute_when_unlocked(conn, "PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            # Checkpoint the WAL every ~16 MiB instead of every ~4 MiB: a checkpoint
            # writes and syncs the database file, and rows the engine writes twice in a
            # second (inserted running, then finished) are then copied once.
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        except sqlite3.Error as exc:
            raise DatabaseUnavailableError(
                f"cannot open SQLite database {self.path}: {exc}"
            ) from exc
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        """See :meth:`SqlStore.transaction`; writes start with ``BEGIN IMMEDIATE``."""
        conn = self._connect()
        try:
            self._begin(conn, write)
            cur = conn.cursor()
            try:
                yield cur
                conn.execute("COMMIT")
            finally:
                cur.close()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                raise ConflictError(f"duplicate record: {exc}") from exc
            raise DataRefusedError(f"database refused the write: {exc}") from exc
        except sqlite3.DataError as exc:
            raise DataRefusedError(f"database refused a value: {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise _operational(exc, self.path) from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    @staticmethod
    def _begin(conn: sqlite3.Connection, write: bool) -> None:
        # busy_timeout covers most waits, not all: see _execute_when_unlocked.
        _execute_when_unlocked(conn, "BEGIN IMMEDIATE" if write else "BEGIN")

    def _lock_migrations(self, cur: Cursor) -> None:
        """Nothing to do: a ``BEGIN IMMEDIATE`` transaction already excludes other writers."""

    def _encode_ts(self, value: datetime | None) -> Any:
        if value is None:
            return None
        return remembered(self._ts_memo, value, _encode_aware)

    def _notify(self, cur: Cursor) -> None:
        """Nothing to send: schedulers on SQLite notice commits through ``data_version``."""

    def _ids_param(self, ids: Sequence[str]) -> Any:
        return json.dumps(list(ids))

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` of this thread's connection: it changes
        whenever another connection commits, which makes change polling nearly free."""
        row = self._connect().execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _decode_ts(self, value: Any) -> datetime | None:
        return decode_timestamp(value)

    def _encode_json(self, value: Any) -> Any:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def _decode_json(self, value: Any) -> Any:
        return json.loads(value)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            self._closed = True
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _operational(exc: sqlite3.OperationalError, path: Path) -> Exception:
    text = str(exc)
    if "no such table" in text:
        return SchemaError(f"database {path} has no dbcron tables ({text}); run `dbcron init`")
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database {path} stayed locked by another writer for {BUSY_TIMEOUT_SECONDS:.0f}s"
        )
    return DatabaseUnavailableError(f"SQLite error on {path}: {text}")
