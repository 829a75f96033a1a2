"""W4 cluster: three schedulers on one PostgreSQL database running the W1 burst.

Method. Three ``python -m dbcron --db URL start --executor thread --workers 32``
subprocesses start on one fresh database holding 5,000 not-yet-due jobs. Once all three
rows are in ``scheduler_nodes`` and the processes are quiet, one transaction makes every
job due now and sends the wake-up NOTIFY. A separate connection counts ``success`` rows
every 10 ms; the clock runs from the first ``started_at`` to the moment the count reaches
5,000. Then every fire must have exactly one ``success`` row.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import psycopg

from benchmarks.common import (
    PYTHON,
    all_executions,
    bench_database,
    bulk_insert_jobs,
    child_env,
    make_all_due,
    make_jobs,
    median,
    verify_once_each,
    wait_quiet,
)
from dbcron.store import open_store

NODES = 3
WORKERS = 32


def run_cluster(jobs: int, *, timeout: float = 300.0) -> dict[str, Any]:
    """One W4 run."""
    with bench_database("postgresql") as db:
        admin = open_store(db.url)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            bulk_insert_jobs(admin, make_jobs(jobs))
            for n in range(NODES):
                log = (db.workdir / f"node{n}.log").open("w")
                procs.append(
                    subprocess.Popen(
                        [
                            PYTHON,
                            "-m",
                            "dbcron",
                            "--db",
                            db.url,
                            "start",
                            "--executor",
                            "thread",
                            "--workers",
                            str(WORKERS),
                            "--pid-file",
                            str(db.workdir / f"node{n}.pid"),
                        ],
                        cwd=db.workdir,
                        env=child_env(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                log.close()
            with psycopg.connect(db.url, autocommit=True) as conn:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    row = conn.execute("SELECT count(*) FROM scheduler_nodes").fetchone()
                    if row and row[0] >= NODES:
                        break
                    time.sleep(0.05)
                else:
                    raise RuntimeError("the three schedulers did not all register")
                for p in procs:
                    wait_quiet(p.pid)
                made_due = make_all_due(admin)
                end = float("nan")
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    row = conn.execute(
                        "SELECT count(*) FROM job_executions WHERE status = 'success'"
                    ).fetchone()
                    if row and row[0] >= jobs:
                        end = time.time()
                        break
                    time.sleep(0.01)
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
            executions = all_executions(admin)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
            admin.close()
    verdict = verify_once_each(executions, jobs)
    started = [e.started_at for e in executions if e.started_at is not None]
    first = min(started).timestamp() if started else float("nan")
    elapsed = end - first
    per_node = Counter(e.node_id for e in executions)
    return {
        "jobs": jobs,
        "nodes": NODES,
        "workers_per_node": WORKERS,
        "elapsed_seconds": round(elapsed, 4),
        "rate_per_s": round(jobs / elapsed, 1) if elapsed == elapsed else 0.0,
        "first_start_after_due_ms": round((first - made_due.timestamp()) * 1000, 1),
        "per_node": sorted(per_node.values(), reverse=True),
        "verdict": verdict.as_dict(),
        "exit_codes": [p.returncode for p in procs],
    }


def run(quick: bool, runs: int | None = None) -> dict[str, Any]:
    """W4: ``runs`` cluster bursts (2 by default, 1 in quick mode)."""
    jobs = 1_000 if quick else 5_000
    runs = runs or (1 if quick else 2)
    results = []
    for i in range(runs):
        r = run_cluster(jobs)
        print(
            f"  w4 3 nodes run {i + 1}/{runs}: {r['rate_per_s']:>9,.0f}/s "
            f"({r['elapsed_seconds']:.3f}s, per node {r['per_node']}, ok={r['verdict']['ok']})",
            flush=True,
        )
        results.append(r)
    return {
        "jobs": jobs,
        "runs": results,
        "median_rate_per_s": median([r["rate_per_s"] for r in results]),
        "all_correct": all(r["verdict"]["ok"] for r in results),
        "measured_at": datetime.now(UTC).isoformat(),
    }
