"""The scheduler's log says what ran (issue 12): each run's start and end, failures at
WARNING, as text lines or (``logging.format: json``) JSON objects with the run's facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli
from tests.support.waiting import wait_for


# The run log is made from the engine's events, the same on every backend: the text
# format is checked on SQLite, the JSON one on PostgreSQL.
@pytest.mark.parametrize(
    ("cli", "json_format"),
    [("sqlite", False), ("postgres", True)],
    ids=["sqlite-text", "postgres-json"],
    indirect=["cli"],
)
def test_every_run_is_logged_with_its_outcome(cli: Cli, json_format: bool) -> None:
    cli.ok("init")
    good = cli.shell_job("Nightly report", "true")
    bad = cli.shell_job("Flaky import", "echo 'cannot reach the API' >&2; exit 3")
    good_run = cli.ok("trigger", good, "--json").json()["execution_id"]
    bad_run = cli.ok("trigger", bad, "--json").json()["execution_id"]
    log_file = Path(cli.cwd) / "job_scheduler.log"
    with cli.scheduler(**({"DBCRON_LOGGING__FORMAT": "json"} if json_format else {})):
        wait_for(
            lambda: log_file.exists() and log_file.read_text().count(bad_run) >= 2,
            30,
            what="the failed run's start and end in the log",
        )
        wait_for(lambda: log_file.read_text().count(good_run) >= 2, 30, what="the good run")
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
