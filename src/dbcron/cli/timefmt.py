"""Times as people read them: in the job's zone, and relative to now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def relative(when: datetime, now: datetime) -> str:
    """``in 3 min``, ``5 h ago``, ``now``."""
    seconds = (when - now).total_seconds()
    future = seconds >= 0
    span = abs(seconds)
    if span < 1:
        return "now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if span >= size:
            amount = int(span // size)
            text = f"{amount} {unit}"
            break
    return f"in {text}" if future else f"{text} ago"


def local(when: datetime | None, zone: str = "UTC", seconds: bool = False) -> str:
    """``2026-11-29 09:00 CET`` in the given IANA zone; ``-`` for None."""
    if when is None:
        return "-"
    converted = when.astimezone(ZoneInfo(zone))
    fmt = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return converted.strftime(fmt)


def local_and_relative(when: datetime | None, zone: str, now: datetime) -> str:
    """``2026-11-29 09:00 CET (in 16 h)``; ``-`` for None."""
    if when is None:
        return "-"
    return f"{local(when, zone)} ({relative(when, now)})"
