"""The :class:`Diagnostics` capability: what ``dbcron doctor`` asks a store about its
database beyond the :class:`~dbcron.store.protocol.Store` protocol (a round trip, SQLite's
journal mode, PostgreSQL's pooler and LISTEN, row level security), and its records. The
SQL stores answer it in :mod:`~dbcron.store.sql_diagnostics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class ListenState(Enum):
    """What LISTEN/NOTIFY does on a PostgreSQL connection."""

    DELIVERS = "delivers"
    """A NOTIFY sent through another connection reached the listener: schedulers wake on
    notifications."""
    SILENT = "silent"
    """The NOTIFY did not arrive in time (a transaction-mode pooler in between):
    schedulers find that out at start-up and poll."""
    OFF = "off"
    """LISTEN is not tried (port 6543, ``dbcron_listen=off``, ``database.listen: off``):
    schedulers poll."""
    FAILED = "failed"
    """LISTEN itself failed (its reason in :attr:`ListenProbe.reason`): schedulers poll."""


@dataclass(frozen=True, slots=True)
class ListenProbe:
    """How a PostgreSQL store reaches its server, probed on new connections (the store's
    own way of working is left as it is)."""

    direct: bool
    """A connection reaches the server itself: the client port the server sees is the
    socket's own (no pooler or proxy in between)."""
    listen: ListenState
    reason: str
    """Why LISTEN is off, or why it failed; empty otherwise."""
    seconds: float | None
    """How long the NOTIFY took to arrive (or was waited for); None when not tried."""


@dataclass(frozen=True, slots=True)
class TableSecurity:
    """Row level security of one dbcron table and what the asked-for roles may do on it."""

    table: str
    row_security: bool
    """Whether row level security is enabled on the table."""
    privileges: dict[str, list[str]]
    """Role -> the table privileges it holds (SELECT, INSERT, ...), only roles with any."""


@dataclass(frozen=True, slots=True)
class RowSecurity:
    """Row level security of dbcron's tables, as seen from the public API roles."""

    roles: list[str]
    """Those of the asked-for roles that exist."""
    tables: list[TableSecurity]
    """The asked-for tables that exist, by name."""


class Diagnostics(Protocol):
    """What ``dbcron doctor`` asks a store about its database."""

    def ping(self) -> None:
        """One round trip to the database (``SELECT 1``)."""
        ...

    def journal_mode(self) -> str | None:
        """SQLite's journal mode (``wal`` expected); None for a server database."""
        ...

    def listen_probe(self) -> ListenProbe | None:
        """PostgreSQL: whether a connection reaches the server directly and whether
        LISTEN/NOTIFY delivers, probed now on connections of its own (taking up to the
        schedulers' 1.5 s probe); None on SQLite."""
        ...

    def row_security(self, tables: Sequence[str], roles: Sequence[str]) -> RowSecurity | None:
        """PostgreSQL: row level security of ``tables`` in the current schema and the
        privileges that those of ``roles`` that exist hold on them; None on SQLite (no
        roles)."""
        ...
