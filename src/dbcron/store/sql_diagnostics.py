"""The diagnostics every SQL store answers (:class:`~dbcron.store.diagnostics.Diagnostics`)
from its backend's named queries (``diagnostics.sql``)."""

from __future__ import annotations

from collections.abc import Sequence

from dbcron.store.backend import SqlBackend
from dbcron.store.diagnostics import ListenProbe, RowSecurity


class SqlDiagnostics:
    """The diagnostics every SQL store answers from its named queries (``diagnostics.sql``
    of its backend); a backend overrides what only it has."""

    def __init__(self, store: SqlBackend) -> None:
        self._store = store

    def ping(self) -> None:
        """See :meth:`Diagnostics.ping`."""
        with self._store.transaction(write=False) as cur:
            cur.execute(self._store.sql("ping"), {})
            cur.fetchone()

    def journal_mode(self) -> str | None:
        """See :meth:`Diagnostics.journal_mode`."""
        if self._store.backend != "sqlite":
            return None
        with self._store.transaction(write=False) as cur:
            cur.execute(self._store.sql("journal_mode"), {})
            return str(cur.fetchone()[0]).lower()

    def listen_probe(self) -> ListenProbe | None:
        """See :meth:`Diagnostics.listen_probe`: None (no LISTEN here)."""
        return None

    def row_security(self, tables: Sequence[str], roles: Sequence[str]) -> RowSecurity | None:
        """See :meth:`Diagnostics.row_security`: None (no roles here)."""
        return None
