"""W2 lateness: 500 jobs on ``* * * * *``; how late each fire starts.

Method. 500 jobs (``* * * * *``; ``@every 5s`` in quick mode) get as ``next_execution``
the first fire time at least 3 s away, then a thread-mode scheduler (32 workers) starts
in this process. After two fire boundaries have passed and all 1,000 executions have
finished, each execution gives two lateness figures:

- ``started_at - scheduled_for``: what the issue asks for. ``started_at`` is stamped by
  the scheduler (the time at the start of the loop turn that acquired the execution);
- ``handler entry - scheduled_for``: the wall-clock time at which the handler
  (``benchmarks.handlers:stamp``) was actually entered, which also counts the time
  spent in the claim and acquire transactions and in the worker queue.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import (
    STAMP,
    all_executions,
    bench_database,
    bulk_insert_jobs,
    make_jobs,
    percentile,
    wait_until,
)
from dbcron.config import SchedulerSettings
from dbcron.cron import parse_schedule
from dbcron.engine.scheduler import Scheduler
from dbcron.models import ExecutionStatus
from dbcron.store import open_store

TARGETS_MS = {"p50": 20.0, "p99": 100.0, "max": 250.0}


def _summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values_ms, 0.50), 2),
        "p99": round(percentile(values_ms, 0.99), 2),
        "max": round(max(values_ms), 2) if values_ms else float("nan"),
        "min": round(min(values_ms), 2) if values_ms else float("nan"),
    }


def run_lateness(backend: str, *, quick: bool, jobs: int = 500) -> dict[str, Any]:
    """One W2 run on ``backend``."""
    expression = "@every 5s" if quick else "* * * * *"
    schedule = parse_schedule(expression)
    first = schedule.next_fire(datetime.now(UTC) + timedelta(seconds=3))
    second = schedule.next_fire(first)
    with bench_database(backend) as db:
        admin = open_store(db.url)
        store = open_store(db.url)
        try:
            bulk_insert_jobs(
                admin,
                make_jobs(jobs, schedule=expression, callable_path=STAMP, next_execution=first),
            )
            settings = SchedulerSettings(
                max_workers=32, executor="thread", check_interval_seconds=60
            )
            scheduler = Scheduler(store, settings, executor="thread", database_url=db.url)
            thread = scheduler.start_in_thread()
            scheduler.ready.wait(60)
            wait_s = (second - datetime.now(UTC)).total_seconds()
            print(
                f"  w2 {backend:<10} fires at {first:%H:%M:%S} and {second:%H:%M:%S} "
                f"(waiting {wait_s:.0f}s)",
                flush=True,
            )
            time.sleep(max(0.0, wait_s))
            finished = wait_until(lambda: scheduler.stats["completed"] >= 2 * jobs, 60, 0.01)
            time.sleep(0.5)
            scheduler.stop()
            thread.join(60)
            executions = [e for e in all_executions(admin) if e.scheduled_for <= second]
        finally:
            store.close()
            admin.close()
    success = [e for e in executions if e.status is ExecutionStatus.SUCCESS]
    started_ms = [
        (e.started_at - e.scheduled_for).total_seconds() * 1000
        for e in success
        if e.started_at is not None
    ]
    entered_ms = [
        (float(e.result["t"]) - e.scheduled_for.timestamp()) * 1000
        for e in success
        if isinstance(e.result, dict) and "t" in e.result
    ]
    per_fire = {
        at.isoformat(): sum(1 for e in success if e.scheduled_for == at) for at in (first, second)
    }
    started = _summary(started_ms)
    return {
        "backend": backend,
        "schedule": expression,
        "jobs": jobs,
        "workers": 32,
        "mode": "thread",
        "fires": [first.isoformat(), second.isoformat()],
        "finished": finished,
        "executions": len(executions),
        "success": len(success),
        "per_fire_success": per_fire,
        "by_status": {
            s.value: sum(1 for e in executions if e.status is s) for s in ExecutionStatus
        },
        "started_at_minus_scheduled_ms": started,
        "handler_entry_minus_scheduled_ms": _summary(entered_ms),
        "targets_ms": TARGETS_MS,
        "met": {k: started[k] < v for k, v in TARGETS_MS.items()},
    }


def run(quick: bool) -> dict[str, Any]:
    """W2 on SQLite and PostgreSQL, thread mode, once each."""
    out: dict[str, Any] = {"runs": []}
    for backend in ("sqlite", "postgresql"):
        r = run_lateness(backend, quick=quick)
        s, h = r["started_at_minus_scheduled_ms"], r["handler_entry_minus_scheduled_ms"]
        print(
            f"  w2 {backend:<10} started_at: p50 {s['p50']:.1f} p99 {s['p99']:.1f} "
            f"max {s['max']:.1f} ms | handler entry: p50 {h['p50']:.1f} p99 {h['p99']:.1f} "
            f"max {h['max']:.1f} ms ({r['success']} runs)",
            flush=True,
        )
        out["runs"].append(r)
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out
