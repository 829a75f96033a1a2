"""W1 burst: N jobs with a no-op handler all due at once; executions per second.

Method. The jobs (schedule ``0 0 1 1 *``, so each fires exactly once) are inserted not
yet due, a :class:`~dbcron.engine.scheduler.Scheduler` is started in this process (thread or
process executor) and waited for until ready (so that the process pool's start-up is not
counted), then one transaction makes every job due *now* (and, on PostgreSQL, sends the
wake-up NOTIFY). The clock runs from the first execution's ``started_at`` to the moment
the scheduler has committed the N-th completion (``stats["completed"]`` reaching N,
polled every millisecond). At the end the execution table must hold exactly N
``success`` rows, one per job, with no duplicate fire.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import (
    BenchDB,
    StatementCounter,
    all_executions,
    bench_database,
    bulk_insert_jobs,
    count_psycopg,
    make_all_due,
    make_jobs,
    median,
    pg_stat_statements_available,
    pg_stat_statements_calls,
    pg_stat_statements_reset,
    pg_xact_commits,
    tracing_sqlite_store,
    verify_once_each,
    wait_quiet,
    wait_until,
)
from dbcron.config import SchedulerSettings
from dbcron.engine.scheduler import Scheduler
from dbcron.store import open_store
from dbcron.store.protocol import Store

#: Targets from the issue (executions per second).
TARGETS = {("thread", "sqlite"): 10_000, ("thread", "postgresql"): 5_000}
PROCESS_TARGET = 1_500


def target_for(mode: str, backend: str) -> float:
    """The issue's W1 target for a mode and backend."""
    return PROCESS_TARGET if mode == "process" else TARGETS[(mode, backend)]


