"""Exponential backoff: the one way dbcron waits for a database to answer again.

Every loop that retries a database operation (SQLite's busy ``BEGIN``, the PostgreSQL
LISTEN connection, the scheduler's loop and start-up, ``dbcron start`` waiting for its
database) uses a :class:`Backoff`. It is pure: time comes from an injectable
``monotonic`` function and waiting goes through an injectable ``wait`` function, so a
stop event can interrupt a wait (``wait=stop.wait``) and tests need no real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dbcron.clock import SYSTEM_CLOCK


def sleep(seconds: float) -> bool:
    """``time.sleep``, as a wait that is never interrupted (returns False)."""
    time.sleep(seconds)
    return False


class Backoff:
    """Delays that start at ``initial`` seconds and grow by ``factor`` up to ``cap``.

    With ``timeout`` (seconds, from the backoff's creation or last :meth:`reset`), the
    backoff :meth:`expired` once that much time has passed. ``wait(seconds)`` waits and
    returns True when it was interrupted (``threading.Event.wait`` of a stop event
    does exactly that); the default sleeps. ``monotonic`` is the clock of the timeout.
    """

    def __init__(
        self,
        initial: float,
        factor: float = 2.0,
        cap: float | None = None,
        *,
        timeout: float | None = None,
        wait: Callable[[float], bool | None] = sleep,
        monotonic: Callable[[], float] = SYSTEM_CLOCK.monotonic,
    ) -> None:
        if initial < 0:
            raise ValueError("initial must not be negative")
        if factor < 1:
            raise ValueError("factor must be at least 1")
        if cap is not None and cap < initial:
            raise ValueError("cap must not be below initial")
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.timeout = timeout
        self._wait = wait
        self._monotonic = monotonic
        self.delay = initial
        """The delay the next :meth:`next_delay` or :meth:`wait` uses."""
        self.attempts = 0
        """Delays handed out since the start (or the last :meth:`reset`)."""
        self._deadline = self._deadline_from_now()

    def _deadline_from_now(self) -> float | None:
        return None if self.timeout is None else self._monotonic() + self.timeout

    def reset(self) -> None:
        """Start again from ``initial`` (the operation succeeded); the timeout restarts."""
        self.delay = self.initial
        self.attempts = 0
        self._deadline = self._deadline_from_now()

    def next_delay(self) -> float:
        """The delay to wait now; the following one grows by ``factor`` (up to ``cap``)."""
        delay = self.delay
        grown = delay * self.factor
        self.delay = grown if self.cap is None else min(grown, self.cap)
        self.attempts += 1
        return delay

    def expired(self) -> bool:
        """True once ``timeout`` seconds have passed (never without a timeout)."""
        return self._deadline is not None and self._monotonic() > self._deadline

    def wait(self) -> bool:
        """Wait the next delay; True when the wait was interrupted (a stop)."""
        return bool(self._wait(self.next_delay()))
