"""Runs per hour by status (the dashboard's overview chart): the store query on every
backend and the read model's whole-hour window with zeros where nothing ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbcron.clock import FakeClock
from dbcron.errors import ValidationError
from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.service.queries import Queries
from dbcron.store import Store

NOW = datetime(2026, 3, 1, 9, 40, tzinfo=UTC)


def _job(store: Store) -> Job:
    return store.insert_job(
        Job(
            name="hist",
            job_type="shell",
            schedule_expression="* * * * *",
            config={"command": "true"},
            created_at=NOW,
            updated_at=NOW,
        )
    )


def _run(store: Store, job: Job, at: datetime, status: ExecutionStatus) -> None:
    store.insert_execution(
        Execution(job_id=job.job_id, scheduled_for=at, created_at=at, status=status)
    )


def test_runs_per_hour_groups_by_utc_hour_and_status(store: Store) -> None:
    job = _job(store)
    _run(store, job, NOW - timedelta(hours=2, minutes=30), ExecutionStatus.SUCCESS)  # 07:10
    _run(store, job, NOW - timedelta(hours=2, minutes=35), ExecutionStatus.SUCCESS)  # 07:05
    _run(store, job, NOW - timedelta(hours=2, minutes=39), ExecutionStatus.FAILED)  # 07:01
    _run(store, job, NOW - timedelta(minutes=1), ExecutionStatus.RUNNING)  # 09:39
    _run(store, job, NOW - timedelta(days=2), ExecutionStatus.FAILED)  # before the window
    rows = store.runs_per_hour(NOW - timedelta(hours=3))
    seven = datetime(2026, 3, 1, 7, tzinfo=UTC)
    nine = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert sorted(rows) == sorted(
        [
            (seven, ExecutionStatus.FAILED, 1),
            (seven, ExecutionStatus.SUCCESS, 2),
            (nine, ExecutionStatus.RUNNING, 1),
        ]
    )
    assert store.runs_per_hour(NOW) == []


def test_histogram_fills_every_hour_of_the_window(store: Store) -> None:
    job = _job(store)
    _run(
        store, job, NOW - timedelta(hours=23, minutes=10), ExecutionStatus.SUCCESS
    )  # 10:30 day before
    _run(store, job, NOW - timedelta(minutes=5), ExecutionStatus.TIMEOUT)
    _run(store, job, NOW - timedelta(hours=30), ExecutionStatus.FAILED)  # outside 24 h
    histogram = Queries(store, clock=FakeClock(NOW)).runs_histogram(timedelta(hours=24))
    assert len(histogram.hours) == 24
    assert histogram.hours[-1] == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert histogram.hours[0] == datetime(2026, 2, 28, 10, tzinfo=UTC)
    assert histogram.counts[ExecutionStatus.SUCCESS][0] == 1
    assert histogram.counts[ExecutionStatus.TIMEOUT][-1] == 1
    assert sum(histogram.counts[ExecutionStatus.FAILED]) == 0
    assert histogram.total == 2
    week = Queries(store, clock=FakeClock(NOW)).runs_histogram(timedelta(days=7))
    assert len(week.hours) == 168 and week.total == 3


def test_histogram_window_is_bounded(store: Store) -> None:
    queries = Queries(store, clock=FakeClock(NOW))
    with pytest.raises(ValidationError, match="between 1 hour and 31 days"):
        queries.runs_histogram(timedelta(days=40))
