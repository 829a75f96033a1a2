"""Architecture rules that import-linter cannot see (it checks imports, not calls).

The import contracts themselves are in pyproject.toml (``[tool.importlinter]``) and run
by ``make lint`` (``lint-imports``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import dbcron

PACKAGE = Path(dbcron.__file__).parent

#: Modules outside dbcron.cli allowed to call print(), each with the reason.
ALLOWED = {
    # A forked worker emulates the interpreter for ``raise SystemExit("message")``: the
    # message goes to the run's stderr, which is captured into the execution's logs
    # (not the user's terminal). Owned by the process-pool work; sys.stderr.write
    # there would let this entry go.
    "dbcron/execution/forkserver.py",
}


def print_calls(source: str) -> list[int]:
    """Line numbers of the ``print(...)`` calls in ``source``."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]


def test_the_scan_finds_print_calls() -> None:
    assert print_calls("x = 1\nprint(x)\nconsole.print(x)\nif x:\n    print()\n") == [2, 5]


def test_nothing_outside_the_cli_prints() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent).as_posix()}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (PACKAGE / "cli") not in path.parents
        and path.relative_to(PACKAGE.parent).as_posix() not in ALLOWED
        for line in print_calls(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "print() outside dbcron.cli (log, or let the CLI print): " + ", ".join(
        offenders
    )


#: Modules allowed to read the time directly, each with the reason. Only the clock:
#: everything else asks a ``dbcron.clock.Clock``, so that tests can fake the time.
CLOCK_READERS = {"dbcron/clock.py"}

#: ``module.function`` reads of the time that must go through a clock.
TIME_READS = {
    ("time", "monotonic"),
    ("time", "time"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
}


def time_reads(source: str) -> list[int]:
    """Line numbers where ``source`` reads the time without a clock: calls of (or
    references to) ``time.monotonic``, ``time.time``, ``datetime.now`` and
    ``datetime.utcnow`` (``datetime.datetime.now`` too), and ``from time import`` of
    ``monotonic`` or ``time``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            owner = node.value
            name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else None
            )
            if (name, node.attr) in TIME_READS:
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "time"
            and any(("time", alias.name) in TIME_READS for alias in node.names)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_finds_time_reads() -> None:
    source = (
        "import time\n"
        "a = time.monotonic()\n"
        "b = datetime.now(UTC)\n"
        "c = datetime.datetime.utcnow()\n"
        "d = time.time()\n"
        "def f(m=time.monotonic): ...\n"
        "from time import monotonic\n"
        "time.sleep(1)\n"
        "clock.monotonic()\n"
        "clock.now()\n"
        "datetime.fromisoformat(x)\n"
    )
    assert time_reads(source) == [2, 3, 4, 5, 6, 7]


def test_only_the_clock_reads_the_time() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent).as_posix()}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE.parent).as_posix() not in CLOCK_READERS
        for line in time_reads(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        "the time read outside dbcron.clock (ask a Clock: ctx.clock in handlers, an "
        "injected clock, or dbcron.clock.SYSTEM_CLOCK): " + ", ".join(offenders)
    )
