"""Handlers for executor tests, called through the ``python`` job type by dotted path.

Gates live in this process's memory, so :func:`gated` suits thread mode only.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any


class Gate:
    """A handler that started (``entered``) and is waiting to be let go (``opened``)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()


_gates: dict[str, Gate] = {}
_gates_lock = threading.Lock()


def gate(name: str) -> Gate:
    """The gate called ``name`` (made on first use)."""
    with _gates_lock:
        return _gates.setdefault(name, Gate())


def gated(name: str, wait: float = 60.0) -> dict[str, Any]:
    """Say it entered gate ``name``, then block until the test opens it (``wait`` s at
    most)."""
    entered = gate(name)
    entered.entered.set()
    return {"opened": entered.opened.wait(wait)}


def timeline(path: str, ctx: Any, seconds: float = 0.0) -> dict[str, Any]:
    """Append ``start <attempt> <time>`` to ``path``, work ``seconds`` on the first attempt
    only, then append ``end <attempt> <time>``: when each attempt really ran."""
    attempt = ctx.execution.retry_attempt
    with open(path, "a") as handle:
        handle.write(f"start {attempt} {time.time()}\n")
    if attempt == 0 and seconds:
        time.sleep(seconds)  # the handler's own work, overrunning the job's timeout
    with open(path, "a") as handle:
        handle.write(f"end {attempt} {time.time()}\n")
    return {"attempt": attempt}


def start_session(pidfile: str, ctx: Any, track: bool = True) -> None:
    """Start ``sleep 60`` in a session of its own (its pid written to ``pidfile``), tell
    the executor about it when ``track``, then overrun the deadline without stopping it:
    only the executor can end this run, and the session with it."""
    command = subprocess.Popen(["sleep", "60"], start_new_session=True)
    if track:
        ctx.track_process_group(command.pid)
    Path(pidfile).write_text(str(command.pid))
    time.sleep(60)
