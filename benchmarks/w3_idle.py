"""W3 idle: 10,000 (and 100,000) jobs defined, none due; what a waiting scheduler costs.

Method. ``dbcron --db URL init`` (the CLI), then 10,000 jobs on ``0 0 1 1 *`` whose
``next_execution`` is next New Year. ``python -m dbcron --db URL start --executor
process`` (default 8 workers) is spawned as a real subprocess; time-to-ready is from the
spawn until its row appears in ``scheduler_nodes`` (polled every 5 ms). Once the process
tree is quiet (the worker processes have finished importing), the CPU seconds
(``utime + stime`` from ``/proc/<pid>/stat``) of the scheduler and every descendant are
read, and read again after the measurement window (60 s; 15 s in quick mode). Memory is
``VmRSS`` of the scheduler process, the sum of ``VmRSS`` and of PSS (``Pss`` of
``/proc/<pid>/smaps_rollup``: each shared page divided among the processes that map it)
of its descendants (the pool: its fork server and workers; with older versions, spawned
workers and multiprocessing's resource tracker), and the same two sums over the whole
tree, scheduler included: the tree's PSS is the memory the scheduler really costs, its
RSS counts shared pages once per process. On PostgreSQL the CPU used by the scheduler's
server backends over the window is reported as well.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from benchmarks.common import (
    PYTHON,
    BenchDB,
    bench_database,
    bulk_insert_jobs,
    child_env,
    cpu_seconds,
    make_jobs,
    pg_xact_commits,
    proc_children,
    proc_cmdline,
    proc_pss_kib,
    proc_status_kib,
    proc_tree,
    run_cli,
    tree_cpu,
    wait_quiet,
)
from dbcron.store import open_store

TARGETS = {
    "cpu_seconds_per_minute": 0.1,
    "scheduler_rss_mib": 60.0,
    "ready_seconds": 1.0,
    "tree_pss_mib": 120.0,
}


def _node_registered(db: BenchDB, pid: int) -> bool:
    query = "SELECT count(*) FROM scheduler_nodes WHERE pid = "
    if db.backend == "sqlite":
        import sqlite3

        path = db.url[len("sqlite:///") :]
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
            return bool(conn.execute(query + "?", (pid,)).fetchone()[0])
    with psycopg.connect(db.url, autocommit=True) as conn:
        row = conn.execute(query + "%s", (pid,)).fetchone()
        return bool(row and row[0])


def _pg_backend_pids(db: BenchDB) -> list[int]:
    with psycopg.connect(db.url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(r[0]) for r in rows]


def run_idle(backend: str, *, window: float, jobs: int = 10_000) -> dict[str, Any]:
    """One W3 run on ``backend`` with a measurement window of ``window`` seconds."""
    with bench_database(backend, migrate=False) as db:
        run_cli(db, "init")
        admin = open_store(db.url)
        try:
            bulk_insert_jobs(admin, make_jobs(jobs))
        finally:
            admin.close()
        log = (db.workdir / "scheduler.log").open("w")
        command = [
            PYTHON, "-m", "dbcron", "--db", db.url, "start", "--executor", "process",
            "--pid-file", str(db.workdir / "dbcron.pid"),
        ]  # fmt: skip
        spawned = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=db.workdir, env=child_env(), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            ready = False
            while time.perf_counter() - spawned < 60 and proc.poll() is None:
                if _node_registered(db, proc.pid):
                    ready = True
                    break
                time.sleep(0.005)
            ready_s = time.perf_counter() - spawned
            if not ready:
                raise RuntimeError(f"the scheduler did not register (exit code {proc.poll()})")
            settle_s = wait_quiet(proc.pid, window=1.0, threshold=0.05)
            backends = _pg_backend_pids(db) if db.pg_name else []
            db_cpu0 = {p: cpu_seconds(p) for p in backends}
            commits0 = pg_xact_commits(db) if db.pg_name else 0
            cpu0 = tree_cpu(proc.pid)
            t0 = time.perf_counter()
            time.sleep(window)
            cpu1 = tree_cpu(proc.pid)
            elapsed = time.perf_counter() - t0
            commits1 = pg_xact_commits(db) if db.pg_name else 0
            db_cpu = sum(
                (cpu_seconds(p) or 0.0) - (c or 0.0) for p, c in db_cpu0.items() if c is not None
            )
            tree = proc_tree(proc.pid)
            children = [p for p in tree if p != proc.pid]
            helpers = {p for p in children if "resource_tracker" in proc_cmdline(p)}
            helpers |= {p for p in proc_children(proc.pid) if "forkserver" in proc_cmdline(p)}
            workers = [p for p in children if p not in helpers]
            tree_cpu_s = sum(v - cpu0.get(p, 0.0) for p, v in cpu1.items())
            sched_cpu_s = cpu1.get(proc.pid, 0.0) - cpu0.get(proc.pid, 0.0)
            rss = proc_status_kib(proc.pid) or 0
            pool_rss = sum(proc_status_kib(p) or 0 for p in children)
            pool_pss = sum(proc_pss_kib(p) or 0 for p in children)
            sched_pss = proc_pss_kib(proc.pid) or 0
            tree_rss, tree_pss = rss + pool_rss, sched_pss + pool_pss
            per_minute = tree_cpu_s * 60.0 / elapsed
            stop_started = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            stop_s = time.perf_counter() - stop_started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            log.close()
    result: dict[str, Any] = {
        "backend": backend,
        "jobs": jobs,
        "executor": "process",
        "workers": len(workers),
        "window_seconds": round(elapsed, 2),
        "ready_seconds": round(ready_s, 3),
        "settle_seconds": round(settle_s, 2),
        "tree_cpu_seconds": round(tree_cpu_s, 3),
        "scheduler_cpu_seconds": round(sched_cpu_s, 3),
        "cpu_seconds_per_minute": round(per_minute, 4),
        "scheduler_rss_mib": round(rss / 1024, 1),
        "scheduler_pss_mib": round(sched_pss / 1024, 1),
        "pool_processes": len(children),
        "pool_rss_mib": round(pool_rss / 1024, 1),
        "pool_pss_mib": round(pool_pss / 1024, 1),
        "tree_processes": len(tree),
        "tree_rss_mib": round(tree_rss / 1024, 1),
        "tree_pss_mib": round(tree_pss / 1024, 1),
        "stop_seconds": round(stop_s, 2),
        "exit_code": proc.returncode,
        "targets": TARGETS,
    }
    if backend == "postgresql":
        result["db_backend_cpu_seconds_per_minute"] = round(db_cpu * 60.0 / elapsed, 4)
        result["db_transactions_per_minute"] = round((commits1 - commits0) * 60.0 / elapsed, 1)
    result["met"] = {
        "cpu_seconds_per_minute": per_minute < TARGETS["cpu_seconds_per_minute"],
        "scheduler_rss_mib": rss / 1024 < TARGETS["scheduler_rss_mib"],
        "ready_seconds": ready_s < TARGETS["ready_seconds"],
        "tree_pss_mib": tree_pss / 1024 < TARGETS["tree_pss_mib"],
    }
    return result


def run(quick: bool) -> dict[str, Any]:
    """W3 on SQLite and PostgreSQL with 10,000 jobs, and (unless quick) 100,000 jobs."""
    window = 15.0 if quick else 60.0
    out: dict[str, Any] = {"window_seconds": window, "runs": []}
    sizes = (10_000,) if quick else (10_000, 100_000)
    for backend, jobs in ((b, n) for n in sizes for b in ("sqlite", "postgresql")):
        r = run_idle(backend, window=window, jobs=jobs)
        print(
            f"  w3 {backend:<10} {jobs:,} jobs: {r['cpu_seconds_per_minute']:.3f} CPU-s/min, "
            f"scheduler "
            f"{r['scheduler_rss_mib']:.1f} MiB, pool {r['pool_rss_mib']:.1f} MiB RSS "
            f"({r['pool_processes']} procs), whole tree {r['tree_pss_mib']:.1f} MiB PSS "
            f"/ {r['tree_rss_mib']:.1f} MiB RSS ({r['tree_processes']} procs, "
            f"target < {TARGETS['tree_pss_mib']:.0f} MiB PSS), ready {r['ready_seconds']:.2f}s",
            flush=True,
        )
        out["runs"].append(r)
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out
