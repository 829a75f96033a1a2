"""Scheduler nodes run in-process for engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from dbcron.clock import Clock
from dbcron.config import SchedulerSettings
from dbcron.engine.scheduler import Scheduler
from dbcron.manager import JobManager
from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import Store

#: Where the test handlers live (called through the ``python`` job type by dotted path).
HANDLERS = "tests.support.handlers"

#: Settings that keep engine tests quick (overridable per call).
TEST_SETTINGS: dict[str, Any] = {
    "max_workers": 4,
    "lease_seconds": 5,
    "shutdown_grace_seconds": 5,
}


def make_scheduler(
    store: Store,
    url: str,
    executor: str = "thread",
    clock: Clock | None = None,
    **settings: Any,
) -> Scheduler:
    """A scheduler node on ``store`` with :data:`TEST_SETTINGS` and ``settings``."""
    values = {**TEST_SETTINGS, **settings}
    return Scheduler(
        store, SchedulerSettings(**values), executor=executor, database_url=url, clock=clock
    )


@contextmanager
def running(scheduler: Scheduler) -> Iterator[Scheduler]:
    """Run ``scheduler`` in a thread until the block ends, then stop it gracefully."""
    thread = scheduler.start_in_thread()
    assert scheduler.ready.wait(30)
    try:
        yield scheduler
    finally:
        scheduler.stop()
        thread.join(60)
        assert not thread.is_alive()


@contextmanager
def scheduler_running(
    store: Store, url: str, executor: str = "thread", clock: Clock | None = None, **settings: Any
) -> Iterator[Scheduler]:
    """A scheduler node on ``store`` (see :func:`make_scheduler`), running for the block."""
    with running(make_scheduler(store, url, executor, clock, **settings)) as scheduler:
        yield scheduler


def py_job(
    manager: JobManager,
    func: str,
    schedule: str = "0 0 1 1 *",
    *,
    name: str | None = None,
    **fields: Any,
) -> Job:
    """A ``python`` job calling ``tests.support.handlers:<func>`` with ``kwargs``;
    no retries and a 30 s timeout unless ``fields`` say otherwise."""
    kwargs = fields.pop("kwargs", {})
    values: dict[str, Any] = {"retry_count": 0, "timeout_seconds": 30, **fields}
    return manager.create_job(
        Job(
            name=name or func,
            job_type="python",
            schedule_expression=schedule,
            config={"callable": f"{HANDLERS}:{func}", "kwargs": kwargs},
            **values,
        )
    )


def history(store: Store, job_id: str) -> list[Execution]:
    """Every execution of ``job_id``, by fire time then attempt."""
    return sorted(
        store.list_executions(job_id=job_id, limit=1000),
        key=lambda e: (e.scheduled_for, e.retry_attempt),
    )


def run_by_a_dead_node(store: Store, job: Job, started: datetime, lease: timedelta) -> None:
    """An execution of ``job`` left running by "dead-node", its lease ending at
    ``started + lease``."""
    store.insert_execution(
        Execution(
            job_id=job.job_id,
            scheduled_for=started,
            status=ExecutionStatus.RUNNING,
            started_at=started,
            created_at=started,
            node_id="dead-node",
            lease_expires_at=started + lease,
            fencing_token=1,
        )
    )
