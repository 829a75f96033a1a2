"""Job keys and job references (issue 12) on every backend: the store's key column and
its partial unique index, the service's key rules, and how an id, a key, a name or an id
prefix names a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbcron.clock import FakeClock
from dbcron.errors import (
    AmbiguousIdError,
    ConflictError,
    DbcronError,
    NotFoundError,
    ValidationError,
)
from dbcron.manager import JobManager
from dbcron.models import Job, JobStatus
from dbcron.store import Store

NOW = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


def job(name: str = "Nightly", **fields: object) -> Job:
    values: dict[str, object] = {
        "name": name,
        "job_type": "shell",
        "schedule_expression": "0 9 * * *",
        "config": {"command": "true"},
        "created_at": NOW,
        "updated_at": NOW,
        "next_execution": NOW + timedelta(days=1),
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


@pytest.fixture
def manager(store: Store) -> JobManager:
    return JobManager(store, clock=FakeClock(NOW))


def test_the_store_keeps_keys_unique_among_jobs_not_deleted(store: Store) -> None:
    first = store.insert_job(job(key="nightly"))
    assert store.get_job(first.job_id) == first
    assert store.job_by_key("nightly") == first
    assert store.job_by_key("other") is None
    with pytest.raises(ConflictError, match="key 'nightly' is already used"):
        store.insert_job(job("Second", key="nightly"))
    second = store.insert_job(job("Second"))
    with pytest.raises(ConflictError, match="key 'nightly' is already used"):
        store.update_job(second.with_changes(key="nightly"), expected_version=1)
    # a deleted job's key is free again; the deleted job keeps it in its record
    store.update_job(first.with_changes(status=JobStatus.DELETED), expected_version=1)
    assert store.job_by_key("nightly") is None
    taken = store.update_job(second.with_changes(key="nightly"), expected_version=1)
    assert store.job_by_key("nightly") == taken
    assert store.get_job(first.job_id).key == "nightly"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["Upper", "-dash", "has space", "x" * 64, ""])
def test_the_database_refuses_a_malformed_key(store: Store, bad: str) -> None:
    with pytest.raises(DbcronError):
        store.insert_job(job(key=bad))
    assert store.list_jobs() == []


def test_jobs_named_finds_exact_names_of_jobs_not_deleted(store: Store) -> None:
    a = store.insert_job(job("Backup"))
    b = store.insert_job(job("Backup", created_at=NOW + timedelta(seconds=1)))
    store.insert_job(job("backup"))
    gone = store.insert_job(job("Backup", status=JobStatus.DELETED))
    assert store.jobs_named("Backup") == [a, b]
    assert store.jobs_named("Backup", limit=1) == [a]
    assert gone not in store.jobs_named("Backup")
    assert store.jobs_named("Nothing") == []


def test_the_service_validates_and_reserves_keys(manager: JobManager, store: Store) -> None:
    created = manager.new_job("Nightly", "shell", "@daily", {"command": "true"}, key="nightly")
    assert created.key == "nightly"
    for bad in ("Nightly", "a b", "-x", "é"):
        with pytest.raises(ValidationError, match="invalid key") as caught:
            manager.new_job("Other", "shell", "@daily", {"command": "true"}, key=bad)
        assert caught.value.field == "key"
    with pytest.raises(ValidationError, match=r"key 'nightly' is already used by job \w{8}"):
        manager.new_job("Other", "shell", "@daily", {"command": "true"}, key="nightly")
    other = manager.new_job("Other", "shell", "@daily", {"command": "true"})
    with pytest.raises(ValidationError, match="already used"):
        manager.update_fields(other.job_id, key="nightly")
    # '' removes a key
    assert manager.update_fields(created.job_id, key="").key is None
    assert manager.update_fields(other.job_id, key="nightly").key == "nightly"
    # a deleted job frees its key
    manager.delete_job("nightly")
    again = manager.new_job("Again", "shell", "@daily", {"command": "true"}, key="nightly")
    assert manager.get_job("nightly") == again
    assert len(store.list_jobs(status=JobStatus.DELETED)) == 1


def test_validation_errors_name_the_field(manager: JobManager) -> None:
    cases = {
        "schedule_expression": {"schedule_expression": "61 * * * *"},
        "timezone": {"timezone": "Mars/Base"},
        "job_type": {"job_type": "nope"},
        "config": {"config": {"nope": 1}},
        "timeout_seconds": {"timeout_seconds": 0},
        "overlap_policy": {"overlap_policy": "maybe"},
        "name": {"name": " "},
    }
    for field, changes in cases.items():
        with pytest.raises(ValidationError) as caught:
            manager.create_job(job(**changes))
        assert caught.value.field == field, (field, caught.value)


def test_a_job_is_named_by_id_key_name_or_id_prefix(manager: JobManager, store: Store) -> None:
    by_key = store.insert_job(job("First", job_id="abcd0000-0000-4000-8000-000000000001"))
    by_key = store.update_job(by_key.with_changes(key="first"), expected_version=1)
    named = store.insert_job(job("Unique Name", job_id="abcd0000-0000-4000-8000-000000000002"))
    twin_a = store.insert_job(job("Twin", job_id="ef000000-0000-4000-8000-000000000003"))
    twin_b = store.insert_job(job("Twin", job_id="ef110000-0000-4000-8000-000000000004"))
    # a key or a name that looks like another job's id prefix
    shadow = store.insert_job(
        job("ef11", job_id="99000000-0000-4000-8000-000000000005", key="abcd")
    )
    resolve = manager.resolve_id
    assert resolve(named.job_id) == named.job_id  # the whole id first
    assert resolve(named.job_id.upper()) == named.job_id
    assert resolve("first") == by_key.job_id  # then the key
    assert resolve("abcd") == shadow.job_id  # a key before an id prefix
    assert resolve(" Unique Name ") == named.job_id  # then the exact name
    assert resolve("ef11") == shadow.job_id  # a name before an id prefix
    assert resolve("ef0") == twin_a.job_id  # then a unique id prefix
    with pytest.raises(AmbiguousIdError, match=r"job name 'Twin' is ambiguous: matches ef000000"):
        resolve("Twin")
    with pytest.raises(AmbiguousIdError, match="job id prefix 'ef' is ambiguous"):
        resolve("ef")
    with pytest.raises(NotFoundError, match="no job with id, key or name 'unique name'"):
        resolve("unique name")  # names are exact
    with pytest.raises(NotFoundError, match="no job with id, key or name 'nope!'"):
        resolve("nope!")
    missing = "0123abcd-0000-4000-8000-000000000000"
    with pytest.raises(NotFoundError, match=f"no job with id '{missing}'"):
        resolve(missing)
    # deleted jobs: by id or prefix only
    manager.delete_job(twin_b.job_id)
    assert resolve("Twin") == twin_a.job_id
    assert resolve(twin_b.job_id[:5]) == twin_b.job_id
    manager.delete_job("first")
    with pytest.raises(NotFoundError):
        resolve("first")
    assert resolve(by_key.job_id) == by_key.job_id
