"""Run the ``dbcron`` CLI as a real subprocess against real databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import BACKENDS

HERMETIC_DROP = ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY")


@dataclass
class Result:
    """What one CLI run did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``python -m dbcron`` in a scratch directory against one database."""

    url: str
    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str | None = None, db: bool = True) -> Result:
        argv = [sys.executable, "-m", "dbcron", *(["--db", self.url] if db else []), *args]
        proc = subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, stdin: str | None = None) -> Result:
        result = self(*args, stdin=stdin)
        assert result.code == 0, f"dbcron {' '.join(args)} failed: {result.err}"
        assert "Traceback" not in result.err
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """``dbcron --db URL ARGS`` started in the background, stdout and stderr piped."""
        return subprocess.Popen(
            [sys.executable, "-m", "dbcron", "--db", self.url, *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def shell_job(self, name: str, command: str) -> str:
        """Create a yearly shell job running ``command`` through the shell, no retries;
        its id."""
        config = json.dumps({"command": command, "shell": True})
        created = self.ok(
            "create", name, "shell", "@yearly", "--config", config, "--retries", "0", "--json"
        ).json()  # fmt: skip
        return str(created["job_id"])

    @contextmanager
    def scheduler(self, executor: str = "thread", **env: str) -> Iterator[subprocess.Popen[bytes]]:
        """``dbcron start --executor EXECUTOR`` as a subprocess (``env`` added to its
        environment) for the block, then SIGTERM and wait."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "dbcron", "--db", self.url, "start", "--executor", executor],
            cwd=self.cwd,
            env={**self.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def dump(self) -> list[tuple[Any, ...]]:
        """Every row of dbcron's tables, to prove that a command changed nothing."""
        rows: list[tuple[Any, ...]] = []
        if self.url.startswith("sqlite"):
            import sqlite3

            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            try:
                for table in ("jobs", "job_executions", "scheduler_nodes", "dbcron_schema_version"):
                    rows += [(table, *r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
            finally:
                conn.close()
            return rows
        with psycopg.connect(self.url) as conn:
            for table in ("jobs", "job_executions", "scheduler_nodes", "dbcron_schema_version"):
                rows += [(table, *r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
        return rows


def make_env(home: Path) -> dict[str, str]:
    """The test process's environment without database settings, with HOME in ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in HERMETIC_DROP and not k.startswith("DBCRON_")
    }
    env["HOME"] = str(home)
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def hermetic_env(tmp_path: Path) -> dict[str, str]:
    return make_env(tmp_path)


@pytest.fixture(params=BACKENDS)
def cli(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    hermetic_env: dict[str, str],
    make_pg_database: Callable[[], str],
) -> Cli:
    """A CLI runner on a fresh, uninitialised database of each backend."""
    url = f"sqlite:///{tmp_path / 'dbcron.db'}" if request.param == "sqlite" else make_pg_database()
    return Cli(url=url, cwd=tmp_path, env=hermetic_env)
