"""Every job type end to end through the scheduler (process executor), on both backends."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dbcron.config import SchedulerSettings
from dbcron.engine.scheduler import Scheduler
from dbcron.manager import JobManager
from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import Store
from tests.support.httpserver import Reply, Request, serving
from tests.support.waiting import wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


def arxiv(request: Request) -> Reply:
    start = int(request.query.get("start", "0"))
    name = "query_page1.xml" if start == 0 else "query_page2.xml"
    return Reply(200, (FIXTURES / name).read_bytes(), ATOM)


def outcome(store: Store, job: Job) -> Execution | None:
    rows = [e for e in store.list_executions(job_id=job.job_id) if e.status.is_final]
    return rows[0] if rows else None


def test_every_job_type_runs_through_the_scheduler(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    manager = JobManager(store)
    with serving(lambda r: arxiv(r) if r.path == "/api/query" else Reply(200, b"pong")) as web:
        specs: dict[str, dict[str, Any]] = {
            "shell": {"command": [sys.executable, "-c", "print('from a shell job')"]},
            "http": {"url": f"{web.url}/health", "headers": {"X-Token": {"env": "HOME"}}},
            "python": {"callable": "tests.support.handlers:echo", "kwargs": {"k": "v"}},
            "custom": {"handler": "tests.support.handlers:custom_greet", "who": "dbcron"},
            "paper_fetch": {
                "keywords": ["electron"],
                "api_url": f"{web.url}/api/query",
                "page_size": 3,
                "request_interval_seconds": 0,
            },
            "maintenance": {"retention_days": 0, "keep_last": 0},
        }
        jobs = {
            kind: manager.create_job(
                Job(name=kind, job_type=kind, schedule_expression="0 0 1 1 *", config=config)
            )
            for kind, config in specs.items()
        }
        for job in jobs.values():
            if job.job_type != "maintenance":
                manager.trigger_job(job.job_id)
        scheduler = Scheduler(
            store,
            SchedulerSettings(max_workers=3, lease_seconds=10),
            executor="process",
            database_url=db_url,
        )
        thread = scheduler.start_in_thread()
        try:
            others = [j for kind, j in jobs.items() if kind != "maintenance"]
            wait_for(lambda: all(outcome(store, j) for j in others), 60, what="five job types")
            results = {kind: outcome(store, job) for kind, job in jobs.items()}
            manager.trigger_job(jobs["maintenance"].job_id)  # it prunes the five above
            results["maintenance"] = wait_for(
                lambda: outcome(store, jobs["maintenance"]), 30, what="maintenance"
            )
        finally:
            scheduler.stop()
            thread.join(30)
    for kind, execution in results.items():
        assert execution is not None
        assert execution.status is ExecutionStatus.SUCCESS, (kind, execution.error_message)
    assert "from a shell job" in (results["shell"].logs or "")  # type: ignore[union-attr]
    assert results["http"].result["status"] == 200  # type: ignore[union-attr]
    assert results["python"].result == {"k": "v"}  # type: ignore[union-attr]
    assert results["custom"].result == {"greeting": "hello dbcron"}  # type: ignore[union-attr]
    fetched = results["paper_fetch"].result  # type: ignore[union-attr]
    assert (fetched["new"], fetched["pages"]) == (4, 2)
    pruned = results["maintenance"].result  # type: ignore[union-attr]
    assert pruned["deleted"]["job_executions"] >= 5
    requests = [r for r in web.requests if r.path == "/health"]
    assert requests[0].headers["x-token"] == str(Path.home())
