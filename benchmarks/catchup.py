"""Catch-up planning: how long :func:`dbcron.engine.misfire.plan_fires` takes after 30 days down.

Method. For each schedule (``* * * * *``, ``*/5 * * * *``, ``@every 10s``) and zone
(UTC, Europe/London, whose 30 days include the spring-forward of 2026-03-29), a job
whose ``next_execution`` is its first fire 30 days before ``now`` is planned at ``now``
(misfire policy ``run_once``, catch-up window 3600 s: the defaults). This is the work the
scheduler does per job inside its claim transaction, while SQLite's write lock is held.
Each timed call gets a freshly built :class:`~dbcron.cron.Schedule` (the schedule object
remembers recent ``next_fire`` answers; a fresh one measures the cold cost). The figure
is the median over the repetitions, in ms per job, with the number of rows the plan
writes (executions: missed, pending and the summary row). No database is involved.

A second figure shows what those rows cost: on a fresh SQLite file, 20 jobs on
``* * * * *`` (UTC) 30 days overdue are claimed by one ``Store.claim_due`` transaction
whose planner is ``plan_fires`` (building the rows as the scheduler does), with the
backlog cut at 1,000 fires (the limit before) and at ``MAX_FIRES_PER_CLAIM``. The claim's
wall time divided by 20 is the time per job that the write lock is held.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import bench_database, bulk_insert_jobs, make_jobs
from dbcron.cron import Schedule, parse_schedule
from dbcron.engine.misfire import MAX_FIRES_PER_CLAIM, plan_fires
from dbcron.engine.planner import executions_of
from dbcron.models import Execution, Job
from dbcron.store import open_store

#: Planning one job after 30 days down must take less than this (issue #9).
TARGET_MS = 10.0
#: The moment planning happens; 30 days earlier the scheduler stopped.
NOW = datetime(2026, 4, 10, 12, 0, 30, tzinfo=UTC)
DOWNTIME = timedelta(days=30)
CASES = [
    (expression, tz)
    for tz in ("UTC", "Europe/London")
    for expression in ("* * * * *", "*/5 * * * *", "@every 10s")
]


def time_case(expression: str, tz: str, *, budget_s: float, max_reps: int) -> dict[str, Any]:
    """Time ``plan_fires`` for one schedule: repetitions until ``budget_s`` or ``max_reps``."""
    first = Schedule(expression, tz).next_fire(NOW - DOWNTIME - timedelta(seconds=1))
    job = Job(
        name="catchup",
        job_type="shell",
        schedule_expression=expression,
        timezone=tz,
        next_execution=first,
    )
    samples: list[float] = []
    rows = 0
    started = time.perf_counter()
    while len(samples) < max_reps and (not samples or time.perf_counter() - started < budget_s):
        schedule = Schedule(expression, tz)
        t = time.perf_counter()
        plan = plan_fires(job, schedule, NOW)
        samples.append((time.perf_counter() - t) * 1000)
        rows = len(plan.fires)
    ms = statistics.median(samples)
    return {
        "expression": expression,
        "timezone": tz,
        "first": first.isoformat(),
        "now": NOW.isoformat(),
        "ms_per_job": round(ms, 3),
        "samples_ms": [round(s, 3) for s in samples],
        "rows": rows,
        "target_ms": TARGET_MS,
    }


def time_claims(limit: int, *, rounds: int, jobs: int = 20) -> dict[str, Any]:
    """Claims of ``jobs`` overdue ``* * * * *`` jobs on SQLite, backlog cut at ``limit``."""
    expression = "* * * * *"
    schedule = parse_schedule(expression)
    first = schedule.next_fire(NOW - DOWNTIME - timedelta(seconds=1))

    def planner(job: Job, active: int) -> tuple[list[Execution], datetime | None]:
        plan = plan_fires(job, schedule, NOW, active, limit=limit)
        return executions_of(job, plan, NOW), plan.next_execution

    samples: list[float] = []
    with bench_database("sqlite") as db:
        store = open_store(db.url)
        try:
            for r in range(rounds):
                batch = make_jobs(
                    jobs, schedule=expression, next_execution=first, prefix=f"catchup{r}"
                )
                bulk_insert_jobs(store, batch)
                t = time.perf_counter()
                summary = store.claim_due(NOW, planner, limit=jobs)
                samples.append((time.perf_counter() - t) * 1000 / jobs)
                assert summary.jobs == jobs, summary
            rows = len(store.list_executions(limit=10_000_000)) // rounds // jobs
        finally:
            store.close()
    return {
        "limit": limit,
        "jobs_per_claim": jobs,
        "rows_per_job": rows,
        "ms_per_job": round(statistics.median(samples), 3),
        "samples_ms": [round(s, 3) for s in samples],
    }


def run(quick: bool) -> dict[str, Any]:
    """Every case, printing ms per job."""
    out: dict[str, Any] = {"cases": [], "claims": []}
    for expression, tz in CASES:
        r = time_case(expression, tz, budget_s=0.5 if quick else 2.0, max_reps=5 if quick else 50)
        print(
            f"  catchup {expression:<12} {tz:<14} {r['ms_per_job']:9.3f} ms per job "
            f"({len(r['samples_ms'])} runs, {r['rows']} rows)",
            flush=True,
        )
        out["cases"].append(r)
    for limit in (1000, MAX_FIRES_PER_CLAIM):
        c = time_claims(limit, rounds=3 if quick else 7)
        print(
            f"  catchup SQLite claim, backlog cut at {limit:>5}: {c['ms_per_job']:7.3f} ms per "
            f"job ({c['rows_per_job']} rows per job, {c['jobs_per_claim']} jobs per claim)",
            flush=True,
        )
        out["claims"].append(c)
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out


if __name__ == "__main__":
    run(quick=False)
