"""Handlers the benchmarks run through the ``python`` job type (by dotted path)."""

from __future__ import annotations

import time
from typing import Any


def noop() -> dict[str, Any]:
    """Do nothing, quickly (the W1 and W4 handler)."""
    return {"ok": True}


def stamp() -> dict[str, float]:
    """Return the wall-clock time at which the handler was entered (the W2 handler).

    ``started_at`` is stamped by the scheduler; this is when user code actually ran.
    """
    return {"t": time.time()}
