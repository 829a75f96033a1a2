"""``python`` jobs import their module from the scheduler's working directory and from
``handlers.paths``: through ``dbcron run`` (process and thread mode) and a ``dbcron
start`` scheduler in process mode; a module that cannot be imported fails the run with
one line naming it and the directories searched.

These run the installed ``dbcron`` console script, as users do: ``python -m dbcron``
would put the working directory on the path by itself and prove nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli
from tests.support.waiting import wait_for

DBCRON = Path(sys.executable).parent / "dbcron"
MODULE = """\
import os


def run(tag="?"):
    return {"tag": tag, "module": __name__, "pid": os.getpid()}
"""


def dbcron(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script in the test's directory, on its database and config file."""
    return subprocess.run(
        [str(DBCRON), "--db", cli.url, "--config", "conf/dbcron.yaml", *args],
        cwd=cli.cwd,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def python_job(cli: Cli, name: str, callable_: str) -> str:
    config = json.dumps({"callable": callable_, "kwargs": {"tag": name}})
    done = dbcron(cli, "create", name, "python", "@yearly", "--config", config, "--retries", "0")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[2]  # "Created job <id> (name); ..."


@pytest.mark.parametrize("cli", ["sqlite"], indirect=True)
def test_python_jobs_find_the_working_directory_and_handler_paths(cli: Cli) -> None:
    assert DBCRON.is_file(), f"no dbcron console script next to {sys.executable}"
    cli.env.pop("PYTHONPATH", None)
    suffix = uuid.uuid4().hex[:8]
    here, shared, missing = f"cwd_task_{suffix}", f"shared_task_{suffix}", f"gone_{suffix}"
    (cli.cwd / f"{here}.py").write_text(MODULE, encoding="utf-8")
    (cli.cwd / "shared").mkdir()
    (cli.cwd / "shared" / f"{shared}.py").write_text(MODULE, encoding="utf-8")
    (cli.cwd / "conf").mkdir()
    # relative to the config file's directory, not to the working directory
    (cli.cwd / "conf" / "dbcron.yaml").write_text("handlers:\n  paths: [../shared]\n")
    assert dbcron(cli, "init").returncode == 0
    jobs = {
        "here": python_job(cli, "here", f"{here}:run"),
        "shared": python_job(cli, "shared", f"{shared}:run"),
    }
    gone = python_job(cli, "gone", f"{missing}:run")

    for executor in ("process", "thread"):
        for name, job_id in jobs.items():
            ran = dbcron(cli, "run", job_id, "--executor", executor, "--json")
            assert ran.returncode == 0, (executor, name, ran.stdout, ran.stderr)
            assert json.loads(ran.stdout)["result"]["tag"] == name

    failed = dbcron(cli, "run", gone, "--json")
    assert failed.returncode == 1
    message = json.loads(failed.stdout)["error_message"]
    assert "\n" not in message
    assert message.startswith(
        f"cannot import callable '{missing}:run': no module named '{missing}'; "
        f"searched the working directory {cli.cwd}, "
        f"then handlers.paths {cli.cwd / 'shared'}, then sys.path "
    )

    scheduler = subprocess.Popen(
        [str(DBCRON), "--db", cli.url, "--config", "conf/dbcron.yaml", "start"],
        cwd=cli.cwd,
        env={**cli.env, "DBCRON_SCHEDULER__EXECUTOR": "process"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: json.loads(dbcron(cli, "status", "--json").stdout)["nodes"],
            30,
            what="the scheduler's node",
        )
        for name, job_id in jobs.items():
            done = dbcron(cli, "trigger", job_id, "--wait", "--timeout", "60", "--json")
            assert done.returncode == 0, (name, done.stdout, done.stderr)
            result = json.loads(done.stdout)["result"]
            assert result["tag"] == name
            assert result["pid"] != scheduler.pid  # ran in a worker process
        failed = dbcron(cli, "trigger", gone, "--wait", "--timeout", "60", "--json")
        assert failed.returncode == 1
        assert json.loads(failed.stdout)["error_message"] == message
    finally:
        scheduler.send_signal(signal.SIGTERM)
        try:
            scheduler.wait(30)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait()
    assert scheduler.returncode == 0
