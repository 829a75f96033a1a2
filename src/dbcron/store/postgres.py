"""The PostgreSQL backend (self-hosted, Supabase, or any managed PostgreSQL).

psycopg 3 with a connection pool. Pooler-safe by construction: no server-side prepared
statements (``prepare_threshold=None``), no session state (locks are transaction
scoped, nothing is ``SET`` on the session), so it also works through a transaction-mode
pooler such as PgBouncer or Supabase's port 6543.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from dbcron.clock import Clock
from dbcron.errors import (
    ConflictError,
    DatabaseUnavailableError,
    SchemaError,
    StoreError,
)
from dbcron.store.base import Cursor, SqlStore
from dbcron.urls import redact_url


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresStore(SqlStore):
    """A :class:`~dbcron.store.protocol.Store` in a PostgreSQL database."""

    backend = "postgresql"
    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 5.0,
        application_name: str = "dbcron",
        clock: Clock | None = None,
    ) -> None:
        """Connect to ``url``; an unreachable server is a DatabaseUnavailableError that
        names the URL without its password."""
        super().__init__(clock)
        self._url = url
        self._display = redact_url(url)
        kwargs: dict[str, Any] = {
            "prepare_threshold": None,
            "row_factory": dict_row,
            "connect_timeout": max(1, round(connect_timeout)),
            "application_name": application_name,
        }
        try:
            # One direct attempt first: it fails fast with the server's own reason.
            psycopg.connect(url, **kwargs).close()
        except psycopg.Error as exc:
            raise DatabaseUnavailableError(
                f"cannot connect to {self._display}: {_first_line(exc)}"
            ) from exc
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs=kwargs,
            timeout=connect_timeout * 2,
            name="dbcron",
            open=True,
        )

    @property
    def display_url(self) -> str:
        """The URL with its password replaced by ``***``."""
        return self._display

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        """See :meth:`SqlStore.transaction`."""
        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                yield cur
        except pg_errors.UniqueViolation as exc:
            raise ConflictError(f"duplicate record: {_first_line(exc)}") from exc
        except pg_errors.UndefinedTable as exc:
            raise SchemaError(
                f"database {self._display} has no dbcron tables ({_first_line(exc)}); "
                "run `dbcron init`"
            ) from exc
        except pg_errors.IntegrityError as exc:
            raise StoreError(f"database refused the write: {_first_line(exc)}") from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise DatabaseUnavailableError(
                f"lost the database {self._display}: {_first_line(exc)}"
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error on {self._display}: {_first_line(exc)}") from exc

    def _lock_migrations(self, cur: Cursor) -> None:
        cur.execute(self.sql("migration_lock"), {})

    def _encode_ts(self, value: datetime | None) -> Any:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        return value

    def _decode_ts(self, value: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def _encode_json(self, value: Any) -> Any:
        return Jsonb(value)

    def _decode_json(self, value: Any) -> Any:
        return value

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()
