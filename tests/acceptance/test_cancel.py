"""``dbcron cancel EXEC`` (issue 12): a pending execution never runs, a running one is
stopped (its worker killed in process mode, its command's process group in thread
mode) and recorded ``cancelled`` with who and why, and no retry follows even though
the job has retries left. Handler starts are counted in a ledger file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli
from tests.support.waiting import wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
    return True


def _sleeper(cli: Cli, ledger: Path) -> str:
    """A shell job with two retries that writes its pid to ``ledger`` and sleeps."""
    config = json.dumps({"command": f"echo $$ >> {ledger}; exec sleep 300", "shell": True})
    created = cli.ok(
        "create", "Sleeper", "shell", "@yearly", "--config", config, "--retries", "2",
        "--retry-delay", "0", "--json",
    ).json()  # fmt: skip
    return str(created["job_id"])


def test_a_pending_execution_is_cancelled_and_never_runs(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    ledger = tmp_path / "ledger"
    job = _sleeper(cli, ledger)
    pending = cli.ok("trigger", job, "--json").json()["execution_id"]
    done = cli.ok("cancel", pending[:8], "--reason", "not today")
    assert f"Cancelled execution {pending}" in done.out and "it will not run" in done.out
    row = cli.ok("execution", pending, "--json").json()
    assert row["status"] == "cancelled"
    assert row["error_message"].startswith("cancelled by ") and "not today" in row["error_message"]
    assert "already cancelled" in cli.ok("cancel", pending).out  # idempotent
    # a scheduler that starts afterwards runs the next trigger, never the cancelled one
    marker = cli.shell_job("Marker", f"echo marker >> {tmp_path / 'marker'}")
    with cli.scheduler():
        ran = cli("trigger", marker, "--wait", "--timeout", "60")
        assert ran.code == 0, ran
    assert not ledger.exists()
    executions = cli.ok("history", job, "--json").json()
    assert [e["status"] for e in executions] == ["cancelled"]


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_a_running_execution_is_stopped_and_not_retried(
    cli: Cli, tmp_path: Path, executor: str
) -> None:
    cli.ok("init")
    ledger = tmp_path / "ledger"
    job = _sleeper(cli, ledger)
    with cli.scheduler(executor):
        running = cli.ok("trigger", job, "--json").json()["execution_id"]
        wait_for(lambda: ledger.exists() and ledger.read_text().strip(), 60, what="the run")
        pid = int(ledger.read_text().split()[0])
        assert _alive(pid)
        done = cli.ok("cancel", running)
        assert "stops the run" in done.out
        wait_for(lambda: not _alive(pid), 30, what="the cancelled command to be killed")
        # the node logs the stop once its worker is gone; a retry would have started by
        # now or never: the job's next trigger runs, and is the only other start
        follow = cli.ok("trigger", job, "--json").json()["execution_id"]
        wait_for(lambda: len(ledger.read_text().split()) == 2, 60, what="the second trigger")
        cli.ok("cancel", follow)
        wait_for(
            lambda: cli.ok("execution", follow, "--json").json()["status"] == "cancelled",
            30,
            what="the second cancel",
        )
    row = cli.ok("execution", running, "--json").json()
    assert row["status"] == "cancelled", row
    assert row["duration_seconds"] is not None and row["finished_at"] is not None
    statuses = sorted(e["status"] for e in cli.ok("history", job, "--json").json())
    assert statuses == ["cancelled", "cancelled"]  # no retry of either
    assert len(ledger.read_text().split()) == 2  # two handler starts, no more


def test_cancelling_an_ended_or_unknown_execution_changes_nothing(cli: Cli) -> None:
    cli.ok("init")
    job = cli.shell_job("Quick", "true")
    assert cli("run", job, "--executor", "thread").code == 0
    ended = cli.ok("history", job, "--json").json()[0]["execution_id"]
    before = cli.dump()
    for target, code, message in (
        (ended, 1, "already ended (success"),
        ("ffffffff-ffff-7fff-bfff-ffffffffffff", 1, "no execution with id"),
        ("nope", 2, "invalid execution id"),
    ):
        result = cli("cancel", target)
        assert (result.code, result.out) == (code, ""), result
        assert result.err.startswith("error: ") and message in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1
    assert cli.dump() == before
