"""Seeing one run from the CLI (issue 12): `execution` and `logs` take the id `history`
prints (or a unique prefix), `trigger --wait` follows a run to its end and exits by its
outcome, `trigger` warns when no scheduler would start the run, and shell commands see
their run in DBCRON_* environment variables."""

from __future__ import annotations

from tests.acceptance.conftest import Cli
from tests.support.waiting import wait_for


def test_execution_and_logs_take_the_id_history_prints(cli: Cli) -> None:
    cli.ok("init")
    lonely = cli.shell_job("Lonely", "true")
    # empty results say what was asked for
    assert cli.ok("history", lonely[:8], "--status", "failed").out.strip() == (
        f"No failed executions of job {lonely[:8]}."
    )
    assert cli.ok("list", "--status", "paused", "--type", "shell").out.strip() == (
        "No paused shell jobs."
    )
    # a trigger with no scheduler alive warns that the run waits
    warned = cli.ok("trigger", lonely)
    assert "is pending" in warned.out
    assert "no scheduler is running on this database" in warned.err
    job = cli.shell_job(
        "Greeter",
        "echo hello-from-the-job; echo to-stderr >&2; "
        'echo "job=$DBCRON_JOB_ID name=$DBCRON_JOB_NAME run=$DBCRON_EXECUTION_ID '
        'fire=$DBCRON_SCHEDULED_FOR attempt=$DBCRON_ATTEMPT"',
    )
    ran = cli("run", job, "--executor", "thread")
    assert ran.code == 0, ran.err
    history = cli.ok("history", job)
    [row] = [line for line in history.out.splitlines() if "success" in line]
    printed_id = row.split()[0]
    full = cli.ok("history", job, "--json").json()[0]["execution_id"]
    assert printed_id == full
    shown = cli.ok("execution", printed_id)
    assert "success" in shown.out and full in shown.out and "hello-from-the-job" in shown.out
    assert cli.ok("execution", full[:20], "--json").json()["execution_id"] == full
    logs = cli.ok("logs", full)
    assert "hello-from-the-job" in logs.out and "to-stderr" in logs.out
    # a shell job learns about its run from its environment
    fire = cli.ok("execution", full, "--json").json()["scheduled_for"]
    assert f"job={job} name=Greeter run={full} fire={fire.replace('+00:00', 'Z')} attempt=0" in (
        logs.out
    )
    for bad, code, message in (
        ("01a2", 2, "invalid execution id"),
        ("ffffffff-ffff-7fff-bfff-ffffffffffff", 1, "no execution with id"),
    ):
        result = cli("execution", bad)
        assert (result.code, result.out) == (code, ""), result
        assert result.err.startswith("error: ") and message in result.err
        assert len(result.err.strip().splitlines()) == 1


def test_trigger_wait_follows_the_run_and_exits_by_its_outcome(cli: Cli) -> None:
    cli.ok("init")
    good = cli.shell_job("Good", "echo all-fine")
    bad = cli.shell_job("Bad", "echo broken >&2; exit 4")
    with cli.scheduler():
        wait_for(
            lambda: cli.ok("status", "--json").json()["nodes"], 30, what="the scheduler's node"
        )
        ok = cli("trigger", good, "--wait", "--timeout", "60")
        assert ok.code == 0, ok
        assert "success" in ok.out and "all-fine" in ok.out
        assert "no scheduler is running" not in ok.err
        failed = cli("trigger", bad, "--wait", "--timeout", "60", "--json")
        assert failed.code == 1, failed
        ended = failed.json()
        assert ended["status"] == "failed" and "status 4" in ended["error_message"]
