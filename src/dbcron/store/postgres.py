"""The PostgreSQL backend (self-hosted, Supabase, or any managed PostgreSQL).

psycopg 3 with a connection pool. Pooler-safe by construction: no server-side prepared
statements (``prepare_threshold=None``), no session state (locks are transaction
scoped, nothing is ``SET`` on the session), so it also works through a transaction-mode
pooler such as PgBouncer or Supabase's port 6543.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def _take_listen_param(url: str) -> tuple[str, bool | None]:
    """Remove dbcron's own ``dbcron_listen=on|off`` from the URL (libpq would refuse it)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    mine = [v for k, v in pairs if k == "dbcron_listen"]
    if not mine:
        return url, None
    rest = urlencode([(k, v) for k, v in pairs if k != "dbcron_listen"])
    return urlunsplit(parts._replace(query=rest)), mine[-1].lower() in ("on", "true", "1")


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
        listen: bool | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Connect to ``url``; an unreachable server is a DatabaseUnavailableError that
        names the URL without its password."""
        super().__init__(clock)
        url, from_url = _take_listen_param(url)
        #: Whether to LISTEN for changes: None decides from the URL (not on port 6543).
        #: Off means a transaction-mode pooler: no prepared statements either.
        self.listen_enabled: bool | None = from_url if from_url is not None else listen
        self._url = url
        self._display = redact_url(url)
        kwargs: dict[str, Any] = {
            # Server-side prepared statements save planning on a direct connection but
            # break transaction-mode poolers, which is where LISTEN is off too.
            "prepare_threshold": 5 if self.listen_supported else None,
            "row_factory": dict_row,
            "connect_timeout": max(1, round(connect_timeout)),
        }
        if "application_name" not in url:  # the URL's own libpq parameters win
            kwargs["application_name"] = application_name
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

    def _ids_param(self, ids: Sequence[str]) -> Any:
        return list(ids)

    def _notify(self, cur: Cursor) -> None:
        cur.execute(self.sql("notify_wakeup"), {})

    def database_now(self) -> datetime:
        """PostgreSQL's clock: every scheduler sharing the database agrees on it."""
        row = self._fetchone("db_now", {})
        assert row is not None
        value: datetime = row["now"]
        return value.astimezone(UTC)

    def listen(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``callback`` whenever dbcron's NOTIFY arrives; returns a stop function.

        LISTEN needs a session of its own, so it is not used through a transaction-mode
        pooler (Supabase's port 6543, or when ``listen=False`` was given): returns None
        there, and the scheduler polls instead.
        """
        if not self.listen_supported:
            return None
        stop = threading.Event()

        def loop() -> None:
            delay = 0.2
            while not stop.is_set():
                try:
                    with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
                        conn.execute(self.sql("listen"))
                        delay = 0.2
                        callback()  # anything that changed while we were not listening
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=2.0, stop_after=1):
                                callback()
                except psycopg.Error:
                    if stop.wait(delay):
                        return
                    delay = min(delay * 2, 2.0)

        threading.Thread(target=loop, name="dbcron-listen", daemon=True).start()
        return stop.set

    @property
    def listen_supported(self) -> bool:
        """False for transaction-mode poolers, where a session cannot be kept."""
        if self.listen_enabled is not None:
            return self.listen_enabled
        try:
            return urlsplit(self._url).port != 6543
        except ValueError:
            return True

    @property
    def url(self) -> str:
        """The full connection URL (with its password): for LISTEN connections only."""
        return self._url

    def migrate(self) -> list[int]:
        """Apply the migrations, then take every privilege from Supabase's public API
        roles (``anon``, ``authenticated``) where they exist: Supabase grants them all
        on new tables by default, and dbcron's tables are not for its REST API."""
        applied = super().migrate()
        with self.transaction() as cur:
            cur.execute(self.sql("public_api_roles"), {})
            roles = {row["rolname"] for row in cur.fetchall()}
            if roles == {"anon", "authenticated"}:
                cur.execute(self.sql("revoke_jobs"), {})
                cur.execute(self.sql("revoke_papers"), {})
        return applied

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
