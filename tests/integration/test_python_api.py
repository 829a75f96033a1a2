"""The specification's Python API: create_database_manager and DatabaseJobScheduler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbcron import DatabaseJobScheduler, JobStatus, create_database_manager
from dbcron.errors import ConfigError, CronError, NotFoundError


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


def test_the_applications_whole_config_dict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    config = {
        "database": {"url": url},
        "scheduler": {"executor": "thread", "interval_hours": 1},
        "job_defaults": {"retry_count": 0},
        "paper_fetch": {"keywords": ["AI", "RAG"], "max_papers": 50},
        "arxiv": {"categories": ["cs.CL"], "base_url": "http://export.arxiv.org"},
    }
    db_manager = create_database_manager(config)
    scheduler = DatabaseJobScheduler(db_manager)  # gets the settings the dict gave
    assert scheduler.settings.scheduler.executor == "thread"
    job = scheduler.get_job(scheduler.create_job("Fetch", "paper_fetch"))
    assert (job.schedule_expression, job.retry_count) == ("@every 1h", 0)
    db_manager.close()


def test_a_config_file_path(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    path = conf / "config.yaml"
    path.write_text(
        f"database:\n  url: sqlite:///{tmp_path / 'file.db'}\n"
        "handlers:\n  paths: [tasks]\npaper_fetch:\n  keywords: [RAG]\n",
        encoding="utf-8",
    )
    for given in (path, str(path)):
        db_manager = create_database_manager(given)
        scheduler = DatabaseJobScheduler(db_manager)
        assert scheduler.settings.handlers.paths == (str(conf / "tasks"),)
        assert scheduler.runtime.import_dirs().paths == (str(conf / "tasks"),)
        db_manager.close()
    assert (tmp_path / "file.db").is_file()
    with pytest.raises(ConfigError, match="does not exist"):
        create_database_manager(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"databse": {"url": "sqlite:///x.db"}},
            "config dict: unknown config key 'databse' (did you mean 'database'?); known "
            "sections: database, scheduler, job_defaults, logging, handlers, web, paper_fetch, "
            "arxiv",
        ),
        (
            {"database": {"url": "sqlite:///x.db"}, "scheduler": {"max_worker": 2}},
            "config dict: unknown config key 'scheduler.max_worker' "
            "(did you mean 'scheduler.max_workers'?)",
        ),
        (
            {"database": {"url": "sqlite:///x.db"}, "paper_fetch": {"max_papers": 0}},
            "paper_fetch.max_papers: input should be greater than or equal to 1, got 0 "
            "(config dict)",
        ),
        ({"nonsense": 1}, "config dict: unknown config key 'nonsense'; known sections"),
    ],
)
def test_bad_config_keys_are_config_keys(
    tmp_path: Path, config: dict[str, object], message: str
) -> None:
    database = tmp_path / "x.db"
    config = json.loads(json.dumps(config).replace("sqlite:///x.db", f"sqlite:///{database}"))
    with pytest.raises(ConfigError) as info:
        create_database_manager(config)
    assert message in str(info.value)
    assert "flag" not in str(info.value)
    assert not database.exists()
