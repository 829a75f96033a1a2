"""The read model stays bounded as jobs and history grow (issue 11): ``status`` runs a
fixed number of statements whatever the number of jobs, its statistics are exact, and
``list``/``history`` page with a keyset cursor that neither skips nor repeats a row."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbcron.clock import FakeClock
from dbcron.errors import NotFoundError
from dbcron.models import Execution, ExecutionStatus, Job, JobStatus
from dbcron.service.queries import Queries
from dbcron.store import Store
from dbcron.store.base import SqlStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
S = ExecutionStatus


class StatementCounter:
    """Counts the named queries a store runs (every statement goes through ``sql()``)."""

    def __init__(self, store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        lookup = store.sql

        def counted(name: str) -> str:
            self.names.append(name)
            return lookup(name)

        monkeypatch.setattr(store, "sql", counted)

    def during(self, action: Any) -> list[str]:
        """The statements ``action()`` ran."""
        self.names.clear()
        action()
        return list(self.names)


def _add_jobs(store: Store, count: int, start: int = 0) -> list[Job]:
    return [
        store.insert_job(
            Job(
                name=f"job-{n:05d}",
                job_type="shell",
                schedule_expression="*/5 * * * *",
                config={"command": "true"},
                created_at=NOW - timedelta(days=30),
                updated_at=NOW - timedelta(days=30),
                next_execution=NOW + timedelta(minutes=n % 50),
                last_execution=NOW - timedelta(hours=1 + n % 48),
            )
        )
        for n in range(start, start + count)
    ]


def _history(rng: random.Random, jobs: list[Job], per_job: int) -> list[Execution]:
    rows = []
    statuses = [S.SUCCESS] * 6 + [S.FAILED, S.TIMEOUT, S.MISSED, S.SUCCESS]
    for job in jobs:
        for k in range(per_job):
            at = NOW - timedelta(hours=rng.uniform(0, 30))
            status = rng.choice(statuses)
            timed = status in (S.SUCCESS, S.FAILED, S.TIMEOUT)
            rows.append(
                Execution(
                    job_id=job.job_id,
                    scheduled_for=at.replace(microsecond=0) + timedelta(microseconds=k),
                    status=status,
                    created_at=at,
                    finished_at=at if status.is_final else None,
                    duration_seconds=round(rng.uniform(0.1, 90), 3) if timed else None,
                )
            )
    return rows


@pytest.fixture
def counted(store: Store, monkeypatch: pytest.MonkeyPatch) -> StatementCounter:
    assert isinstance(store, SqlStore)
    return StatementCounter(store, monkeypatch)


def test_status_runs_the_same_statements_for_10_and_1000_jobs(
    store: Store, counted: StatementCounter
) -> None:
    rng = random.Random(11)
    queries = Queries(store, clock=FakeClock(NOW))
    few = _add_jobs(store, 10)
    store.insert_executions(_history(rng, few, 3))
    small = counted.during(queries.status_report)
    many = _add_jobs(store, 990, start=10)
    store.insert_executions(_history(rng, many, 3))
    store.insert_executions(
        [
            Execution(job.job_id, NOW + timedelta(hours=1), S.PENDING, created_at=NOW)
            for job in many[:300]
        ]
    )
    large = counted.during(queries.status_report)
    assert large == small, "status must not run a query per job"
    assert len(large) <= 12, large
    report = queries.status_report()
    assert report.pending == 300
    assert len(report.per_job) == 20
    assert report.jobs_fired == sum(1 for n in range(1000) if 1 + n % 48 <= 24)


def test_status_statistics_are_exact(store: Store) -> None:
    rng = random.Random(5)
    jobs = _add_jobs(store, 30)
    rows = _history(rng, jobs, 25)
    store.insert_executions(rows)
    report = Queries(store, clock=FakeClock(NOW)).status_report(jobs=8)
    since = NOW - timedelta(hours=24)
    window = [r for r in rows if r.created_at is not None and r.created_at >= since]

    def expected(of: list[Execution]) -> tuple[Any, ...]:
        count = {s: sum(1 for r in of if r.status is s) for s in S}
        durations = sorted(
            r.duration_seconds
            for r in of
            if r.duration_seconds is not None and r.status in (S.SUCCESS, S.FAILED, S.TIMEOUT)
        )
        p95 = durations[max(1, math.ceil(0.95 * len(durations))) - 1] if durations else None
        mean = sum(durations) / len(durations) if durations else None
        runs = len(of) - count[S.MISSED] - count[S.PENDING]
        return (
            runs,
            count[S.SUCCESS],
            count[S.FAILED],
            count[S.TIMEOUT],
            count[S.MISSED],
            p95,
            mean,
        )

    def got(stats: Any) -> tuple[Any, ...]:
        return (
            stats.runs,
            stats.success,
            stats.failed,
            stats.timeout,
            stats.missed,
            stats.p95_duration,
            pytest.approx(stats.mean_duration),
        )

    assert got(report.overall) == expected(window)
    by_job = {job.job_id: [r for r in window if r.job_id == job.job_id] for job in jobs}
    failures = {
        job_id: sum(1 for r in of if r.status in (S.FAILED, S.TIMEOUT))
        for job_id, of in by_job.items()
    }
    ranked = sorted((j for j, bad in failures.items() if bad), key=lambda j: (-failures[j], j))
    assert [job.job_id for job, _ in report.per_job] == ranked[:8]
    for job, stats in report.per_job:
        assert got(stats) == expected(by_job[job.job_id]), job.name
    assert report.jobs_fired == sum(1 for n in range(30) if 1 + n % 48 <= 24)
    assert report.jobs_by_status == {"active": 30}
    assert [job.job_id for job, _ in report.upcoming] == [
        job.job_id for job in sorted(jobs, key=lambda j: (j.next_execution, j.job_id))
    ][:10]


def test_job_pages_walk_every_job_once(store: Store) -> None:
    jobs = _add_jobs(store, 23)
    paused = store.insert_job(
        Job(
            name="zz-paused",
            job_type="shell",
            schedule_expression="@daily",
            config={"command": "true"},
            status=JobStatus.PAUSED,
            created_at=NOW - timedelta(days=30),
            updated_at=NOW,
        )
    )
    queries = Queries(store, clock=FakeClock(NOW))
    seen: list[str] = []
    after: str | None = None
    remaining = []
    while True:
        page = queries.jobs_page(limit=5, after=after)
        seen += [job.job_id for job in page.items]
        remaining.append(page.remaining)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [job.job_id for job in store.list_jobs()]
    assert sorted(seen) == sorted([job.job_id for job in jobs] + [paused.job_id])
    assert remaining == [19, 14, 9, 4, 0]
    only_paused = queries.jobs_page(JobStatus.PAUSED, limit=5)
    assert ([j.job_id for j in only_paused.items], only_paused.next_cursor) == (
        [paused.job_id],
        None,
    )
    everything = queries.jobs_page(limit=None)
    assert len(everything.items) == 24 and everything.next_cursor is None


def test_history_pages_walk_rows_created_together_once(store: Store) -> None:
    job, other = _add_jobs(store, 2)
    together = [
        Execution(
            job_id=job.job_id if n % 3 else other.job_id,
            scheduled_for=NOW - timedelta(minutes=n),
            status=S.MISSED if n % 4 else S.PENDING if n % 8 else S.SUCCESS,
            created_at=NOW,
        )
        for n in range(40)
    ]
    store.insert_executions(together)
    queries = Queries(store, clock=FakeClock(NOW))
    for job_id, status in (
        (None, None),
        (job.job_id, None),
        (job.job_id, S.MISSED),
        (None, S.PENDING),
    ):
        seen: list[str] = []
        before: str | None = None
        while True:
            page = queries.history_page(job_id, status, limit=6, before=before)
            seen += [e.execution_id for e in page.items]
            if page.next_cursor is None:
                break
            before = page.next_cursor
        expected = [e.execution_id for e in store.list_executions(job_id, status, limit=1000)]
        assert seen == expected
        assert len(set(seen)) == len(seen)
        wanted = [
            e
            for e in together
            if (job_id is None or e.job_id == job_id) and (status is None or e.status is status)
        ]
        assert len(seen) == len(wanted) > 0
    newest_first = store.list_executions(job.job_id, limit=1000)
    fires = [e.scheduled_for for e in newest_first]
    assert fires == sorted(fires, reverse=True)


def test_a_page_cursor_that_names_nothing_is_refused(store: Store) -> None:
    queries = Queries(store, clock=FakeClock(NOW))
    with pytest.raises(NotFoundError, match="no execution with id"):
        queries.history_page(before="01a22e25-4716-7f6d-b124-3ddc4fe2fb98")
    with pytest.raises(NotFoundError, match="no job with id"):
        queries.jobs_page(after="0badc0de")
