"""What ``dbcron doctor`` asks PostgreSQL beyond a round trip: the pooler and LISTEN,
probed on connections of its own, and row level security of dbcron's tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row

from dbcron.store.diagnostics import ListenProbe, ListenState, RowSecurity, TableSecurity
from dbcron.store.postgres_listen import (
    _reaches_server_directly,
    probe_listener,
    release_listener,
)
from dbcron.store.postgres_redaction import _first_line, _scrub
from dbcron.store.postgres_values import _text_array
from dbcron.store.sql_diagnostics import SqlDiagnostics

if TYPE_CHECKING:  # postgres.py builds this capability
    from dbcron.store.postgres import PostgresStore


class PostgresDiagnostics(SqlDiagnostics):
    """:class:`~dbcron.store.diagnostics.Diagnostics` of a PostgreSQL store."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)
        self._pg = store

    def listen_probe(self) -> ListenProbe:
        """See :meth:`Diagnostics.listen_probe`. The store itself is left as it is (its
        LISTEN setting and prepared statements); a probe NOTIFY wakes running schedulers
        once, which costs them one look for work."""
        store = self._pg
        try:
            with psycopg.connect(
                store.url, autocommit=True, row_factory=dict_row, connect_timeout=5
            ) as conn:
                ends = conn.execute(store.sql("connection_ends")).fetchone()
                direct = ends is not None and _reaches_server_directly(conn, ends)
        except psycopg.Error as exc:
            raise store._translate(exc) from exc
        if not store.listen_supported:
            return ListenProbe(direct, ListenState.OFF, self._off_reason(), None)
        try:
            listener, arrived, waited = probe_listener(
                store.url, store.sql("listen"), store.send_listen_probe
            )
        except psycopg.Error as exc:
            return ListenProbe(direct, ListenState.FAILED, self._reason(exc), None)
        release_listener(listener, store.sql("unlisten"))
        state = ListenState.DELIVERS if arrived else ListenState.SILENT
        return ListenProbe(direct, state, "", waited)

    def _off_reason(self) -> str:
        if self._pg.listen_enabled is False:
            return "dbcron_listen=off in the URL, or database.listen: off"
        try:
            port = urlsplit(self._pg.url).port
        except ValueError:
            port = None
        return f"port {port}: Supabase's transaction pooler"

    def _reason(self, exc: psycopg.Error) -> str:
        """The driver's first line, without the password."""
        _scrub(exc, self._pg._secrets)
        return self._pg._redact(_first_line(exc))

    def row_security(self, tables: Sequence[str], roles: Sequence[str]) -> RowSecurity:
        """See :meth:`Diagnostics.row_security`."""
        store = self._pg
        params: dict[str, Any] = {"tables": _text_array(tables), "roles": _text_array(roles)}
        with store.transaction(write=False) as cur:
            cur.execute(store.sql("existing_roles"), params)
            existing = [row["rolname"] for row in cur.fetchall()]
            cur.execute(store.sql("row_security"), params)
            secured = {row["table_name"]: bool(row["row_security"]) for row in cur.fetchall()}
            cur.execute(store.sql("role_table_privileges"), params)
            granted: dict[str, dict[str, list[str]]] = {}
            for row in cur.fetchall():
                held = granted.setdefault(row["table_name"], {})
                held.setdefault(row["role_name"], []).append(row["privilege"])
        return RowSecurity(
            roles=existing,
            tables=[
                TableSecurity(table, secured[table], granted.get(table, {}))
                for table in sorted(secured)
            ],
        )
