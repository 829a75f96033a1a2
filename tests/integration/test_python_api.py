"""The specification's Python API: create_database_manager and DatabaseJobScheduler."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbcron import DatabaseJobScheduler, JobStatus, create_database_manager
from dbcron.errors import CronError, NotFoundError


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    value: str = request.getfixturevalue("make_pg_database")()
    return value


def test_specification_example(url: str) -> None:
    db_manager = create_database_manager({"database": {"url": url}})
    scheduler = DatabaseJobScheduler(db_manager)
    job_id = scheduler.create_job(
        name="Daily Paper Fetch",
        job_type="paper_fetch",
        schedule_expression="0 9 * * *",
        config={"config_path": "config.yaml", "max_papers": 100, "keywords": ["AI", "ML", "RAG"]},
        description="Daily paper fetch",
    )
    job = scheduler.get_job(job_id)
    assert job.name == "Daily Paper Fetch"
    assert job.next_execution is not None
    assert job.next_execution.hour == 9
    assert scheduler.pause_job(job_id).status is JobStatus.PAUSED
    assert scheduler.resume_job(job_id).status is JobStatus.ACTIVE
    execution = scheduler.trigger_job(job_id)
    status = scheduler.get_status()
    assert status.pending == 1
    assert status.upcoming[0][0].job_id == job_id
    assert [j.job_id for j in scheduler.list_jobs(status=JobStatus.ACTIVE)] == [job_id]
    updated = scheduler.update_job(job.with_changes(version=3, description="changed"))
    assert updated.description == "changed"
    assert scheduler.manager.history(job_id) == [execution]
    scheduler.delete_job(job_id)
    assert scheduler.list_jobs() == []
    with pytest.raises(CronError):
        scheduler.create_job(name="bad", job_type="custom", schedule_expression="nope")
    scheduler.delete_job(job_id, purge=True)
    with pytest.raises(NotFoundError):
        scheduler.get_job(job_id)
    db_manager.close()


def test_url_string_and_reopen(url: str) -> None:
    first = create_database_manager(url)
    DatabaseJobScheduler(first).create_job("a", "shell", "@hourly", {"command": ["true"]})
    first.close()
    again = create_database_manager(url, create=False)
    assert [j.name for j in DatabaseJobScheduler(again).list_jobs()] == ["a"]
    again.close()


def test_start_and_stop_run_the_engine(url: str) -> None:
    from dbcron.config import Settings
    from tests.support.waiting import wait_for

    db_manager = create_database_manager(url)
    settings = Settings.model_validate(
        {"database": {"url": url}, "scheduler": {"executor": "thread"}}
    )
    scheduler = DatabaseJobScheduler(db_manager, settings=settings)
    job_id = scheduler.create_job(
        "every second", "python", "@every 1s", {"callable": "tests.support.handlers:noop"}
    )
    scheduler.start()
    try:
        assert scheduler.running
        wait_for(lambda: scheduler.manager.history(job_id, status="success"), 10)
        report = scheduler.get_status()
        assert list(report.node_states.values()) == ["running"]
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert list(scheduler.get_status().node_states.values()) == ["stopped"]
    db_manager.close()
