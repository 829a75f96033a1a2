"""The PostgreSQL backend (self-hosted, Supabase, or any managed PostgreSQL).

psycopg 3 with a connection pool. Pooler-safe by construction: no session state (locks
are transaction scoped, nothing is ``SET`` on the session), and server-side prepared
statements only where a session is proven (a direct connection, or a LISTEN that
delivers), so it also works through a transaction-mode pooler such as PgBouncer or
Supabase's port 6543, announced or not. No message that leaves this module (errors,
psycopg's log records) holds the database password, whatever the driver put in it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from dbcron.backoff import Backoff
from dbcron.clock import Clock
from dbcron.errors import (
    ConfigError,
    ConflictError,
    DatabaseUnavailableError,
    DataRefusedError,
    DbcronError,
    SchemaError,
    StoreError,
)
from dbcron.store.backend import Cursor
from dbcron.store.maintenance import SqlMaintenance
from dbcron.store.papers import SqlPapers
from dbcron.store.postgres_batch import PostgresBatchWrites
from dbcron.store.postgres_diagnostics import PostgresDiagnostics
from dbcron.store.postgres_listen import (
    _reaches_server_directly,
    _take_listen_param,
    probe_listener,
    release_listener,
)
from dbcron.store.postgres_redaction import _first_line, _redact_driver_logs, _scrub
from dbcron.store.postgres_values import _text_array
from dbcron.store.protocol import StoreCapabilities
from dbcron.urls import redact_secrets, redact_url, url_secrets

log = logging.getLogger("dbcron.store.postgres")

#: psycopg's ``prepare_threshold`` where a session is proven: a query is prepared on
#: the server after this many executions on one connection.
PREPARE_THRESHOLD = 5


class PostgresStore(PostgresBatchWrites):
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
        """Connect to ``url``; an unreachable server is a DatabaseUnavailableError and a
        URL libpq cannot parse a ConfigError, both naming the URL without its password
        (and quoting the driver's reason without it either)."""
        super().__init__(clock)
        # Every form of the password, taken from the URL as given: hidden from every
        # error raised here and from psycopg's log records, whatever the driver says.
        self._secrets = url_secrets(url)
        _redact_driver_logs(self._secrets)
        url, from_url = _take_listen_param(url)
        #: Whether to LISTEN for changes: None decides from the URL (not on port 6543)
        #: and then from whether a NOTIFY reaches the listener (see :meth:`listen`).
        #: Off means a transaction-mode pooler: no prepared statements either.
        self.listen_enabled: bool | None = from_url if from_url is not None else listen
        self._url = url
        self._display = self._redact(redact_url(url))
        # Server-side prepared statements save planning but break transaction-mode
        # poolers (the next transaction may run on another server session): off until
        # a session is proven, by this first connection or by a LISTEN that delivers.
        self._prepare_threshold: int | None = None
        self._kwargs: dict[str, Any] = {
            "prepare_threshold": None,
            "row_factory": dict_row,
            "connect_timeout": max(1, round(connect_timeout)),
        }
        if "application_name" not in url:  # the URL's own libpq parameters win
            self._kwargs["application_name"] = application_name
        failure: DbcronError | None = None
        try:
            # One direct attempt first: it fails fast with the server's own reason.
            with psycopg.connect(url, **self._kwargs) as conn:
                if self.listen_supported:
                    ends = conn.execute(self.sql("connection_ends")).fetchone()
                    if ends is not None and _reaches_server_directly(conn, ends):
                        self._use_prepared_statements(True)
        except psycopg.ProgrammingError as exc:
            # libpq could not parse the URL: waiting for the database will not help
            failure = self._failure(ConfigError, f"database.url {self._display} is malformed", exc)
        except psycopg.Error as exc:
            failure = self._failure(
                DatabaseUnavailableError, f"cannot connect to {self._display}", exc
            )
        if failure is not None:
            raise failure
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs=self._kwargs,
            timeout=connect_timeout * 2,
            name="dbcron",
            open=True,
        )
        self._capabilities = StoreCapabilities(
            change_feed=self,
            papers=SqlPapers(self),
            maintenance=SqlMaintenance(self, self.run_outside_transaction),
            diagnostics=PostgresDiagnostics(self),
        )

    def capabilities(self) -> StoreCapabilities:
        """See :meth:`Store.capabilities`: LISTEN/NOTIFY (:meth:`listen`), the papers
        table, maintenance and diagnostics; no commit counter (PostgreSQL polls
        ``next_wakeup``)."""
        return self._capabilities

    def run_outside_transaction(self, name: str) -> None:
        """Run the named statement on a pooled connection in autocommit mode: for a
        statement that cannot run inside a transaction (``VACUUM``). A failure is a
        StoreError saying ``<its first keyword> failed on <url>: <reason>``."""
        statement = self.sql(name)
        try:
            with self._pool.connection() as conn:
                conn.autocommit = True
                try:
                    conn.execute(statement)
                finally:
                    conn.autocommit = False  # the pool hands this connection out again
        except psycopg.Error as exc:
            keyword = statement.split(None, 1)[0].upper()
            raise self._failure(StoreError, f"{keyword} failed on {self._display}", exc) from exc
        except PoolTimeout as exc:
            raise self._translate(exc) from exc

    def _redact(self, text: str) -> str:
        """``text`` without this store's password, in any form."""
        return redact_secrets(text, self._secrets)

    def _failure(
        self, kind: type[DbcronError], text: str, exc: BaseException, hint: str = ""
    ) -> DbcronError:
        """A ``kind`` error saying ``text: <the driver's first line>`` (or ``text
        (<first line>)hint`` with a ``hint``), chained to ``exc``: every message, the
        driver's own included, without the password."""
        _scrub(exc, self._secrets)
        reason = _first_line(exc)
        message = f"{text} ({reason}){hint}" if hint else f"{text}: {reason}"
        error = kind(self._redact(message))
        error.__cause__ = exc
        return error

    def _use_prepared_statements(self, use: bool) -> None:
        """Switch server-side prepared statements on (a session is proven) or off (a
        transaction pooler was found): new connections get it from the pool's
        arguments, connections already pooled when they are next taken out."""
        self._prepare_threshold = PREPARE_THRESHOLD if use else None
        self._kwargs["prepare_threshold"] = self._prepare_threshold

    @property
    def prepared_statements(self) -> bool:
        """Whether server-side prepared statements are in use: only where a session is
        proven (a direct connection, or a LISTEN that delivers), never through a
        transaction-mode pooler."""
        return self._prepare_threshold is not None

    @property
    def display_url(self) -> str:
        """The URL with its password replaced by ``***``."""
        return self._display

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        """See :meth:`SqlStore.transaction`."""
        try:
            with self._pool.connection() as conn:
                if conn.prepare_threshold != self._prepare_threshold:
                    conn.prepare_threshold = self._prepare_threshold
                with conn.cursor() as cur:
                    yield cur
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: psycopg.Error | PoolTimeout) -> DbcronError:
        """The dbcron error for a driver error, without the password anywhere."""
        if isinstance(exc, pg_errors.UniqueViolation):
            return self._failure(ConflictError, "duplicate record", exc)
        if isinstance(exc, pg_errors.UndefinedTable):
            return self._failure(
                SchemaError,
                f"database {self._display} has no dbcron tables",
                exc,
                "; run `dbcron init`",
            )
        if isinstance(exc, pg_errors.IntegrityError):
            return self._failure(DataRefusedError, "database refused the write", exc)
        if isinstance(exc, psycopg.DataError):
            return self._failure(DataRefusedError, "database refused a value", exc)
        if isinstance(exc, psycopg.OperationalError | PoolTimeout):
            return self._failure(
                DatabaseUnavailableError, f"lost the database {self._display}", exc
            )
        return self._failure(StoreError, f"PostgreSQL error on {self._display}", exc)

    def _ids_param(self, ids: Sequence[str]) -> Any:
        return _text_array(ids)

    def _notify(self, cur: Cursor) -> None:
        cur.execute(self.sql("notify_wakeup"), {})

    def _before_queue_read(self, cur: Cursor) -> None:
        """Read the queue in index order even with stale statistics (see the query)."""
        cur.execute(self.sql("prefer_index_order"), {})

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
        there, and the scheduler polls instead. Elsewhere the new listener first sends
        itself a NOTIFY through another connection; when it does not arrive within
        :data:`~dbcron.store.postgres_listen.LISTEN_PROBE_SECONDS` (an unannounced
        transaction pooler, on any port), one WARNING says so, LISTEN and prepared
        statements are turned off for good and None is returned. When it arrives, a
        session is proven: prepared statements on.
        """
        if not self.listen_supported:
            return None
        try:
            conn = self._proven_listener()
        except (psycopg.Error, DbcronError) as exc:
            _scrub(exc, self._secrets)
            log.warning(
                "cannot LISTEN on %s (%s); polling for changes instead",
                self._display,
                self._redact(_first_line(exc)),
            )
            return None
        if conn is None:
            return None
        stop = threading.Event()
        threading.Thread(
            target=self._listen_loop, args=(conn, callback, stop), name="dbcron-listen", daemon=True
        ).start()
        return stop.set

    def _proven_listener(self) -> psycopg.Connection[Any] | None:
        """A connection that LISTENs and has received a NOTIFY sent through the pool, or
        None (after a WARNING) when that NOTIFY does not arrive in time."""
        conn, arrived, waited = probe_listener(
            self._url, self.sql("listen"), self.send_listen_probe
        )
        if arrived:
            self._use_prepared_statements(True)
            return conn
        self.listen_enabled = False
        self._use_prepared_statements(False)
        release_listener(conn, self.sql("unlisten"))
        log.warning(
            "LISTEN does not work on %s: a NOTIFY sent to ourselves did not arrive within "
            "%.1f s, probably because a transaction-mode pooler (PgBouncer, Supavisor) is in "
            "between; polling for changes instead, without server-side prepared statements "
            "(add dbcron_listen=off to the URL to skip this check)",
            self._display,
            waited,
        )
        return None

    def send_listen_probe(self) -> None:
        """NOTIFY listeners through a pooled connection, for a new listener to see."""
        with self.transaction() as cur:
            cur.execute(self.sql("notify_probe"), {})

    def _listen_loop(
        self,
        conn: psycopg.Connection[Any] | None,
        callback: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        """Call ``callback`` for every notification until ``stop`` is set, reconnecting
        (and LISTENing again) with backoff when the connection is lost."""
        backoff = Backoff(0.2, 2.0, 2.0, wait=stop.wait)
        try:
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                        conn.execute(self.sql("listen"))
                    backoff.reset()
                    callback()  # anything that changed while we were not listening
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=2.0, stop_after=1):
                            callback()
                except psycopg.Error:
                    if conn is not None:
                        conn.close()
                        conn = None
                    if backoff.wait():
                        return
        finally:
            if conn is not None:
                conn.close()

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
