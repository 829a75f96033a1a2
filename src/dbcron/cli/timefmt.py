"""Times as people read them: in the job's zone, and relative to now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dbcron.relative_time import relative

__all__ = ["local", "local_and_relative", "relative"]


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
