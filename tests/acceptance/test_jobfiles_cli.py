"""Jobs as files from the command line (issue 12), on SQLite and PostgreSQL: `export`
and `apply` round trips, the plan and its per-field diff, `--dry-run`, `--prune`, files
that are refused with their file, line and field, and jobs named by key or name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli

JOBS = """\
defaults:
  timezone: Europe/Paris
templates:
  nightly:
    type: shell
    schedule: "0 3 * * *"
    config: {command: "true", cwd: /tmp}
jobs:
  - key: backup
    name: Nightly backup
    extends: nightly
    retries: 1
  - key: report
    name: Weekly report
    extends: nightly
    schedule: "0 8 * * MON"
    config: {command: ["echo", "report"]}
    status: paused
  - key: cleanup
    extends: nightly
    keep_last: 10
"""


def fresh(cli: Cli, tmp_path: Path, make_pg_database: Callable[[], str]) -> Cli:
    """A CLI on a second, empty database of the same backend."""
    url = (
        f"sqlite:///{tmp_path / 'fresh.db'}" if cli.url.startswith("sqlite") else make_pg_database()
    )
    return Cli(url=url, cwd=cli.cwd, env=cli.env)


def test_export_then_apply_to_a_fresh_database_gives_the_same_file(
    cli: Cli, tmp_path: Path, make_pg_database: Callable[[], str]
) -> None:
    cli.ok("init")
    (tmp_path / "jobs.yaml").write_text(JOBS)
    cli.ok("apply", "-f", "jobs.yaml")
    cli.ok(
        "create", "Hourly ping", "http", "@hourly", "--config", '{"url": "https://example.com"}',
        "--timezone", "America/New_York", "--timeout", "30", "--overlap", "queue",
        "--misfire", "skip", "--priority", "5", "--retention-days", "7",
        "--description", "Pings, with ünïcode",
    )  # fmt: skip
    exported = cli.ok("export").out
    assert "key: hourly-ping" in exported  # a job without a key gets one from its name
    assert "nightly-maintenance" in exported  # the maintenance job is a job like any other
    assert "templates" not in exported and "extends" not in exported
    as_json = cli.ok("export", "--format", "json", "-o", "jobs.json")
    assert as_json.out.strip() == "Exported 5 jobs to jobs.json."
    (tmp_path / "exported.yaml").write_text(exported)

    other = fresh(cli, tmp_path, make_pg_database)
    other.ok("init")
    applied = other.ok("apply", "-f", "exported.yaml")
    assert "4 to create, 0 to update, 0 to delete, 1 unchanged." in applied.out
    assert other.ok("export").out == exported
    assert other.ok("export", "-F", "json").out == (tmp_path / "jobs.json").read_text()
    keys = [job["key"] for job in json.loads((tmp_path / "jobs.json").read_text())["jobs"]]
    assert keys == ["backup", "cleanup", "hourly-ping", "nightly-maintenance", "report"]

    # applying a file twice, or an export to its own database, changes nothing
    for runner, name in ((other, "exported.yaml"), (cli, "exported.yaml"), (cli, "jobs.json")):
        before = runner.dump()
        again = runner.ok("apply", "-f", name, "--prune")
        assert again.out.startswith(f"No changes: the jobs match {name}"), again.out
        assert runner.dump() == before


def test_dry_run_shows_the_plan_and_prune_deletes(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    (tmp_path / "jobs.yaml").write_text(JOBS)
    cli.ok("apply", "-f", "jobs.yaml")
    edited = (
        JOBS.replace("    retries: 1\n", '    retries: 2\n    schedule: "30 3 * * *"\n')
        .replace('config: {command: "true", cwd: /tmp}', 'config: {command: "true", cwd: /srv}')
        .split("  - key: cleanup")[0]
    )
    (tmp_path / "jobs.yaml").write_text(edited)
    before = cli.dump()
    plan = cli.ok("apply", "-f", "jobs.yaml", "--dry-run", "--prune")
    assert plan.out.splitlines() == [
        "Plan for jobs.yaml:",
        "  ~ update  backup (Nightly backup)",
        '      schedule: "0 3 * * *" -> "30 3 * * *"',
        '      config.cwd: "/tmp" -> "/srv"',
        "      retries: 1 -> 2",
        "  ~ update  report (Weekly report)",
        '      config.cwd: "/tmp" -> "/srv"',
        "  - delete  cleanup (cleanup)",
        "0 to create, 2 to update, 1 to delete, 0 unchanged.",
        "Dry run: nothing was written.",
    ]
    assert cli.dump() == before
    # deleting needs --yes when nobody can be asked
    refused = cli("apply", "-f", "jobs.yaml", "--prune")
    assert refused.code == 2 and refused.out.startswith("Plan for jobs.yaml:")
    assert (
        refused.err.strip()
        == "error: the plan deletes 1 job: confirm with --yes (nothing was written)"
    )
    assert cli.dump() == before
    done = cli.ok("apply", "-f", "jobs.yaml", "--prune", "--yes")
    assert done.out.splitlines()[-1] == "Applied jobs.yaml: 0 created, 2 updated, 1 deleted."
    shown = cli.ok("show", "backup", "--json").json()["job"]
    assert (shown["key"], shown["schedule_expression"], shown["retry_count"]) == (
        "backup",
        "30 3 * * *",
        2,
    )
    assert cli("show", "cleanup").code == 1  # deleted: its key names nothing now
    # jobs without a key are never pruned
    assert [j["name"] for j in cli.ok("list", "--json").json()] == [
        "Nightly maintenance",
        "Nightly backup",
        "Weekly report",
    ]


BAD_FILES = [
    (
        JOBS.replace('schedule: "0 8 * * MON"', 'schedule: "0 8 * * FUNDAY"'),
        "error: jobs.yaml:16: jobs[1].schedule: invalid day-of-week field",
    ),
    (
        JOBS.replace("extends: nightly\n    keep_last", "extends: nighty\n    keep_last"),
        "error: jobs.yaml:20: jobs[2].extends: unknown template 'nighty' (did you mean 'nightly'?)",
    ),
    (
        JOBS.replace("type: shell", "type: shel"),
        "error: jobs.yaml:5: templates.nightly.type: unknown job type 'shel' (known types: "
        "custom, http, maintenance, paper_fetch, python, shell) (in jobs[0])",
    ),
    (
        JOBS.replace('schedule: "0 8 * * MON"', "schedule: @weekly"),
        "error: jobs.yaml:16: invalid YAML: found character '@' that cannot start any token",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_bad_file_names_its_line_and_field_and_writes_nothing(
    cli: Cli, tmp_path: Path, text: str, message: str
) -> None:
    cli.ok("init")
    cli.shell_job("Existing", "true")
    (tmp_path / "jobs.yaml").write_text(text)
    before = cli.dump()
    for args in (("--dry-run",), ("--yes", "--prune")):
        result = cli("apply", "-f", "jobs.yaml", *args)
        assert (result.code, result.out) == (2, ""), result
        assert result.err.startswith(message), result.err
        assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert cli.dump() == before


def test_jobs_are_named_by_key_or_unique_name(cli: Cli) -> None:
    cli.ok("init")
    config = '{"command": "true"}'
    created = cli.ok(
        "create", "Daily Fetch", "shell", "@daily", "--config", config, "--key", "daily", "--json"
    ).json()
    assert created["key"] == "daily"
    taken = cli("create", "Other", "shell", "@daily", "--config", config, "--key", "daily")
    assert taken.code == 2
    assert taken.err.strip() == (
        f"error: key 'daily' is already used by job {created['job_id'][:8]} (Daily Fetch)"
    )
    bad = cli("create", "Other", "shell", "@daily", "--config", config, "--key", "Not OK")
    assert bad.code == 2 and bad.err.startswith("error: invalid key 'Not OK': a key is 1 to 63")
    assert cli.ok("show", "daily", "--json").json()["job"]["job_id"] == created["job_id"]
    assert "key          daily" in cli.ok("show", "Daily Fetch").out
    assert cli.ok("pause", "Daily Fetch").out.startswith(f"Paused job {created['job_id']}")
    twin = cli.shell_job("Twin", "true")
    other_twin = cli.shell_job("Twin", "true")
    ambiguous = cli("resume", "Twin")
    assert ambiguous.code == 2
    assert ambiguous.err.strip() == (
        f"error: job name 'Twin' is ambiguous: matches {twin[:13]}, {other_twin[:13]} "
        "(give an id or a key)"
    )
    cli.ok("update", other_twin, "--key", "twin-2")
    assert cli.ok("history", "twin-2").out.strip() == "No executions of job twin-2."
    cli.ok("update", "twin-2", "--name", "Twin two")
    assert cli.ok("trigger", "Twin", "--json").json()["job_id"] == twin
    missing = cli("show", "nope!")
    assert (missing.code, missing.err.strip()) == (1, "error: no job with id, key or name 'nope!'")
