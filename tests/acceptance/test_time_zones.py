"""One time-zone rule for every command (issue 12): a job's times are printed in the
job's zone, --utc prints them in UTC, and the header says which. ``show`` and
``history`` used to print the same execution in CET and in UTC."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.acceptance.conftest import Cli

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def at(iso: str, zone: ZoneInfo, seconds: bool = True) -> str:
    """An ISO 8601 time as dbcron prints it in ``zone``."""
    fmt = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return datetime.fromisoformat(iso).astimezone(zone).strftime(fmt)


def test_every_command_prints_a_job_s_times_in_its_zone_or_utc(cli: Cli) -> None:
    cli.ok("init")
    config = json.dumps({"command": "echo hi", "shell": True})
    job = cli.ok(
        "create", "Berlin", "shell", "0 9 * * *", "--tz", "Europe/Berlin", "--config", config,
        "--json",
    ).json()  # fmt: skip
    ran = cli("run", job["job_id"], "--executor", "thread")
    assert ran.code == 0, ran.err
    run = cli.ok("history", "--json").json()[0]
    fire = {zone: at(run["scheduled_for"], zone) for zone in (BERLIN, UTC)}
    started = {zone: at(run["started_at"], zone) for zone in (BERLIN, UTC)}
    next_run = {zone: at(job["next_execution"], zone, seconds=False) for zone in (BERLIN, UTC)}
    assert fire[BERLIN].endswith(("CET", "CEST")) and fire[UTC].endswith("UTC")
    assert fire[BERLIN] in ran.out and "Europe/Berlin (the job's zone)" in ran.out

    # show and history print the execution's time the same way: the job's zone by
    # default, UTC with --utc, and their header says which
    for utc, zone, other, title in ((False, BERLIN, UTC, "job zone"), (True, UTC, BERLIN, "UTC")):
        flag = ["--utc"] if utc else []
        for args in (("show", job["job_id"]), ("history",), ("history", job["job_id"][:8])):
            out = cli.ok(*args, *flag).out
            assert fire[zone] in out and fire[other] not in out, (args, out)
            assert f"SCHEDULED ({title})" in out, out
        detail = cli.ok("execution", run["execution_id"], *flag).out
        assert fire[zone] in detail and started[zone] in detail and fire[other] not in detail
        assert ("UTC" if utc else "Europe/Berlin (the job's zone)") in detail
        logs = cli.ok("logs", run["execution_id"], *flag)
        assert "hi" in logs.out and started[zone] in logs.err and started[other] not in logs.err
        listing = cli.ok("list", *flag).out
        assert next_run[zone] in listing and next_run[other] not in listing
        assert f"NEXT RUN ({title})" in listing
        status = cli.ok("status", *flag).out
        assert next_run[zone] in status and f"WHEN ({title})" in status
        shown = cli.ok("show", job["job_id"], *flag).out
        assert next_run[zone] in shown and f"FIRE ({title})" in shown

    preview = cli.ok("next", "0 9 * * *", "--tz", "Europe/Berlin", "--utc").out
    assert "LOCAL" not in preview and " CET" not in preview and "UTC" in preview
    assert "LOCAL (Europe/Berlin)" in cli.ok("next", "0 9 * * *", "--tz", "Europe/Berlin").out
    # --json stays ISO 8601 with offsets, whatever the zone
    assert cli.ok("history", "--json").json()[0]["scheduled_for"].endswith("+00:00")
