"""Take the README's dashboard screenshots (docs/img/) with Playwright and Debian's
Chromium, over a throw-away SQLite database: the example jobs (``dbcron seed``), two
days of made-up history so that the charts have something to show, and one real run.

Usage: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright
from tests.support.browser import chromium_binary, dashboard, launch_args

from dbcron.models import Execution, ExecutionStatus, Trigger

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"


def _history(runtime: object) -> str:
    """Seed the example jobs, add a job with two days of runs; that job's id."""
    from dbcron.runtime import Runtime

    assert isinstance(runtime, Runtime)
    runtime.operations.seed()
    job = runtime.jobs.new_job(
        "Nightly report",
        "shell",
        "30 2 * * *",
        {"command": "echo building the report; sleep 1; echo done", "shell": True},
        description="Builds yesterday's report (made-up history for the screenshots).",
        timezone="Europe/London",
    )
    store, now, rng = runtime.store, runtime.queries.clock.now(), random.Random(7)
    for minutes in range(48 * 60, 0, -20):
        at = now - timedelta(minutes=minutes)
        status = ExecutionStatus.SUCCESS if rng.random() > 0.12 else ExecutionStatus.FAILED
        took = rng.uniform(0.4, 2.5) if status is ExecutionStatus.SUCCESS else rng.uniform(2, 6)
        store.insert_execution(
            Execution(
                job_id=job.job_id,
                scheduled_for=at,
                created_at=at,
                started_at=at,
                finished_at=at + timedelta(seconds=took),
                duration_seconds=took,
                status=status,
                trigger=Trigger.SCHEDULE,
                error_message="exit status 1: report source unavailable"
                if status is ExecutionStatus.FAILED
                else None,
                logs="building the report\n",
            )
        )
    run = runtime.jobs.trigger_job(job.job_id)
    runtime.queries.wait_for_execution(run.execution_id, timeout=30)
    return job.job_id


def main() -> int:
    """Write docs/img/overview.png and docs/img/job.png."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, dashboard(Path(folder)) as dash:
        job_id = _history(dash.runtime)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_binary(), args=launch_args()
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name, path in (("overview", "/"), ("job", f"/jobs/{job_id}")):
                page.goto(dash.url + path)
                page.wait_for_function("document.querySelector('canvas[data-drawn]') !== null")
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                print(f"wrote {OUT / f'{name}.png'}")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
