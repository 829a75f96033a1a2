"""Injectable time.

Everything inside dbcron asks a :class:`Clock` for the time instead of calling
``datetime.now()``, so that cron, retry and lease maths can be tested with a
:class:`FakeClock`. Every datetime a clock returns is aware and in UTC.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime:
        """The current instant, an aware datetime in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards, for measuring durations."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


#: The process-wide real clock: the default wherever no clock is injected.
SYSTEM_CLOCK: Clock = SystemClock()


class FakeClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The fake current instant."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Seconds advanced since the clock was made."""
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new instant."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (which may not be earlier than now)."""
        with self._lock:
            target = instant.astimezone(UTC)
            if target < self._now:
                raise ValueError("FakeClock cannot go backwards")
            self._mono += (target - self._now).total_seconds()
            self._now = target


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime; naive datetimes are refused."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()} where an aware one is required")
    return dt.astimezone(UTC)
