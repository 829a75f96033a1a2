"""Jobs files without a database: reading with lines, templates, keys and the plan."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime

import pytest

from dbcron.config import JobDefaults
from dbcron.models import Job, JobStatus
from dbcron.service.jobfiles import Action, FieldChange, JobFileError
from dbcron.service.jobfiles.fields import derived_keys, field_defaults, job_document, slug
from dbcron.service.jobfiles.plan import make_plan
from dbcron.service.jobfiles.source import Source, load_source
from dbcron.service.jobfiles.templates import resolve

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def source(text: str, name: str = "jobs.yaml") -> Source:
    return load_source(textwrap.dedent(text).lstrip("\n"), name)


def specs(text: str) -> dict[str, dict[str, object]]:
    """The resolved jobs of a file: key -> field -> value."""
    return {
        spec.key: {name: s.value for name, s in spec.settings.items()}
        for spec in resolve(source(text))
    }


def fails(text: str, name: str = "jobs.yaml") -> str:
    with pytest.raises(JobFileError) as caught:
        resolve(source(text, name))
    return str(caught.value)


# -- reading --------------------------------------------------------------------------


def test_every_entry_has_its_line() -> None:
    read = source(
        """
        jobs:
          - key: a
            schedule: "0 3 * * *"
            config:
              keywords: [x]
          - key: b
        """
    )
    assert read.data["jobs"][0]["config"] == {"keywords": ["x"]}
    assert read.line(("jobs", 0, "schedule")) == 3
    assert read.line(("jobs", 0, "config", "keywords")) == 5
    assert read.line(("jobs", 1)) == 6
    # a path without its own line gets its nearest ancestor's
    assert read.line(("jobs", 1, "name")) == 6
    assert str(read.error(("jobs", 0, "schedule"), "bad")) == "jobs.yaml:3: jobs[0].schedule: bad"


def test_json_gets_lines_and_json_values() -> None:
    read = source(
        '{"jobs": [\n\t{"key": "a",\n\t "retries": 1e1, "schedule": "@daily"}]}', "x.json"
    )
    assert read.data == {"jobs": [{"key": "a", "retries": 10.0, "schedule": "@daily"}]}
    assert read.line(("jobs", 0, "retries")) == 3


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("jobs:\n  - key: a\n    schedule: @daily\n", "f.yaml", "f.yaml:3: invalid YAML"),
        ("jobs:\n  - key: [a\n", "f.yaml", "f.yaml:3: invalid YAML"),
        ('{"jobs": [\n  {"key": "a",}\n]}', "f.json", "f.json:2: invalid JSON"),
        ("jobs:\n  - key: a\n    key: b\n", "f.yaml", "f.yaml:3: jobs[0].key: written twice"),
    ],
)
def test_syntax_errors_name_the_line(text: str, name: str, message: str) -> None:
    with pytest.raises(JobFileError, match=re.escape(message)):
        load_source(text, name)


def test_dates_stay_text_and_merge_keys_work() -> None:
    read = source(
        """
        base: &base {type: shell, schedule: "@daily"}
        jobs:
          - <<: *base
            key: a
            description: 2026-01-01
        """
    )
    assert read.data["jobs"][0] == {
        "type": "shell",
        "schedule": "@daily",
        "key": "a",
        "description": "2026-01-01",
    }


# -- templates ------------------------------------------------------------------------


def test_defaults_then_template_chain_then_the_job() -> None:
    jobs = specs(
        """
        defaults:
          timezone: Europe/Paris
          retries: 1
          config: {level: 1}
        templates:
          fetch:
            type: paper_fetch
            schedule: "0 3 * * *"
            retries: 2
            config: {max_papers: 50, keywords: [AI]}
          fetch-ml:
            extends: fetch
            config: {categories: [cs.LG], keywords: [ML]}
        jobs:
          - key: rag
            name: RAG
            extends: fetch
            config: {keywords: [RAG]}
          - key: ml
            extends: fetch-ml
            retries: 5
          - key: plain
            type: shell
            schedule: "@daily"
        """
    )
    assert jobs["rag"] == {
        "timezone": "Europe/Paris",
        "retries": 2,
        "config": {"level": 1, "max_papers": 50, "keywords": ["RAG"]},
        "type": "paper_fetch",
        "schedule": "0 3 * * *",
        "key": "rag",
        "name": "RAG",
    }
    assert jobs["ml"]["config"] == {
        "level": 1,
        "max_papers": 50,
        "keywords": ["ML"],
        "categories": ["cs.LG"],
    }
    assert jobs["ml"]["retries"] == 5
    assert jobs["ml"]["name"] == "ml"  # the key when the job has no name
    assert jobs["plain"]["retries"] == 1 and jobs["plain"]["config"] == {"level": 1}


def test_a_setting_remembers_where_it_was_written() -> None:
    [spec] = resolve(
        source(
            """
            templates:
              t: {type: shell, schedule: "@daily"}
            jobs:
              - key: a
                extends: t
                schedule: "@hourly"
            """
        )
    )
    assert spec.settings["type"].path == ("templates", "t", "type")
    assert spec.settings["schedule"].path == ("jobs", 0, "schedule")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "jobs:\n  - key: a\n    extends: nope\n    type: shell\n",
            "jobs.yaml:3: jobs[0].extends: unknown template 'nope'",
        ),
        (
            "templates:\n  a: {extends: b}\n  b: {extends: a}\n"
            "jobs:\n  - {key: x, extends: a, type: shell, schedule: '@daily'}\n",
            "jobs.yaml:3: templates.b.extends: templates extend each other in a cycle: a -> b -> a",
        ),
        (
            "templates:\n  a: {extends: a}\njobs:\n  - {key: x, extends: a}\n",
            "jobs.yaml:2: templates.a.extends: templates extend each other in a cycle: a -> a",
        ),
        (
            "jobs:\n  - key: a\n    type: shell\n    schedul: '@daily'\n",
            "jobs.yaml:4: jobs[0].schedul: unknown field 'schedul' (did you mean 'schedule'?)",
        ),
        ("jobs:\n  - type: shell\n", "jobs.yaml:2: jobs[0]: key is required"),
        ("jobs:\n  - key: a\n    type: shell\n", "jobs.yaml:2: jobs[0]: schedule is required"),
        (
            "jobs:\n  - {key: a, type: shell, schedule: '@daily'}\n"
            "  - {key: a, type: shell, schedule: '@daily'}\n",
            "jobs.yaml:3: jobs[1].key: key 'a' is used twice (first on line 2)",
        ),
        ("jobs:\n  - key: Not A Slug\n", "jobs.yaml:2: jobs[0].key: invalid key 'Not A Slug'"),
        ("defaults:\n  key: a\njobs: []\n", "jobs.yaml:2: defaults.key: key belongs to each job"),
        (
            "jobs:\n  - key: a\n    timeout: ten\n",
            "jobs.yaml:3: jobs[0].timeout: must be a whole number, not 'ten'",
        ),
        ("jobs:\n  - key: a\n    status: deleted\n", "jobs.yaml:3: jobs[0].status: must be one"),
        ("jobs:\n  - key: a\n    config: [1]\n", "jobs.yaml:3: jobs[0].config: must be a mapping"),
        ("jbos: []\n", "jobs.yaml:1: jbos: unknown section 'jbos' (did you mean 'jobs'?)"),
        ("defaults: {}\n", "jobs.yaml:1: the file has no 'jobs' list"),
        ("- a\n", "jobs.yaml:1: a jobs file is a mapping"),
    ],
)
def test_mistakes_name_the_file_the_line_and_the_field(text: str, message: str) -> None:
    assert fails(text).startswith(message), fails(text)


# -- keys and documents ---------------------------------------------------------------


def job(name: str, **fields: object) -> Job:
    values: dict[str, object] = {
        "name": name,
        "job_type": "shell",
        "schedule_expression": "@daily",
        "config": {"command": "true"},
        "timeout_seconds": 3600,
        "retry_count": 3,
        "retry_delay_seconds": 300,
        "created_at": T0,
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


def test_slugs_and_derived_keys_are_unique_and_stable() -> None:
    assert slug("Daily Fetch (EU)") == "daily-fetch-eu"
    assert slug("Ünïcode ✓ job") == "unicode-job"
    assert slug("✓✓") == "job"
    assert slug("x" * 100) == "x" * 63
    jobs = [
        job("Backup"),
        job("backup", key=None),
        job("Other", key="backup"),
        job("y" * 70),
        job("y" * 70),
    ]
    keys = derived_keys(jobs)
    assert [keys[j.job_id] for j in jobs] == [
        "backup-2",
        "backup-3",
        "backup",
        "y" * 63,
        "y" * 61 + "-2",
    ]
    assert derived_keys(jobs) == keys


def test_documents_leave_out_fields_at_their_default() -> None:
    defaults = field_defaults(JobDefaults(timeout_seconds=600))
    plain = job("Plain", timeout_seconds=600)
    assert job_document(plain, "plain", defaults) == {
        "key": "plain",
        "name": "Plain",
        "type": "shell",
        "schedule": "@daily",
        "config": {"command": "true"},
    }
    busy = job("Busy", status=JobStatus.PAUSED, priority=5, keep_last=10, description="d")
    assert job_document(busy, "busy", defaults) == {
        "key": "busy",
        "name": "Busy",
        "type": "shell",
        "schedule": "@daily",
        "status": "paused",
        "description": "d",
        "config": {"command": "true"},
        "timeout": 3600,
        "priority": 5,
        "keep_last": 10,
    }


# -- the plan -------------------------------------------------------------------------


def test_plan_creates_updates_deletes_and_leaves_alone() -> None:
    same = job("Same", key="same")
    edited = job("Edited", key="edited", config={"command": "a", "cwd": "/"})
    gone = job("Gone", key="gone")
    keyless = job("Keyless")
    stored = [same, edited, gone, keyless]
    desired = [
        same.with_changes(job_id="ignored"),
        edited.with_changes(schedule_expression="@hourly", config={"command": "b", "env": {}}),
        job("New", key="new"),
    ]
    plan = make_plan("jobs.yaml", desired, stored, prune=True)
    assert [(i.action, i.key) for i in plan.items] == [
        (Action.UNCHANGED, "same"),
        (Action.UPDATE, "edited"),
        (Action.CREATE, "new"),
        (Action.DELETE, "gone"),  # a job without a key is never pruned
    ]
    update = plan.items[1]
    assert update.fields == (
        FieldChange("schedule", "@daily", "@hourly"),
        FieldChange("config.command", "a", "b"),
        FieldChange("config.cwd", "/", None),
        FieldChange("config.env", None, {}),
    )
    assert update.changes == {
        "schedule_expression": "@hourly",
        "config": {"command": "b", "env": {}},
    }
    assert plan.has_changes
    assert not make_plan("jobs.yaml", desired[:1], stored, prune=False).has_changes


def test_a_job_without_a_key_is_matched_by_its_derived_key() -> None:
    keyless = job("Nightly Backup")
    untouched = make_plan("f", [keyless.with_changes(key="nightly-backup")], [keyless], prune=True)
    assert [i.action for i in untouched.items] == [Action.UNCHANGED]
    edited = keyless.with_changes(key="nightly-backup", priority=3)
    plan = make_plan("f", [edited], [keyless], prune=True)
    [item] = plan.items
    assert item.action is Action.UPDATE and item.current is keyless
    # it takes the key with its first change
    assert item.changes == {"priority": 3, "key": "nightly-backup"}
    assert FieldChange("key", None, "nightly-backup") in item.fields
