"""The part of a SQL store that every backend shares.

A backend supplies connections, transactions, error translation and the encoding of
timestamps and JSON; this class supplies every :class:`~dbcron.store.protocol.Store`
method on top of the backend's named queries, so the two backends cannot drift apart
in behaviour, only in SQL dialect.
"""

from __future__ import annotations

from dbcron.store.engine import SqlEngine

__all__ = ["SqlStore"]


class SqlStore(SqlEngine):
    """Implements the Store protocol over a backend's named queries.

    Its operations come per concern: the schema and the backend's parts
    (:mod:`~dbcron.store.backend`), jobs (:mod:`~dbcron.store.jobs`), executions
    (:mod:`~dbcron.store.executions`), nodes (:mod:`~dbcron.store.nodes`) and the engine's
    transactions (:mod:`~dbcron.store.engine`).
    """
