"""The specification's quick start, as subprocesses, on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.acceptance.conftest import Cli


def test_quickstart(cli: Cli) -> None:
    assert "(applied migrations [1, 2" in cli.ok("init").out
    assert "already up to date" in cli.ok("init").out

    created = cli.ok("create", "Daily Fetch", "paper_fetch", "0 9 * * *", "--json").json()
    job_id = created["job_id"]
    assert created["status"] == "active"
    assert created["next_execution"].endswith(":00+00:00")

    listing = cli.ok("list").out
    assert "Daily Fetch" in listing
    assert job_id[:8] in listing
    assert [j["job_id"] for j in cli.ok("list", "--type", "paper_fetch", "--json").json()] == [
        job_id
    ]
    assert [j["name"] for j in cli.ok("list", "--type", "maintenance", "--json").json()] == [
        "Nightly maintenance"
    ]

    shown = cli.ok("show", job_id[:8]).out
    assert "Daily Fetch" in shown
    assert "Next fires" in shown
    detail = cli.ok("show", job_id, "--json").json()
    assert len(detail["next_fires"]) == 5
    assert all(f.endswith("T09:00:00+00:00") for f in detail["next_fires"])

    assert "Paused job" in cli.ok("pause", job_id[:6]).out
    assert cli.ok("list", "--status", "paused", "--json").json()[0]["job_id"] == job_id
    assert "Resumed job" in cli.ok("resume", job_id).out
    assert cli.ok("show", job_id, "--json").json()["job"]["status"] == "active"

    triggered = cli.ok("trigger", job_id, "--json").json()
    assert triggered["trigger"] == "manual"
    assert triggered["status"] == "pending"
    history = cli.ok("history", job_id, "--json").json()
    assert [e["execution_id"] for e in history] == [triggered["execution_id"]]
    # the table shows the random end of the (time-ordered) execution id
    assert triggered["execution_id"] in cli.ok("history", job_id).out  # the whole id

    assert "history is kept" in cli.ok("delete", job_id).out
    assert cli.ok("list", "--type", "paper_fetch", "--json").json() == []
    assert cli.ok("list", "--status", "deleted", "--json").json()[0]["job_id"] == job_id
    assert len(cli.ok("history", job_id, "--json").json()) == 1

    assert "Purged" in cli.ok("delete", job_id, "--purge").out
    assert cli.ok("list", "--status", "deleted", "--json").json() == []


def test_update_and_seed(cli: Cli) -> None:
    cli.ok("init")
    seeded = cli.ok("seed").out
    assert "created  Heartbeat" in seeded
    assert "exists   Heartbeat" in cli.ok("seed").out
    jobs = {j["name"]: j for j in cli.ok("list", "--json").json()}
    assert set(jobs) == {"Heartbeat", "Daily Fetch", "Nightly maintenance"}
    fetch = jobs["Daily Fetch"]["job_id"]
    updated = cli.ok(
        "update",
        fetch,
        "--schedule",
        "*/15 * * * *",
        "--tz",
        "Europe/London",
        "--retries",
        "5",
        "--config",
        '{"keywords": ["RAG"], "max_papers": 10}',
        "--json",
    ).json()
    assert updated["schedule_expression"] == "*/15 * * * *"
    assert updated["timezone"] == "Europe/London"
    assert updated["retry_count"] == 5
    assert updated["config"] == {"keywords": ["RAG"], "max_papers": 10}
    assert updated["version"] == 2


def test_config_file_for_job_config(cli: Cli) -> None:
    cli.ok("init")
    (cli.cwd / "job.json").write_text('{"command": ["echo", "from file"]}')
    created = cli.ok(
        "create", "echo", "shell", "@every 30s", "--config", "@job.json", "--json"
    ).json()
    assert created["config"] == {"command": ["echo", "from file"]}


def test_interactive_shell_runs_every_cli_command(cli: Cli) -> None:
    cli.ok("init")
    config = '\'{"command": "true", "shell": true}\''
    session = "\n".join(
        [
            f'create nightly shell "0 3 * * *" --config {config} --retries 0',
            "list --type shell --json",
            "quit",
        ]
    )
    created = cli.ok("shell", stdin=session)
    job_id = created.out.split("Created job ", 1)[1].split()[0]
    session = "\n".join(
        [
            f"show {job_id[:8]}",
            f"update {job_id[:8]} --schedule '*/5 * * * *' --description 'from the shell'",
            f"pause {job_id[:8]}",
            "status",
            f"resume {job_id}",
            f"trigger {job_id}",
            f"history {job_id} -n 1",
            "show nope!",
            "history -n",
            "frobnicate",
            "help",
            "help trigger",
            "quit",
        ]
    )
    result = cli.ok("shell", stdin=session)
    assert "nightly" in result.out
    assert f"Paused job {job_id}" in result.out and f"Resumed job {job_id}" in result.out
    assert "is pending" in result.out  # a trigger records a run; it does not say "done"
    assert "error: no job with id, key or name 'nope!'" in result.err  # the shell goes on
    assert "error: option '-n' requires an argument" in result.err.replace('"', "'")
    assert "unknown command 'frobnicate'" in result.out
    assert "create " in result.out and "cancel " in result.out  # help lists every command
    assert "EOF" not in result.out
    assert "--follow" in result.out  # help trigger: the command's own options
    job = cli.ok("show", job_id, "--json").json()["job"]
    assert job["schedule_expression"] == "*/5 * * * *" and job["description"] == "from the shell"
    assert len(cli.ok("history", job_id, "--json").json()) == 1


def test_status_and_types_and_config(cli: Cli) -> None:
    cli.ok("init")
    cli.ok("seed")
    status = cli.ok("status", "--json").json()
    assert status["jobs_by_status"] == {"active": 3}
    assert len(status["upcoming"]) == 3
    # named objects, one unit per field
    assert {"job_id", "name", "timezone", "fire_at"} == set(status["upcoming"][0])
    assert status["window_hours"] == 24
    assert status["overall"]["runs"] == 0 and status["overall"]["success_rate"] is None
    assert {"mean_duration_seconds", "p95_duration_seconds"} <= set(status["overall"])
    assert status["pending_count"] == 0 and status["jobs_with_most_failures"] == []
    assert "Scheduler nodes" in cli.ok("status").out or "none has ever run" in cli.ok("status").out
    listed = cli.ok("types").out  # each schema's fields, not only an example
    assert "url (string, required)" in listed
    assert "retention_days (integer, default 30)" in listed
    types = {t["name"] for t in cli.ok("types", "--json").json()}
    assert {"paper_fetch", "maintenance", "shell", "http", "python", "custom"} <= types
    config = {row["key"]: row for row in cli.ok("config", "--json").json()}
    assert config["database.url"]["source"] == "flag --db"
    assert config["scheduler.check_interval_seconds"]["value"] == 60


def test_run_one_job_in_the_foreground(cli: Cli) -> None:
    cli.ok("init", "--no-maintenance")
    ok_id = cli.ok(
        "create", "cwd", "python", "@daily", "--config", '{"callable": "os:getcwd"}', "--json"
    ).json()["job_id"]
    ran = cli.ok("run", ok_id[:8], "--json").json()
    assert (ran["status"], ran["trigger"], ran["result"]) == ("success", "manual", str(cli.cwd))
    bad_id = cli.ok(
        "create", "bad", "shell", "@daily", "--config", '{"command": ["false"]}', "--json"
    ).json()["job_id"]
    failed = cli("run", bad_id)
    assert failed.code == 1
    assert "command exited with status 1" in failed.out
    history = cli.ok("history", "--json").json()
    assert {(e["job_id"], e["status"]) for e in history} == {(ok_id, "success"), (bad_id, "failed")}
