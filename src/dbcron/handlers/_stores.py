"""One open store per database URL per process, for handlers that use the database.

Worker processes run many executions; opening a store (a PostgreSQL pool, or a SQLite
connection per thread) for each would be wasteful, so handlers share one. The cache is
keyed by process id too: a store inherited through ``fork`` is never reused, because
its connections belong to the parent.
"""

from __future__ import annotations

import atexit
import os
import threading

from dbcron.handlers.context import HandlerContext, HandlerFailed
from dbcron.store import Store, open_store

_lock = threading.Lock()
_stores: dict[tuple[int, str], Store] = {}

#: Connections a handler store may hold on PostgreSQL (handlers run one at a time
#: per worker thread; the scheduler has its own pool).
HANDLER_POOL_SIZE = 2


def store_for(ctx: HandlerContext) -> Store:
    """The shared store of the execution's database (``ctx.database_url``).

    Raises HandlerFailed when the context carries no database URL.
    """
    if not ctx.database_url:
        raise HandlerFailed(
            f"job type {ctx.job.job_type} needs the scheduler's database, "
            "but this execution was given no database URL"
        )
    return shared_store(ctx.database_url)


def shared_store(url: str) -> Store:
    """The process's store for ``url``, opened on first use."""
    key = (os.getpid(), url)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = open_store(url, pool_size=HANDLER_POOL_SIZE)
            _stores[key] = store
        return store


def close_shared_stores() -> None:
    """Close every store this process opened (at exit, and between tests)."""
    with _lock:
        mine = [key for key in _stores if key[0] == os.getpid()]
        stores = [_stores.pop(key) for key in mine]
        _stores.clear()
    for store in stores:
        store.close()


atexit.register(close_shared_stores)
