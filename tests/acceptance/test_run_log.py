"""The scheduler's log says what ran (issue 12): each run's start and end, failures at
WARNING, as text lines or (``logging.format: json``) JSON objects with the run's facts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli
from tests.support.waiting import wait_for


def _start(cli: Cli, *, json_format: bool) -> subprocess.Popen[bytes]:
    env = dict(cli.env)
    if json_format:
        env["DBCRON_LOGGING__FORMAT"] = "json"
    return subprocess.Popen(
        [sys.executable, "-m", "dbcron", "--db", cli.url, "start", "--executor", "thread"],
        cwd=cli.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _job(cli: Cli, name: str, command: str) -> str:
    config = json.dumps({"command": command, "shell": True})
    created = cli.ok(
        "create", name, "shell", "@yearly", "--config", config, "--retries", "0", "--json"
    ).json()  # fmt: skip
    return str(created["job_id"])


@pytest.mark.parametrize("json_format", [False, True], ids=["text", "json"])
def test_every_run_is_logged_with_its_outcome(cli: Cli, json_format: bool) -> None:
    cli.ok("init")
    good = _job(cli, "Nightly report", "true")
    bad = _job(cli, "Flaky import", "echo 'cannot reach the API' >&2; exit 3")
    good_run = cli.ok("trigger", good, "--json").json()["execution_id"]
    bad_run = cli.ok("trigger", bad, "--json").json()["execution_id"]
    log_file = Path(cli.cwd) / "job_scheduler.log"
    proc = _start(cli, json_format=json_format)
    try:
        wait_for(
            lambda: log_file.exists() and log_file.read_text().count(bad_run) >= 2,
            30,
            what="the failed run's start and end in the log",
        )
        wait_for(lambda: log_file.read_text().count(good_run) >= 2, 30, what="the good run")
    finally:
        _stop(proc)
    text = log_file.read_text()
    if not json_format:
        ends = [line for line in text.splitlines() if "run failed" in line]
        assert len(ends) == 1, text
        assert " WARNING dbcron.runs " in ends[0]
        assert "Flaky import" in ends[0] and bad_run in ends[0]
        assert ends[0].endswith("command exited with status 3"), ends[0]
        assert "No such file" not in ends[0], ends[0]
        ok = [line for line in text.splitlines() if "run success" in line]
        assert len(ok) == 1 and " INFO dbcron.runs " in ok[0] and "Nightly report" in ok[0]
        started = [line for line in text.splitlines() if "run started" in line]
        assert {bad_run, good_run} <= {
            word.rstrip(",") for line in started for word in line.split()
        }
        return
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    runs = [r for r in records if r.get("logger") == "dbcron.runs"]
    end = [r for r in runs if r.get("execution_id") == bad_run and r.get("status") == "failed"]
    assert len(end) == 1, runs
    assert end[0]["level"] == "WARNING"
    assert end[0]["job_id"] == bad and end[0]["job_name"] == "Flaky import"
    assert end[0]["attempt"] == 0 and end[0]["duration_seconds"] >= 0
    good_end = [r for r in runs if r.get("execution_id") == good_run and r["status"] == "success"]
    assert len(good_end) == 1 and good_end[0]["level"] == "INFO"
    assert all({"asctime", "message", "level"} <= r.keys() for r in records)
