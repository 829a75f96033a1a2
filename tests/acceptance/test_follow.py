"""Following runs as they happen (issue 12): `logs --follow` and `trigger --follow`
stream a running execution's output before it ends (the scheduler stores the logs that
grew about once a second), and `dbcron run` says what it runs, stores its logs live and
can be cancelled from another terminal."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli
from tests.support.waiting import wait_for


class Reader:
    """Collects a subprocess's stream line by line in a thread."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _gated_job(cli: Cli, gate: Path) -> str:
    """A job that prints `before-the-gate`, waits for ``gate`` to exist, then prints
    `after-the-gate` and ends."""
    command = (
        f"echo before-the-gate; while [ ! -e {gate} ]; do sleep 0.05; done; echo after-the-gate"
    )
    config = json.dumps({"command": command, "shell": True})
    created = cli.ok(
        "create", "Gated", "shell", "@yearly", "--config", config, "--retries", "0", "--json"
    ).json()  # fmt: skip
    return str(created["job_id"])


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_logs_follow_streams_a_running_execution(cli: Cli, tmp_path: Path, executor: str) -> None:
    cli.ok("init")
    gate = tmp_path / "gate"
    job = _gated_job(cli, gate)
    with cli.scheduler(executor):
        execution = cli.ok("trigger", job, "--json").json()["execution_id"]
        follower = cli.popen("logs", "--follow", execution[:8], "--timeout", "60")
        out, errors = Reader(follower.stdout), Reader(follower.stderr)
        # the first line arrives while the job still waits at its gate
        wait_for(lambda: "before-the-gate" in out.text, 30, what="the streamed first line")
        assert follower.poll() is None and "after-the-gate" not in out.text
        gate.touch()
        assert follower.wait(60) == 0
        wait_for(lambda: "success" in errors.text, 10, what="the status line")
    assert out.text.count("before-the-gate") == 1 and out.text.count("after-the-gate") == 1
    assert f"execution {execution} success" in errors.text


def test_trigger_follow_streams_the_run_and_exits_by_its_outcome(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    gate = tmp_path / "gate"
    job = _gated_job(cli, gate)
    broken = cli.shell_job("Broken", "echo about-to-fail; exit 3")
    with cli.scheduler():
        follower = cli.popen("trigger", job, "--follow", "--timeout", "60")
        out = Reader(follower.stdout)
        wait_for(lambda: "before-the-gate" in out.text, 30, what="the streamed first line")
        assert follower.poll() is None
        gate.touch()
        assert follower.wait(60) == 0
        assert "after-the-gate" in out.text
        failed = cli("trigger", broken, "-f", "--timeout", "60")
        assert failed.code == 1, failed
        assert "about-to-fail" in failed.out and "failed" in failed.err


def test_run_in_the_foreground_says_what_it_runs_streams_and_can_be_cancelled(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("init")
    gate = tmp_path / "gate"  # never opened: the run ends only by its cancel
    job = _gated_job(cli, gate)
    runner = cli.popen("run", job)
    errors = Reader(runner.stderr)
    wait_for(lambda: "Running execution " in errors.text, 30, what="the run's first line")
    execution = errors.text.split("Running execution ", 1)[1].split()[0]
    follower = cli.popen("logs", "-f", execution, "--timeout", "60")
    out = Reader(follower.stdout)
    wait_for(lambda: "before-the-gate" in out.text, 30, what="the foreground run's live logs")
    cli.ok("cancel", execution, "--reason", "enough")
    assert runner.wait(30) == 1  # the run was stopped, not left to wait at its gate
    assert follower.wait(30) == 1
    row = cli.ok("execution", execution, "--json").json()
    assert row["status"] == "cancelled" and "enough" in row["error_message"]
