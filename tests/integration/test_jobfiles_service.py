"""The jobs-file service over every backend, on a fake clock: apply goes through the job
service (events, the fires an edit drops, optimistic locking), validates the whole file
before it writes, and export gives back what apply wrote."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from dbcron.clock import FakeClock
from dbcron.config import JobDefaults
from dbcron.errors import ConflictError
from dbcron.events import Event, EventBus, JobChanged, JobCreated, JobDeleted
from dbcron.manager import JobManager
from dbcron.models import ExecutionStatus, JobStatus
from dbcron.service.jobfiles import Action, JobFileError, JobFiles
from dbcron.store import Store

NOW = datetime(2026, 3, 7, 12, 0, 30, tzinfo=UTC)

FILE = """
defaults:
  timezone: Europe/Paris
templates:
  every-ten:
    type: shell
    schedule: "*/10 * * * *"
    config: {command: "true"}
jobs:
  - key: ten
    name: Every ten minutes
    extends: every-ten
  - key: paused
    extends: every-ten
    status: paused
    config: {cwd: /tmp}
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def manager(store: Store, clock: FakeClock, bus: EventBus) -> JobManager:
    return JobManager(store, clock=clock, defaults=JobDefaults(retry_count=1), bus=bus)


@pytest.fixture
def files(manager: JobManager) -> JobFiles:
    return JobFiles(manager)


def text(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


def snapshot(store: Store) -> tuple[object, ...]:
    return (
        tuple(store.list_jobs()),
        tuple(store.list_jobs(status=JobStatus.DELETED)),
        tuple(store.list_executions(limit=1000)),
    )


def test_apply_goes_through_the_job_service(
    files: JobFiles, manager: JobManager, bus: EventBus, clock: FakeClock, store: Store
) -> None:
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    plan = files.plan(FILE, "jobs.yaml")
    assert [(i.action, i.key) for i in plan.items] == [
        (Action.CREATE, "ten"),
        (Action.CREATE, "paused"),
    ]
    result = files.apply(plan)
    assert [type(e) for e in events] == [JobCreated, JobCreated]
    ten, paused = result.created
    assert (ten.timezone, ten.retry_count, ten.config) == ("Europe/Paris", 1, {"command": "true"})
    assert paused.status is JobStatus.PAUSED
    assert paused.config == {"command": "true", "cwd": "/tmp"}
    assert paused.name == "paused"
    # the same file again: nothing to do
    before = snapshot(store)
    assert not files.plan(FILE, "jobs.yaml").has_changes
    assert snapshot(store) == before

    # ten's fires at 12:10 and 12:20 are overdue, not yet claimed, when its schedule
    # changes; paused missed the same two while paused: all are recorded missed
    clock.set(datetime(2026, 3, 7, 12, 25, tzinfo=UTC))
    edited = FILE.replace(
        "extends: every-ten\n  - key: paused",
        'extends: every-ten\n    schedule: "@hourly"\n  - key: paused',
    )
    edited = edited.replace("    status: paused\n", "")
    events.clear()
    plan = files.plan(edited, "jobs.yaml")
    [ten_change, paused_change] = plan.items
    assert [(c.field, c.old, c.new) for c in ten_change.fields] == [
        ("schedule", "*/10 * * * *", "@hourly")
    ]
    assert [(c.field, c.old, c.new) for c in paused_change.fields] == [
        ("status", "paused", "active")
    ]
    files.apply(plan)
    assert [type(e) for e in events].count(JobChanged) == 2
    dropped = manager.history(ten.job_id)
    assert sorted(e.scheduled_for.minute for e in dropped) == [10, 20]
    assert {e.status for e in dropped} == {ExecutionStatus.MISSED}
    assert all("schedule changed" in (e.error_message or "") for e in dropped)
    missed = manager.history(paused.job_id)
    assert sorted(e.scheduled_for.minute for e in missed) == [10, 20]
    assert all("paused" in (e.error_message or "") for e in missed)

    # --prune deletes the keyed jobs the file lacks, never a job without a key
    manager.new_job("No key", "shell", "@daily", {"command": "true"})
    events.clear()
    only_ten = text(
        """
        jobs:
          - {key: ten, name: Every ten minutes, type: shell, schedule: "@hourly",
             timezone: Europe/Paris, config: {command: "true"}}
        """
    )
    plan = files.plan(only_ten, "jobs.yaml", prune=True)
    assert [(i.action, i.key) for i in plan.items] == [
        (Action.UNCHANGED, "ten"),
        (Action.DELETE, "paused"),
    ]
    assert [job.name for job in files.apply(plan).deleted] == ["paused"]
    assert [type(e) for e in events] == [JobDeleted]
    assert {job.name for job in manager.list_jobs()} == {"Every ten minutes", "No key"}


def test_a_bad_job_anywhere_in_the_file_writes_nothing(files: JobFiles, store: Store) -> None:
    before = snapshot(store)
    bad = FILE + "  - key: third\n    extends: every-ten\n    max_concurrency: 0\n"
    with pytest.raises(JobFileError, match=r"^jobs.yaml:19: jobs\[2\].max_concurrency: "):
        files.plan(bad, "jobs.yaml")
    wrong_template = FILE.replace('schedule: "*/10 * * * *"', 'schedule: "*/10 * * *"')
    with pytest.raises(
        JobFileError,
        match=r"^jobs.yaml:7: templates.every-ten.schedule: .* \(in jobs\[0\]\)$",
    ):
        files.plan(wrong_template, "jobs.yaml")
    assert snapshot(store) == before


def test_apply_refuses_a_job_changed_since_the_plan(files: JobFiles, manager: JobManager) -> None:
    files.apply(files.plan(FILE, "jobs.yaml"))
    plan = files.plan(FILE.replace("/tmp", "/var"), "jobs.yaml")
    manager.update_fields("paused", description="changed meanwhile")
    with pytest.raises(ConflictError, match="changed by someone else"):
        files.apply(plan)
    assert manager.get_job("paused").config["cwd"] == "/tmp"
    two = files.plan(FILE.replace("/tmp", "/var").replace("Every ten", "Each ten"), "x.yaml")
    manager.update_fields("paused", description="changed again")
    with pytest.raises(ConflictError, match=r"after 1 of 2 changes were made"):
        files.apply(two)
    assert manager.get_job("ten").name == "Each ten minutes"


def test_export_gives_back_what_apply_wrote(files: JobFiles, manager: JobManager) -> None:
    files.apply(files.plan(FILE, "jobs.yaml"))
    manager.new_job("Daily Report", "shell", "@daily", {"command": "true"}, retry_count=1)
    assert files.export_document() == {
        "jobs": [
            {"key": "daily-report", "name": "Daily Report", "type": "shell", "schedule": "@daily",
             "config": {"command": "true"}},
            {"key": "paused", "name": "paused", "type": "shell", "schedule": "*/10 * * * *",
             "timezone": "Europe/Paris", "status": "paused",
             "config": {"command": "true", "cwd": "/tmp"}},
            {"key": "ten", "name": "Every ten minutes", "type": "shell",
             "schedule": "*/10 * * * *", "timezone": "Europe/Paris",
             "config": {"command": "true"}},
        ]
    }  # fmt: skip
    assert files.export_document(["Daily Report", "ten"])["jobs"][0]["key"] == "daily-report"
    assert [j["key"] for j in files.export_document(status="paused")["jobs"]] == ["paused"]
    for fmt in ("yaml", "json"):
        exported = files.export(fmt=fmt)
        assert exported.jobs == 3
        assert not files.plan(exported.text, f"jobs.{fmt}", prune=True).has_changes
