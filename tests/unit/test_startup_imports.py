"""The CLI starts without importing what its command does not need (issue #12).

How fast it starts is measured by ``python -m benchmarks startup``; these tests guard
what makes it fast, without timing anything: the modules a fresh interpreter has
imported once ``import dbcron``, ``dbcron --help`` and ``dbcron list`` on SQLite ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Runs one dbcron command line (argv[2:]) in-process, then writes the names of every
#: module imported to the file argv[1]; exits with the command's status.
PROBE = """
import json, sys
from dbcron.cli.app import invoke
code = invoke(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""

#: Libraries that no start of the CLI needs unless its command uses them: the
#: PostgreSQL driver, the HTTP client, the YAML and .env parsers (no config file or .env
#: here), the cron library, JSON logging, the web stack, multiprocessing.
HEAVY_LIBRARIES = {
    "psycopg",
    "psycopg_pool",
    "httpx",
    "yaml",
    "dotenv",
    "cronsim",
    "pythonjsonlogger",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "prometheus_client",
    "multiprocessing",
}
#: dbcron's parts that reading jobs does not use: the engine and the executors, the job
#: types, the event classes, the cron compiler, jobs as files, the doctor, the
#: operations, the daemon, the Python API and the web app.
UNUSED_PARTS = {
    "dbcron.engine.scheduler",
    "dbcron.execution",
    "dbcron.handlers",
    "dbcron.events",
    "dbcron.cron",
    "dbcron.service.jobfiles",
    "dbcron.service.doctor",
    "dbcron.service.operations",
    "dbcron.daemon",
    "dbcron.runner",
    "dbcron.api",
    "dbcron.web",
}
#: Besides, ``--help`` needs no settings, runtime, store or services (nor pydantic).
NOT_FOR_HELP = {
    "pydantic",
    "dbcron.config",
    "dbcron.runtime",
    "dbcron.manager",
    "dbcron.store.sqlite",
}


def _env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DBCRON_") and k not in ("DATABASE_URL", "SUPABASE_DB_URL")
    }


def _probe(cwd: Path, *argv: str) -> tuple[set[str], str]:
    """The modules imported by running ``dbcron ARGV`` in a fresh interpreter, and its
    standard output; the command must succeed."""
    modules_file = cwd / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(modules_file), *argv],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(modules_file.read_text())), done.stdout


def _loaded(modules: set[str], names: set[str]) -> list[str]:
    """The members of ``names`` that are in ``modules``, as packages or their modules."""
    return sorted(
        name for name in names if any(m == name or m.startswith(name + ".") for m in modules)
    )


def test_import_dbcron_imports_only_the_version() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys, dbcron; print(json.dumps(sorted(sys.modules)))"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = set(json.loads(done.stdout))
    assert sorted(m for m in modules if m.startswith("dbcron")) == ["dbcron", "dbcron.version"]
    assert _loaded(modules, HEAVY_LIBRARIES | {"pydantic", "typer", "rich"}) == []


def test_public_names_are_imported_on_first_use() -> None:
    import dbcron
    from dbcron.models import Job

    assert dbcron.Job is Job
    assert "create_database_manager" in dir(dbcron)
    with pytest.raises(AttributeError, match="no attribute 'Jobs'"):
        _ = dbcron.Jobs  # type: ignore[attr-defined]


def test_help_imports_no_settings_store_or_heavy_library(tmp_path: Path) -> None:
    modules, out = _probe(tmp_path, "--help")
    assert "list" in out and "doctor" in out  # the help really ran, every command in it
    assert _loaded(modules, HEAVY_LIBRARIES | UNUSED_PARTS | NOT_FOR_HELP) == []


def test_list_on_sqlite_imports_only_what_reading_jobs_needs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    for command in ("init", "seed"):
        subprocess.run(
            [sys.executable, "-m", "dbcron", "--db", url, command],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            timeout=60,
            check=True,
        )
    modules, out = _probe(tmp_path, "--db", url, "list")
    assert "Heartbeat" in out  # the seeded jobs were read and printed
    assert "dbcron.store.sqlite" in modules
    assert _loaded(modules, HEAVY_LIBRARIES | UNUSED_PARTS) == []


def test_the_lazy_group_is_the_group_typer_builds() -> None:
    """The root group that builds its commands on lookup lists the same commands and
    sub-groups, in the same order, with the same help, as the one Typer builds whole."""
    import typer.main

    from dbcron.cli.app import _root_group, app

    eager, lazy = typer.main.get_command(app), _root_group()
    assert isinstance(eager, type(lazy))
    ctx = eager.make_context("dbcron", ["--help"], resilient_parsing=True)
    names = eager.list_commands(ctx)
    assert "list" in names and "web-user" in names
    assert lazy.list_commands(ctx) == names
    for name in names:
        built, looked_up = eager.get_command(ctx, name), lazy.get_command(ctx, name)
        assert built is not None and looked_up is not None
        sub = built.make_context(name, ["--help"], parent=ctx, resilient_parsing=True)
        assert looked_up.get_help(sub) == built.get_help(sub), name
    assert lazy.get_command(ctx, "no-such-command") is None
    assert lazy.get_help(ctx) == eager.get_help(ctx)
