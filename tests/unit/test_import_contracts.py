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
