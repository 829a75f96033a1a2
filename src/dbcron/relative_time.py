"""A moment relative to now, as people say it: ``in 3 min``, ``5 h ago``. Shared by the
CLI's tables and the dashboard's ``<time>`` elements."""

from __future__ import annotations

from datetime import datetime

__all__ = ["relative"]

_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def relative(
    when: datetime, now: datetime, *, now_within: float = 1.0, now_text: str = "now"
) -> str:
    """``in 3 min``, ``5 h ago`` (the largest whole unit of d, h, min, s); ``now_text``
    when ``when`` is less than ``now_within`` seconds from ``now``."""
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    if span < max(now_within, 1.0):
        return now_text
    unit, size = next((unit, size) for unit, size in _UNITS if span >= size)
    text = f"{int(span // size)} {unit}"
    return f"in {text}" if seconds >= 0 else f"{text} ago"
