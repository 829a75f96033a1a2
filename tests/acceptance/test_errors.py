"""Bad input: one line on stderr, the right exit code, no traceback, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dbcron.manager import JobManager
from dbcron.models import Job
from dbcron.store import open_store
from tests.acceptance.conftest import Cli, make_env
from tests.conftest import BACKENDS

MISSING = "0123abcd-0000-4000-8000-000000000000"

CASES = [
    (
        ("create", "x", "custom", "61 * * * *"),
        2,
        "invalid minute field '61': 61 is out of range (allowed 0-59)",
    ),
    (("create", "x", "shell", "* * *"), 2, "expected 5 fields"),
    (("create", "x", "shell", "@fortnightly"), 2, "@fortnightly"),
    (("create", "x", "nope", "* * * * *"), 2, "unknown job type 'nope' (known types:"),
    (("create", "x", "shell", "* * * * *", "--config", "{bad"), 2, "--config is not valid JSON"),
    (("create", "x", "shell", "* * * * *", "--config", "[1]"), 2, "must be a JSON object"),
    (
        ("create", "x", "shell", "* * * * *", "--config", "@missing.json"),
        2,
        "cannot read config file",
    ),
    (("create", "x", "shell", "* * * * *"), 2, "invalid shell config: command"),
    (("create", "x", "paper_fetch", "* * * * *", "--tz", "Mars/Base"), 2, "Mars/Base"),
    (
        ("create", "x", "paper_fetch", "* * * * *", "--timeout", "0"),
        2,
        "timeout_seconds must be at least 1",
    ),
    (
        ("create", "x", "paper_fetch", "* * * * *", "--retries", "-1"),
        2,
        "retry_count must be at least 0",
    ),
    (("create", "", "paper_fetch", "* * * * *"), 2, "name must not be empty"),
    (
        ("create", "x", "paper_fetch", "* * * * *", "--overlap", "maybe"),
        2,
        "overlap_policy must be one of",
    ),
    (("show", MISSING), 1, f"no job with id '{MISSING}'"),
    (("show", "nope!"), 1, "no job with id, key or name 'nope!'"),
    (("pause", MISSING), 1, "no job with id"),
    (("resume", MISSING), 1, "no job with id"),
    (("trigger", MISSING), 1, "no job with id"),
    (("delete", MISSING), 1, "no job with id"),
    (("delete", MISSING, "--purge"), 1, "no job with id"),
    (("update", MISSING, "--name", "y"), 1, "no job with id"),
    (("history", MISSING), 1, "no job with id"),
    (("list", "--status", "sleeping"), 2, "status must be one of"),
    (("list", "--type", "nope"), 2, "unknown job type"),
    (("history", "--limit", "0"), 2, "limit must be at least 1"),
    (("next", "0 0 31 2 *"), 2, "never"),
    (("next", "* * * * *", "--tz", "Nowhere/Land"), 2, "Nowhere/Land"),
    (
        ("next", "* * * * *", "--after", "yesterday"),
        2,
        "--after 'yesterday' is not an ISO 8601 time",
    ),
    # an expression starting with '-' is the expression, not an unknown option
    (("next", "-1 * * * *"), 2, "invalid minute field '-1'"),
    (("next", "-1 * * * *", "--tz", "UTC", "-n", "2"), 2, "invalid minute field '-1'"),
    # valid but never fires: the library's error, not an empty listing
    (("next", "0 0 */31 2 MON#5"), 2, "has no fire time within 50 years"),
    (("next", "1\n2 * * * *"), 2, "invalid character '\\n' (U+000A)"),
    (("next", "0\u00a00 * * * *"), 2, "(U+00A0)"),
    (("next", "@every \u0665s"), 2, "only the ASCII digits 0-9 are allowed"),
    (("next", "0 0 29-L * *"), 2, "'L' cannot be part of a range"),
]

#: The command line's own mistakes: one line too, naming where to look. They never reach
#: the database, so one backend is enough.
USAGE_CASES = [
    (("create", "only-a-name"), "missing argument 'TYPE' (see dbcron create --help)"),
    (("show",), "missing argument 'job_id' (see dbcron show --help)"),
    (("list", "extra"), "unexpected extra argument(s) (extra)"),
    (("list", "--bogus"), "no such option: --bogus (see dbcron list --help)"),
    (("nosuch",), "no such command 'nosuch' (see dbcron --help)"),
    (("history", "--limit", "many"), "invalid value for '--limit' / '-n'"),
]


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    make_pg_database: Callable[[], str],
) -> Cli:
    """One database per backend holding a job and an execution, shared by the cases
    below: each case proves that it changed nothing, so they cannot disturb each other."""
    home = tmp_path_factory.mktemp("errors")
    url = f"sqlite:///{home / 'dbcron.db'}" if request.param == "sqlite" else make_pg_database()
    cli = Cli(url=url, cwd=home, env=make_env(home))
    cli.ok("init")
    existing = cli.ok("create", "existing", "paper_fetch", "0 9 * * *", "--json").json()["job_id"]
    cli.ok("trigger", existing)
    return cli


@pytest.mark.parametrize(
    ("args", "code", "message"), CASES, ids=[" ".join(c[0])[:40] for c in CASES]
)
def test_bad_input_is_refused_cleanly(
    seeded: Cli, args: tuple[str, ...], code: int, message: str
) -> None:
    cli = seeded
    before = cli.dump()
    result = cli(*args)
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert cli.dump() == before


def test_next_answers_on_chatham_fall_back_night(tmp_path: Path) -> None:
    """It used to loop forever (100% CPU) after 03:44 +1345 on Chatham's fall-back day."""
    cli = Cli(url="sqlite:///unused.db", cwd=tmp_path, env=make_env(tmp_path))
    args = ("next", "* 3 * * *", "--tz", "Pacific/Chatham", "--after", "2025-04-06T03:43")
    result = cli(*args, "-n", "3", "--json", db=False)
    assert result.code == 0, result.err
    assert [f["local"] for f in result.json()["fires"]] == [
        "2025-04-06T03:44:00+13:45",
        "2025-04-06T03:00:00+12:45",
        "2025-04-06T03:01:00+12:45",
    ]


