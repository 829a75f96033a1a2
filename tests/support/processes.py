"""Process trees on Linux, read from /proc: a scheduler's worker processes are its
children (each in its own process group), and outlive it when it is killed with -9."""

from __future__ import annotations

import contextlib
import os
import signal
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path


def _parents() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        children[int(fields[1])].append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """The process ids of every live descendant of ``pid`` (children first)."""
    tree = _parents()
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2 :].split()[0] != "Z"


def kill_all(pids: Iterable[int], command_has: str = "python") -> None:
    """SIGKILL each of ``pids`` that is still alive and whose command line contains
    ``command_has`` (so that a reused process id is left alone)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            if command_has.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
