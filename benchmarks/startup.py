"""CLI start-up (issue #12): ``dbcron --help`` and ``dbcron list`` on SQLite in under 0.25 s.

Method. Four command lines run as subprocesses of the benchmark, in turn (so that the
machine's noise falls on all of them alike), ``runs`` times each after two untimed
warm-up runs: ``dbcron --help``, ``dbcron --db sqlite:///.../bench.db list`` on a
database that ``dbcron init`` and ``dbcron seed`` prepared (three jobs),
``python -c "import dbcron"``, and, for reference, an interpreter that imports only the
libraries ``dbcron list`` cannot do without (the floor under it). ``dbcron`` is the
virtual environment's console script (what a user runs); the working directory is the
database's scratch folder (no ``config.yaml``, no ``.env``) and no ``DBCRON_*`` variable
is passed on. The figure is the wall time from spawn to exit: median, p95 (nearest rank)
and the fastest run.

Two conditions of Python's bytecode cache, each with its own cache folder
(``PYTHONPYCACHEPREFIX``, so nothing is written next to the sources):

- ``cached``: every module's bytecode cached, as in an installed dbcron (pip compiles a
  wheel's modules when it installs them) or an editable install after its first run.
  This is what the 0.25 s target is about.
- ``uncached``: the installed libraries cached, dbcron's own modules compiled from source
  on every start: an editable install run with ``PYTHONDONTWRITEBYTECODE=1`` (as in this
  repository's development container, where ``.venv/bin/dbcron`` runs that way).

``--against REV`` times the source tree of git revision REV too (``git archive`` into a
scratch folder, put first on ``PYTHONPATH``; same virtual environment), alternated with
this tree's, for before/after figures measured in one sitting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import PYTHON, REPO, bench_database, median, percentile, run_cli

#: ``dbcron --help`` and ``dbcron list`` must start (and finish) within this (issue #12).
TARGET_S = 0.25
#: Timed runs of each command line (``--runs``); ``--quick`` takes fewer.
RUNS = 21
QUICK_RUNS = 7
WARM_UP_RUNS = 2
#: The command lines, by name: ``{db}`` is the database URL.
COMMANDS: dict[str, list[str]] = {
    "help": ["{dbcron}", "--help"],
    "list": ["{dbcron}", "--db", "{db}", "list"],
    "import": [PYTHON, "-c", "import dbcron"],
    # The libraries every command line that parses an option imports, and nothing of
    # dbcron's: Typer (with its copy of Click), Rich, pydantic (Typer 0.29 converts
    # option values with it: typer._adapters), importlib.metadata (pydantic's plugin
    # lookup), sqlite3. The floor under ``dbcron list``.
    "libraries": [
        PYTHON,
        "-c",
        "import typer.main, typer._adapters, rich.console, rich.table, importlib.metadata, sqlite3",
    ],
}
#: How the table names them.
LABELS = {
    "help": "dbcron --help",
    "list": "dbcron list (SQLite, 3 jobs)",
    "import": "python -c 'import dbcron'",
    "libraries": "the libraries alone (typer, rich, pydantic, sqlite3)",
}
#: The commands the target applies to.
TARGETED = ("help", "list")
MODES = ("cached", "uncached")


def dbcron_script() -> str:
    """The virtual environment's ``dbcron`` console script."""
    script = Path(PYTHON).with_name("dbcron")
    if not script.exists():
        raise RuntimeError(f"no dbcron console script next to {PYTHON}")
    return str(script)


def _base_env(source: Path | None) -> dict[str, str]:
    """The environment of a timed run: no dbcron settings, no inherited ``PYTHONPATH``;
    ``source`` (another revision's ``src``) first on the path when given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBCRON_", "PYTHON")) and k not in ("DATABASE_URL", "SUPABASE_DB_URL")
    }
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def _mode_env(base: dict[str, str], mode: str, cache: Path) -> dict[str, str]:
    env = dict(base, PYTHONPYCACHEPREFIX=str(cache))
    if mode == "uncached":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _package_dir(env: dict[str, str], cwd: Path) -> Path:
    """Where the interpreter run with ``env`` imports dbcron from."""
    done = subprocess.run(
        [PYTHON, "-c", "import dbcron, os; print(os.path.dirname(dbcron.__file__))"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def _drop_cached(cache: Path, package: Path) -> None:
    """Remove the cached bytecode of ``package`` (its mirror under the cache prefix)."""
    shutil.rmtree(cache / package.relative_to(package.anchor), ignore_errors=True)


@contextmanager
def _revision_source(rev: str) -> Iterator[Path]:
    """The ``src`` folder of git revision ``rev``, exported to a scratch folder."""
    folder = Path(tempfile.mkdtemp(prefix="dbcron-bench-src-"))
    try:
        archive = folder / "src.tar"
        with archive.open("wb") as out:
            subprocess.run(["git", "archive", rev, "src"], cwd=REPO, stdout=out, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        yield folder / "src"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of one run of ``argv``; a failing run is an error."""
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode().strip()}")
    return took


def _figures(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "median_s": round(median(ordered), 4),
        "p95_s": round(percentile(ordered, 0.95), 4),
        "min_s": round(ordered[0], 4),
        "samples_s": [round(s, 4) for s in samples],
    }


def run(quick: bool, runs: int | None = None, against: str | None = None) -> dict[str, Any]:
    """Time every command line in both bytecode conditions, this tree (and ``against``)."""
    count = runs or (QUICK_RUNS if quick else RUNS)
    script = dbcron_script()
    with bench_database("sqlite") as db, _maybe_revision(against) as old_source:
        run_cli(db, "seed")
        lines = {
            name: [part.format(dbcron=script, db=db.url) for part in argv]
            for name, argv in COMMANDS.items()
        }
        trees = {"this tree": None, **({against: old_source} if against else {})}
        out: dict[str, Any] = {
            "target_s": TARGET_S,
            "runs": count,
            "commands": dict(LABELS),
            "trees": {},
        }
        for mode in MODES:
            caches = {tree: db.workdir / f"pycache-{mode}-{i}" for i, tree in enumerate(trees)}
            envs = {
                tree: _mode_env(_base_env(source), mode, caches[tree])
                for tree, source in trees.items()
            }
            for tree, env in envs.items():  # fill the caches, warm the file cache
                warm = dict(env)
                warm.pop("PYTHONDONTWRITEBYTECODE", None)
                for _ in range(WARM_UP_RUNS):
                    for argv in lines.values():
                        _run(argv, warm, db.workdir)
                if mode == "uncached":
                    _drop_cached(caches[tree], _package_dir(env, db.workdir))
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(count):
                for tree, env in envs.items():
                    for name, argv in lines.items():
                        samples.setdefault((tree, name), []).append(_run(argv, env, db.workdir))
            for (tree, name), taken in samples.items():
                entry = out["trees"].setdefault(tree, {}).setdefault(mode, {})
                entry[name] = _figures(taken)
                print(
                    f"  startup {tree:<12} {mode:<8} {name:<6} median "
                    f"{entry[name]['median_s']:.3f} s, p95 {entry[name]['p95_s']:.3f} s, "
                    f"min {entry[name]['min_s']:.3f} s",
                    flush=True,
                )
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out


@contextmanager
def _maybe_revision(rev: str | None) -> Iterator[Path | None]:
    if rev is None:
        yield None
        return
    with _revision_source(rev) as source:
        yield source


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
