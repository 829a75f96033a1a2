"""The application's sections in config.yaml, custom handlers checked at create and
update, and ``scheduler.interval_hours``, through the CLI as a subprocess."""

from __future__ import annotations

import json

import pytest

from tests.acceptance.conftest import Cli


@pytest.mark.parametrize("cli", ["sqlite"], indirect=True)
def test_application_sections_in_config_yaml(cli: Cli) -> None:
    config = cli.cwd / "config.yaml"
    config.write_text(
        "scheduler:\n  check_interval_seconds: 30\n"
        "paper_fetch:\n  keywords: [AI, RAG]\n  max_papers: 200\n"
        "arxiv:\n  categories: [cs.CL]\n  base_url: http://export.arxiv.org\n",
        encoding="utf-8",
    )
    cli.ok("init")
    assert "Nightly maintenance" in cli.ok("list").out
    shown = {row["key"]: row for row in cli.ok("config", "--json").json()}
    assert shown["paper_fetch.max_papers"]["value"] == 200
    assert shown["paper_fetch.keywords"]["source"] == f"config file {config}"
    assert shown["arxiv.categories"]["value"] == ["cs.CL"]
    before = cli.dump()

    config.write_text("paper_fetch:\n  max_papers: lots\n", encoding="utf-8")
    bad = cli("list")
    assert bad.code == 2 and bad.out == ""
    assert bad.err.startswith("error: paper_fetch.max_papers: input should be a valid integer")
    assert len(bad.err.strip().splitlines()) == 1

    config.write_text("nonsense:\n  a: 1\npaper_fetch: {}\n", encoding="utf-8")
    unknown = cli("create", "x", "shell", "@daily", "--config", '{"command": ["true"]}')
    assert unknown.code == 2
    assert unknown.err == (
        "error: config.yaml: unknown config key 'nonsense'; known sections: database, "
        "scheduler, job_defaults, logging, handlers, web, paper_fetch, arxiv\n"
    )
    assert cli.dump() == before


def test_custom_handlers_are_checked_at_create_and_update(cli: Cli) -> None:
    cli.ok("init")
    before = cli.dump()
    refused = cli("create", "Reindex", "custom", "@daily", "--config", '{"handler": "reindex"}')
    assert refused.code == 2 and refused.out == ""
    assert refused.err.startswith(
        "error: unknown custom handler 'reindex' (known handlers: none); register it"
    )
    assert len(refused.err.strip().splitlines()) == 1
    malformed = cli("create", "Reindex", "custom", "@daily", "--config", '{"handler": "a:b:c"}')
    assert malformed.code == 2 and "is not a dotted path" in malformed.err
    assert cli.dump() == before

    dotted = '{"handler": "myapp.jobs:reindex"}'  # the module may live on the schedulers only
    job_id = cli.ok("create", "Reindex", "custom", "@daily", "--config", dotted, "--json").json()[
        "job_id"
    ]
    before = cli.dump()
    changed = cli("update", job_id, "--config", '{"handler": "reindex"}')
    assert changed.code == 2 and "unknown custom handler 'reindex'" in changed.err
    assert cli.dump() == before
    cli.ok("update", job_id, "--description", "rebuild the index")  # the config is not touched


@pytest.mark.parametrize("cli", ["sqlite"], indirect=True)
def test_interval_hours_is_the_schedule_of_a_job_created_without_one(cli: Cli) -> None:
    cli.ok("init")
    command = json.dumps({"command": ["true"]})
    default = cli.ok("create", "Every two hours", "shell", "--config", command)
    assert "@every 2h (scheduler.interval_hours)" in default.out
    (cli.cwd / "config.yaml").write_text("scheduler:\n  interval_hours: 0.5\n", encoding="utf-8")
    created = cli.ok("create", "Half-hourly", "shell", "--config", command, "--json").json()
    assert created["schedule_expression"] == "@every 30m"
    (cli.cwd / "config.yaml").write_text("scheduler:\n  interval_hours: 0\n", encoding="utf-8")
    bad = cli("create", "Never", "shell", "--config", command)
    assert bad.code == 2
    assert bad.err.startswith("error: scheduler.interval_hours: expected a number > 0 <= 8784")