def run_burst(
    backend: str,
    mode: str,
    jobs: int,
    workers: int,
    *,
    count_statements: bool = False,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """One W1 run; with ``count_statements`` the scheduler's statements and commits are
    counted (an instrumented run, not used for the throughput figures)."""
    with bench_database(backend) as db, ExitStack() as stack:
        admin = open_store(db.url)
        stack.callback(admin.close)
        insert_s = bulk_insert_jobs(admin, make_jobs(jobs))
        counter = StatementCounter()
        store: Store
        if count_statements and backend == "sqlite":
            store = tracing_sqlite_store(db.url, counter)
        else:
            if count_statements:
                stack.enter_context(count_psycopg(counter))
            store = open_store(db.url)
        pgss = (False, "not PostgreSQL")
        if count_statements and backend == "postgresql":
            pgss = pg_stat_statements_available(db)
        settings = SchedulerSettings(
            max_workers=workers, executor=mode, check_interval_seconds=60, lease_seconds=30
        )
        scheduler = Scheduler(store, settings, executor=mode, database_url=db.url)
        spawn = time.perf_counter()
        thread = scheduler.start_in_thread()
        if not scheduler.ready.wait(120):
            raise RuntimeError("the scheduler did not become ready")
        ready_s = time.perf_counter() - spawn
        # ``ready`` is set once the worker processes are launched, not booted: wait until
        # this process tree is quiet (pool imports done, first turn found nothing).
        warmup_s = wait_quiet(os.getpid())
        commits_before = pg_xact_commits(db) if count_statements and db.pg_name else 0
        if pgss[0]:
            pg_stat_statements_reset(db)
        made_due_at = make_all_due(admin)
        if count_statements:
            counter.reset()
        finished = wait_until(lambda: scheduler.stats["completed"] >= jobs, timeout, 0.001)
        end_wall = time.time()
        counter.stop()
        scheduler.stop()
        thread.join(60)
        store.close()
        executions = all_executions(admin)
        verdict = verify_once_each(executions, jobs)
        started = [e.started_at for e in executions if e.started_at is not None]
        done = [e.finished_at for e in executions if e.finished_at is not None]
        first_start = min(started).timestamp() if started else float("nan")
        elapsed = end_wall - first_start
        result: dict[str, Any] = {
            "backend": backend,
            "mode": mode,
            "jobs": jobs,
            "workers": workers,
            "finished": finished,
            "insert_seconds": round(insert_s, 3),
            "ready_seconds": round(ready_s, 3),
            "quiet_after_ready_seconds": round(warmup_s, 3),
            "first_start_after_due_ms": round((first_start - made_due_at.timestamp()) * 1000, 1),
            "elapsed_seconds": round(elapsed, 4),
            "rate_per_s": round(jobs / elapsed, 1) if finished else 0.0,
            "db_span_seconds": round(
                (max(done) - min(started)).total_seconds() if started and done else float("nan"),
                4,
            ),
            "verdict": verdict.as_dict(),
            "stats": dict(scheduler.stats),
        }
        if count_statements:
            result["counts"] = _counts(db, backend, counter, jobs, commits_before, pgss)
        return result


def _counts(
    db: BenchDB,
    backend: str,
    counter: StatementCounter,
    jobs: int,
    commits_before: int,
    pgss: tuple[bool, str],
) -> dict[str, Any]:
    counts: dict[str, Any] = {"client": counter.as_dict()}
    counts["statements_per_execution"] = round(counter.statements / jobs, 3)
    counts["commits_per_execution"] = round(counter.commits / jobs, 4)
    counts["driver_calls_per_execution"] = round(counter.driver_calls / jobs, 4)
    if backend == "postgresql":
        time.sleep(1.0)  # the scheduler's backends have exited: their stats are flushed
        server_commits = pg_xact_commits(db) - commits_before - 1  # minus make_all_due
        counts["server_xact_commit"] = server_commits
        counts["server_commits_per_execution"] = round(server_commits / jobs, 4)
        counts["pg_stat_statements"] = pgss[1]
        if pgss[0]:
            calls = pg_stat_statements_calls(db)
            counts["server_statements"] = calls
            counts["server_statements_per_execution"] = round(calls / jobs, 3)
        counts["counted_by"] = (
            "psycopg Cursor.execute/executemany (rows) and Connection.commit wrapped in the "
            "benchmark process; pg_stat_database.xact_commit delta of the benchmark database"
        )
    else:
        counts["counted_by"] = "sqlite3 set_trace_callback on the scheduler's connections"
    return counts


def run(quick: bool, runs: int | None = None) -> dict[str, Any]:
    """W1 for both backends and both executor modes: ``runs`` timed runs each (3 by
    default, 1 in quick mode) plus, in thread mode, one instrumented run that counts
    statements and commits."""
    jobs = 1_000 if quick else 5_000
    runs = runs or (1 if quick else 3)
    configs = [
        ("sqlite", "thread", 32),
        ("postgresql", "thread", 32),
        ("sqlite", "process", 32),
        ("postgresql", "process", 32),
    ]
    out: dict[str, Any] = {"jobs": jobs, "runs": runs, "configs": []}
    for backend, mode, workers in configs:
        timed = []
        for i in range(runs):
            r = run_burst(backend, mode, jobs, workers)
            print(
                f"  w1 {backend:<10} {mode:<7} run {i + 1}/{runs}: {r['rate_per_s']:>9,.0f}/s"
                f"  ({r['elapsed_seconds']:.3f}s, ok={r['verdict']['ok']})",
                flush=True,
            )
            timed.append(r)
        instrumented = None
        if mode == "thread":  # statements per execution come from the same store calls
            instrumented = run_burst(backend, mode, jobs, workers, count_statements=True)
            c = instrumented["counts"]
            print(
                f"  w1 {backend:<10} {mode:<7} counted: {c['statements_per_execution']} "
                f"stmts/exec, {c['commits_per_execution']} commits/exec",
                flush=True,
            )
        rates = [r["rate_per_s"] for r in timed]
        out["configs"].append(
            {
                "backend": backend,
                "mode": mode,
                "workers": workers,
                "median_rate_per_s": median(rates),
                "rates_per_s": rates,
                "target_per_s": target_for(mode, backend),
                "all_correct": all(r["verdict"]["ok"] for r in timed)
                and (instrumented is None or instrumented["verdict"]["ok"]),
                "runs": timed,
                "instrumented": instrumented,
            }
        )
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out
