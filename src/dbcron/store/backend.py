"""The SQL store skeleton: what a backend supplies (connections, transactions, error
translation, the encoding of timestamps and JSON), the named-query helpers and the schema
(migrations). The operations per concern build on it: :mod:`~dbcron.store.jobs`,
:mod:`~dbcron.store.executions`, :mod:`~dbcron.store.nodes`, :mod:`~dbcron.store.engine`."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from dbcron.clock import Clock, SystemClock
from dbcron.models import (
    ExecutionStatus,
    JobStatus,
    MisfirePolicy,
    OverlapPolicy,
    RetryBackoff,
    Trigger,
)
from dbcron.store.protocol import StoreCapabilities
from dbcron.store.sqlfiles import load_migrations, load_queries

# Stored state text to enum member: a dict lookup is several times cheaper than calling
# the enum, and rows are decoded on the engine's hot path.
_JOB_STATUS = {m.value: m for m in JobStatus}
_EXECUTION_STATUS = {m.value: m for m in ExecutionStatus}
_TRIGGER = {m.value: m for m in Trigger}
_MISFIRE = {m.value: m for m in MisfirePolicy}
_OVERLAP = {m.value: m for m in OverlapPolicy}
_BACKOFF = {m.value: m for m in RetryBackoff}

Row = Mapping[str, Any]
#: The LIMIT bound for "no limit" (both backends take a number there).
NO_LIMIT = 2**62


class Cursor(Protocol):
    """The subset of a DB-API cursor (sqlite3 or psycopg) that the stores use."""

    @property
    def rowcount(self) -> int:
        """Rows touched by the last statement."""
        ...

    def execute(self, query: Any, params: Any = ...) -> Any:
        """Run one statement."""
        ...

    def executemany(self, query: Any, params_seq: Any) -> Any:
        """Run one statement for each parameter set."""
        ...

    def fetchone(self) -> Any:
        """The next row or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...


class SqlBackend(ABC):
    """What every SQL store is built on: the backend's parts and the named queries."""

    #: ``sqlite`` or ``postgresql``.
    backend: str
    #: Folder name under ``store/sql`` and ``store/migrations``.
    dialect: str

    def __init__(self, clock: Clock | None = None) -> None:
        self._sql = load_queries(self.dialect)
        self.clock: Clock = clock or SystemClock()

    # -- what a backend supplies -------------------------------------------------

    @property
    @abstractmethod
    def display_url(self) -> str:
        """The database URL without its password."""

    @abstractmethod
    def transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction, committed on success and rolled back on
        error; driver errors leave it as dbcron errors. ``write=False`` promises that
        only reads happen (SQLite then takes no write lock)."""

    @abstractmethod
    def _lock_migrations(self, cur: Cursor) -> None:
        """Serialise migrations across processes inside the current transaction."""

    @abstractmethod
    def _encode_ts(self, value: datetime | None) -> Any:
        """A UTC datetime as the backend stores it."""

    @abstractmethod
    def _decode_ts(self, value: Any) -> datetime | None:
        """A stored timestamp as an aware UTC datetime."""

    @abstractmethod
    def _encode_json(self, value: Any) -> Any:
        """A JSON-able value as the backend stores it."""

    @abstractmethod
    def _decode_json(self, value: Any) -> Any:
        """A stored JSON column as Python values."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    @abstractmethod
    def _ids_param(self, ids: Sequence[str]) -> Any:
        """A list of ids as the backend binds it (JSON text on SQLite, an array on PG)."""

    @abstractmethod
    def _notify(self, cur: Cursor) -> None:
        """Tell listening schedulers, in the current transaction, that something changed."""

    @abstractmethod
    def capabilities(self) -> StoreCapabilities:
        """See :meth:`Store.capabilities`."""

    # -- helpers -------------------------------------------------------------------

    def sql(self, name: str) -> str:
        """The backend's query called ``name``."""
        return self._sql[name]

    # The backend's encodings, for the modules that keep a capability's table
    # (``papers.py``, ``maintenance.py``) with the backend's named queries.

    def encode_ts(self, value: datetime | None) -> Any:
        """A UTC datetime (or None) as the backend binds it."""
        return self._encode_ts(value)

    def decode_ts(self, value: Any) -> datetime | None:
        """A stored timestamp as an aware UTC datetime (or None)."""
        return self._decode_ts(value)

    def encode_json(self, value: Any) -> Any:
        """A JSON-able value as the backend binds it."""
        return self._encode_json(value)

    def decode_json(self, value: Any) -> Any:
        """A stored JSON column as Python values."""
        return self._decode_json(value)

    def _fetchall(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        with self.transaction(write=False) as cur:
            cur.execute(self.sql(name), params)
            rows: list[Row] = cur.fetchall()
            return rows

    def _fetchone(self, name: str, params: Mapping[str, Any]) -> Row | None:
        with self.transaction(write=False) as cur:
            cur.execute(self.sql(name), params)
            row: Row | None = cur.fetchone()
            return row

    # -- schema --------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """See :meth:`Store.migrate`."""
        applied: list[int] = []
        for version, name, sql in load_migrations(self.dialect):
            if self._apply_migration(version, name, sql):
                applied.append(version)
        return applied

    def latest_version(self) -> int:
        """See :meth:`Store.latest_version`."""
        return len(load_migrations(self.dialect))

    def schema_version(self) -> int:
        """See :meth:`Store.schema_version`."""
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("has_version_table"), {})
            if cur.fetchone()["n"] == 0:
                return 0
            cur.execute(self.sql("max_version"), {})
            return int(cur.fetchone()["version"])

    def _apply_migration(self, version: int, name: str, sql: str) -> bool:
        """Apply one migration and record it, atomically, unless it is already recorded;
        serialised against other processes. True when it was applied."""
        with self.transaction() as cur:
            self._lock_migrations(cur)
            cur.execute(self.sql("create_version_table"), {})
            cur.execute(self.sql("is_version_applied"), {"version": version})
            if cur.fetchone()["n"]:
                return False
            for statement in split_statements(sql):
                cur.execute(statement)
            cur.execute(
                self.sql("record_version"),
                {"version": version, "name": name, "applied_at": self._encode_ts(self.clock.now())},
            )
            return True


def remembered(
    memo: dict[datetime, str], value: datetime, encode: Callable[[datetime], str]
) -> str:
    """``encode(value)``, remembered in ``memo`` (emptied when it holds 4,096 entries).

    The engine encodes the same few instants (now, a lease, a shared fire time) thousands
    of times a second; an instant's text does not depend on its zone, so equal instants
    may share an entry.
    """
    known = memo.get(value)
    if known is not None:
        return known
    text = encode(value)
    if len(memo) >= 4096:
        memo.clear()
    memo[value] = text
    return text


def split_statements(script: str) -> Iterator[str]:
    """Split a plain SQL script into statements (no procedural bodies allowed)."""
    buffer: list[str] = []
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer.append(line)
        text = "".join(buffer)
        if sqlite3.complete_statement(text):
            yield text.strip()
            buffer = []
    rest = "".join(buffer).strip()
    if rest:
        yield rest