def test_ambiguous_prefix_lists_candidates(cli: Cli) -> None:
    cli.ok("init")
    store = open_store(cli.url)
    try:
        manager = JobManager(store)
        for n in (1, 2):
            manager.create_job(
                Job(
                    name=f"j{n}",
                    job_type="paper_fetch",
                    schedule_expression="0 9 * * *",
                    job_id=f"abcd{n}000-0000-4000-8000-000000000000",
                )
            )
    finally:
        store.close()
    result = cli("show", "abcd")
    assert result.code == 2  # bad input, as the README says
    assert result.err.strip() == (
        "error: job id prefix 'abcd' is ambiguous: matches abcd1000-0000, abcd2000-0000"
    )
    assert cli.ok("show", "abcd2", "--json").json()["job"]["name"] == "j2"


def test_uninitialised_database(cli: Cli) -> None:
    if cli.url.startswith("sqlite"):
        result = cli("list")
        assert result.code == 1
        assert "run `dbcron init`" in result.err
        assert not (cli.cwd / "dbcron.db").exists()
    else:
        result = cli("list")
        assert result.code == 1
        assert "has no dbcron tables; run `dbcron init`" in result.err


def test_unreachable_database_hides_password(cli: Cli) -> None:
    cli.url = "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"
    result = cli("list")
    assert result.code == 1
    assert result.err.startswith(
        "error: cannot connect to postgresql://postgres:***@127.0.0.1:1/nowhere"
    )
    assert "s3cret" not in result.err + result.out
    assert len(result.err.strip().splitlines()) == 1


def test_broken_config_file(cli: Cli) -> None:
    (cli.cwd / "config.yaml").write_text("scheduler:\n  check_intervall: 5\n")
    result = cli("list")
    assert result.code == 2
    assert "unknown config key 'scheduler.check_intervall'" in result.err
    (cli.cwd / "config.yaml").write_text("scheduler: [unclosed\n")
    result = cli("list")
    assert result.code == 2
    assert "invalid YAML" in result.err


def test_config_command_redacts_passwords(cli: Cli) -> None:
    cli.env["DATABASE_URL"] = "postgresql://app:hunter2@db.example.com:6543/postgres"
    result = cli("config", db=False)
    assert result.code == 0
    assert "hunter2" not in result.out
    assert "postgresql://app:***@db.example.com:6543/postgres" in result.out
    assert "environment (DATABASE_URL)" in result.out


@pytest.mark.parametrize("cli", ["sqlite"], indirect=True)
def test_command_line_mistakes_are_one_line(cli: Cli) -> None:
    cli.ok("init")
    before = cli.dump()
    for args, message in USAGE_CASES:
        result = cli(*args)
        assert (result.code, result.out) == (2, ""), (args, result)
        assert result.err.strip() == f"error: {message}" or (
            result.err.startswith("error: ")
            and message in result.err
            and len(result.err.strip().splitlines()) == 1
        ), (args, result.err)
    assert cli.dump() == before


@pytest.mark.parametrize("cli", ["sqlite"], indirect=True)
def test_dbcron_alone_prints_the_help(cli: Cli) -> None:
    result = cli(db=False)
    assert result.code == 0 and "Usage: dbcron" in result.out and result.err == ""
