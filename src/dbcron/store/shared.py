"""One open store per database URL per process, for handlers that use the database.

Worker processes run many executions; opening a store (a PostgreSQL pool, or a SQLite
connection per thread) for each would be wasteful, so handlers share one, which they
get through :meth:`dbcron.handlers.context.HandlerContext.store`. The cache is keyed
by process id too: a store inherited through ``fork`` is never reused, because its
connections belong to the parent.
"""

from __future__ import annotations

import atexit
import os
import threading

from dbcron.store import open_store
from dbcron.store.protocol import Store

_lock = threading.Lock()
_stores: dict[tuple[int, str], Store] = {}

#: Connections a handler store may hold on PostgreSQL (handlers run one at a time
#: per worker thread; the scheduler has its own pool).
HANDLER_POOL_SIZE = 2


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
