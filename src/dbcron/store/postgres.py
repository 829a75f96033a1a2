"""The PostgreSQL backend (self-hosted, Supabase, or any managed PostgreSQL).

psycopg 3 with a connection pool. Pooler-safe by construction: no server-side prepared
statements (``prepare_threshold=None``), no session state (locks are transaction
scoped, nothing is ``SET`` on the session), so it also works through a transaction-mode
pooler such as PgBouncer or Supabase's port 6543.
"""

from __future__ import annotations

import json
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
    DataRefusedError,
    SchemaError,
    StoreError,
)
from dbcron.models import Execution, Outcome
from dbcron.store.base import Cursor, SqlStore, remembered
from dbcron.urls import redact_url


def _json_text(value: Any) -> str:
    """A JSON-able value as compact JSON text (results are checked JSON-able, without
    NaN, before they get here)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_ISO_MEMO: dict[datetime, str] = {}


def _iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 text with its offset (PostgreSQL parses it)."""
    if value is None:
        return None
    return remembered(_ISO_MEMO, value, _iso_aware)


def _iso_aware(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
    return value.isoformat()


def _results_json(rows: list[dict[str, Any]]) -> str:
    """Completion rows as JSON text. A handler's result may hold a NUL character, which
    jsonb refuses ("unsupported Unicode escape sequence"); such strings get U+FFFD
    instead, so that one result cannot make a whole batch of completions fail."""
    text = _json_text(rows)
    if "\\u0000" not in text:
        return text
    return _json_text(_without_nul(rows))


def _without_nul(value: Any) -> Any:
    """``value`` with NUL characters in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def _clean(text: str | None) -> str | None:
    """Text PostgreSQL can store: it refuses NUL characters, which a handler may print."""
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def _text_array(items: Sequence[str]) -> str:
    """A ``text[]`` literal of ``items`` (each element quoted and escaped), bound as
    one text parameter: much cheaper than adapting a Python list element by element."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


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
            raise DataRefusedError(f"database refused the write: {_first_line(exc)}") from exc
        except psycopg.DataError as exc:
            raise DataRefusedError(f"database refused a value: {_first_line(exc)}") from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise DatabaseUnavailableError(
                f"lost the database {self._display}: {_first_line(exc)}"
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error on {self._display}: {_first_line(exc)}") from exc

    def _ids_param(self, ids: Sequence[str]) -> Any:
        return _text_array(ids)

    def _notify(self, cur: Cursor) -> None:
        cur.execute(self.sql("notify_wakeup"), {})

    def _before_queue_read(self, cur: Cursor) -> None:
        """Read the queue in index order even with stale statistics (see the query)."""
        cur.execute(self.sql("prefer_index_order"), {})

    # -- set-based batch writes: one statement per batch instead of one per row --------

    def _insert_new_executions(
        self, cur: Cursor, executions: Sequence[Execution], *, want_ids: bool
    ) -> set[str]:
        """See :meth:`SqlStore._insert_new_executions`: one ``INSERT ... SELECT FROM
        json_to_recordset(...) RETURNING``."""
        rows = [
            {
                "execution_id": e.execution_id,
                "job_id": e.job_id,
                "status": e.status.value,
                "started_at": _iso(e.started_at),
                "finished_at": _iso(e.finished_at),
                "error_message": _clean(e.error_message),
                "retry_attempt": e.retry_attempt,
                "logs": _clean(e.logs),
                "created_at": _iso(e.created_at),
                "scheduled_for": _iso(e.scheduled_for),
                "trigger": e.trigger.value,
                "run_after": _iso(e.run_after or e.scheduled_for),
                "node_id": e.node_id,
                "lease_expires_at": _iso(e.lease_expires_at),
                "fencing_token": e.fencing_token,
                "priority": e.priority,
            }
            for e in executions
        ]
        cur.execute(self.sql("insert_executions_batch"), {"rows": _json_text(rows)})
        return {row["execution_id"] for row in cur.fetchall()}

    def _advance_jobs(self, cur: Cursor, advances: list[tuple[str, Any, Any, Any]]) -> None:
        """See :meth:`SqlStore._advance_jobs`: one ``UPDATE ... FROM
        json_to_recordset(...)``."""
        rows = [
            {
                "job_id": job_id,
                "next_execution": _iso(nxt),
                "previous": _iso(previous),
                "last_fire": _iso(last_fire),
            }
            for job_id, nxt, previous, last_fire in advances
        ]
        cur.execute(
            self.sql("advance_jobs_batch"),
            {"rows": _json_text(rows), "ids": _text_array([a[0] for a in advances])},
        )

    def _start_pending(
        self,
        cur: Cursor,
        chosen: Sequence[Execution],
        now: datetime,
        node_id: str,
        lease_until: datetime,
    ) -> None:
        """See :meth:`SqlStore._start_pending`: one ``UPDATE ... WHERE id = ANY(...)``."""
        cur.execute(
            self.sql("start_pending_batch"),
            {
                "ids": _text_array([e.execution_id for e in chosen]),
                "now": now,
                "node_id": node_id,
                "lease_expires_at": lease_until,
            },
        )

    def _finish_running(self, cur: Cursor, outcomes: Sequence[Outcome]) -> set[str]:
        """See :meth:`SqlStore._finish_running`: one ``UPDATE ... FROM
        json_to_recordset(...) RETURNING``; the fencing-token check is in its WHERE."""
        rows = [
            {
                "execution_id": o.execution_id,
                "fencing_token": o.fencing_token,
                "status": o.status.value,
                "finished_at": _iso(o.finished_at),
                "duration_seconds": o.duration_seconds,
                "result": o.result,
                "error_message": _clean(o.error_message),
                "logs": _clean(o.logs),
            }
            for o in outcomes
        ]
        cur.execute(
            self.sql("finish_running_batch"),
            {
                "rows": _results_json(rows),
                "ids": _text_array([o.execution_id for o in outcomes]),
            },
        )
        return {row["execution_id"] for row in cur.fetchall()}

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
