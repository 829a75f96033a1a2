"""Tables on an 80-column terminal (issue 12): every table-printing command, run as a
subprocess with COLUMNS=80, prints lines of at most 80 characters, never splits a cron
expression or a job type across lines, cuts long names and errors with an ellipsis, and
prints everything whole with --wide; the execution ids it prints are accepted back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from dbcron.models import Paper
from dbcron.store import open_store
from dbcron.store.papers import upsert_papers
from tests.acceptance.conftest import Cli, make_env

LONG_NAME = "Quarterly reconciliation of every ledger in every region and currency"
#: A module name that does not exist: the run fails with this in its error's first line.
LONG_ERROR = "the ledger service refused the connection after 3 attempts in eu-central-1"
WEEKDAYS = "*/5 9-17 * * mon-fri"
TWICE_A_MONTH = "0 0 1,15 * *"
TYPES = ("python", "shell", "paper_fetch", "maintenance")


def narrow(cli: Cli) -> Cli:
    """The same CLI on an 80-column terminal."""
    return dataclasses.replace(cli, env={**cli.env, "COLUMNS": "80"})


def fits(text: str, *whole: str) -> list[str]:
    """Assert that every line of ``text`` has at most 80 characters and that each of
    ``whole`` is printed on one line; the lines."""
    lines = text.splitlines()
    too_long = [line for line in lines if len(line) > 80]
    assert not too_long, "\n".join(too_long)
    for token in whole:
        assert any(token in line for line in lines), f"{token!r} not whole in:\n{text}"
    return lines


def seed(cli: Cli) -> dict[str, str]:
    """Jobs with a long name, long cron expressions and one failing with a long error,
    each run once; their ids by name."""
    cli.ok("init")
    failing = json.dumps({"callable": "importlib:import_module", "kwargs": {"name": LONG_ERROR}})
    fine = json.dumps({"command": "echo fine", "shell": True})
    ids = {}
    for name, kind, cron, config, zone in (
        (LONG_NAME, "python", WEEKDAYS, failing, "Europe/Berlin"),
        ("Twice a month", "shell", TWICE_A_MONTH, fine, "America/Argentina/Buenos_Aires"),
        ("Daily Fetch", "paper_fetch", "0 9 * * *", None, "Asia/Kolkata"),
    ):
        args = ["create", name, kind, cron, "--tz", zone, "--retries", "0", "--json"]
        ids[name] = cli.ok(*args, *(["--config", config] if config else [])).json()["job_id"]
    for name in (LONG_NAME, "Twice a month"):
        ran = narrow(cli)("run", ids[name], "--executor", "thread")
        fits(ran.out, "ModuleNotFoundError" if name == LONG_NAME else "success")
    return ids


def test_every_table_fits_80_columns_on_sqlite(tmp_path: Path) -> None:
    cli = Cli(url=f"sqlite:///{tmp_path / 'dbcron.db'}", cwd=tmp_path, env=make_env(tmp_path))
    ids = seed(cli)
    store = open_store(cli.url)
    try:
        paper = Paper(
            arxiv_id="2401.00001",
            version=2,
            title="A very long title about scheduling " * 4,
            authors=("Ada Lovelace-Byron", "Alan Turing", "Grace Hopper"),
            primary_category="cond-mat.str-el",
            published=datetime(2024, 1, 2, tzinfo=UTC),
        )
        upsert_papers(store, [paper], None, datetime.now(UTC))
    finally:
        store.close()
    term = narrow(cli)
    failed = cli.ok("history", "--status", "failed", "--json").json()[0]["execution_id"]

    listing = fits(term.ok("list").out, WEEKDAYS, TWICE_A_MONTH, *TYPES, "Twice a month")
    assert not any(LONG_NAME in line for line in listing)
    assert any(LONG_NAME[:12] in line and "…" in line for line in listing)
    assert any(LONG_NAME in line for line in term.ok("list", "--wide").out.splitlines())

    history = fits(term.ok("history").out, ids[LONG_NAME][:8])
    assert any("failed" in line and "…" in line for line in history)
    [row] = [line for line in history if "failed" in line]
    printed = row.split()[0]  # an unambiguous prefix where the whole id does not fit
    assert len(printed) >= 8 and failed.startswith(printed)
    assert term.ok("execution", printed, "--json").json()["execution_id"] == failed
    assert f"logs of execution {failed}" in term.ok("logs", printed).err
    wide = term.ok("history", "--wide").out
    assert any(failed in line and LONG_ERROR in line for line in wide.splitlines())

    shown = term.ok("show", ids[LONG_NAME][:8]).out
    fits(shown, WEEKDAYS, "python", "Next fires", "Last executions", failed[:8])
    assert any(
        LONG_NAME in line for line in term.ok("show", ids[LONG_NAME], "--wide").out.splitlines()
    )
    fits(term.ok("show", ids["Twice a month"]).out, TWICE_A_MONTH)
    fits(term.ok("execution", failed).out, failed, "ModuleNotFoundError")
    fits(term.ok("status").out, "Next fires", "Daily Fetch")
    fits(term.ok("next", WEEKDAYS, "--tz", "America/Argentina/Buenos_Aires").out, WEEKDAYS)
    fits(term.ok("next", "30 2 * * *", "--tz", "America/New_York", "--after", "2026-03-07").out)
    fits(term.ok("papers").out, "2401.00001v2", "2024-01-02")
    assert "A very long title about scheduling " * 4 in term.ok("papers", "--wide").out
    fits(term.ok("config").out, "scheduler.shutdown_grace_seconds")
    commands = ["list", "history", f"show {ids[LONG_NAME]}", "status", "quit"]
    shell = term.ok("shell", stdin="\n".join(commands) + "\n").out
    # the typed command and its newline are not echoed when input is not a terminal
    shell = shell.replace("dbcron> ", "dbcron> command\n")
    fits(shell, WEEKDAYS, TWICE_A_MONTH, *TYPES, failed[:8])


def test_tables_fit_80_columns_on_postgres(
    tmp_path: Path, make_pg_database: Callable[[], str]
) -> None:
    cli = Cli(url=make_pg_database(), cwd=tmp_path, env=make_env(tmp_path))
    ids = seed(cli)
    term = narrow(cli)
    fits(term.ok("list").out, WEEKDAYS, TWICE_A_MONTH, *TYPES)
    history = fits(term.ok("history").out)
    for run in cli.ok("history", "--json").json():
        [row] = [line for line in history if f"  {run['job_id'][:8]}  " in line]
        printed = row.split()[0]
        assert term.ok("execution", printed, "--json").json()["execution_id"] == run["execution_id"]
    fits(term.ok("show", ids[LONG_NAME]).out, WEEKDAYS)
    fits(term.ok("status").out)
