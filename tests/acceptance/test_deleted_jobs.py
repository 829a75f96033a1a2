"""A deleted job stays deleted: every verb that would bring it back refuses (issue 9)."""

from __future__ import annotations

from tests.acceptance.conftest import Cli

VERBS = [("pause",), ("resume",), ("trigger",), ("update", "--description", "back"), ("run",)]


def test_verbs_on_a_deleted_job_refuse_in_one_line_and_change_nothing(cli: Cli) -> None:
    cli.ok("init", "--no-maintenance")
    created = cli.ok(
        "create", "j", "shell", "* * * * *", "--config", '{"command": "true"}', "--json"
    )
    job_id = created.json()["job_id"]
    cli.ok("delete", job_id)
    before = cli.dump()
    for verb in VERBS:
        result = cli(verb[0], job_id, *verb[1:])
        assert result.code == 2, (verb, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (verb, result.err)
        assert "is deleted" in lines[0], verb
        assert cli.dump() == before, verb
    assert cli.ok("show", job_id, "--json").json()["job"]["status"] == "deleted"
