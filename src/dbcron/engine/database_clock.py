"""The one clock that due times and leases are compared with.

On SQLite (one host's file) it is the host clock. On PostgreSQL, where schedulers and
command-line tools on several hosts share one database, it is the database's clock: every
due time, ``run_after`` and lease that anyone writes is on the clock the schedulers
compare with, so that a host whose clock is off can neither delay a trigger nor skip a
fire (design.md section 5).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from dbcron.clock import Clock, SystemClock
from dbcron.errors import StoreError
from dbcron.store.protocol import Store

#: Seconds between two measurements of the database clock's offset.
REFRESH_SECONDS = 30.0


class DatabaseClock:
    """The database's clock, read cheaply: the offset between it and the local clock is
    measured every ``refresh`` seconds and applied to the local clock in between."""

    def __init__(self, store: Store, local: Clock, refresh: float = REFRESH_SECONDS) -> None:
        self._store = store
        self._local = local
        self._refresh = refresh
        self._offset = timedelta(0)
        self._measured = -1e9
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The database's current time (by the last measured offset; while the database
        cannot be reached, the last offset known)."""
        mono = self._local.monotonic()
        if mono - self._measured > self._refresh:
            try:
                self.measure()
            except StoreError:
                self._measured = mono  # try again after the next refresh period
        with self._lock:
            return self._local.now() + self._offset

    def monotonic(self) -> float:
        """The local monotonic clock."""
        return self._local.monotonic()

    def measure(self) -> None:
        """Measure the offset now (half the round trip is assumed each way)."""
        before = self._local.now()
        remote = self._store.database_now()
        after = self._local.now()
        with self._lock:
            self._offset = remote - (before + (after - before) / 2)
            self._measured = self._local.monotonic()


def clock_for(store: Store, local: Clock | None = None) -> Clock:
    """The clock to compare due times with on ``store``: the database's clock on
    PostgreSQL, ``local`` (the host clock by default) on SQLite."""
    host = local or SystemClock()
    if store.backend == "postgresql":
        return DatabaseClock(store, host)
    return host
