"""``dbcron run <id>``: run one job once, in the foreground, through the real executor.

The execution is recorded like any other (trigger ``manual``), holds a lease that is
renewed while it runs (so that no scheduler rescues it), gets the job's hard timeout in
a worker process, and its outcome, logs and result are written back.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from dbcron.clock import Clock
from dbcron.engine.database_clock import clock_for
from dbcron.events import EventBus, ExecutionFinished, ExecutionStarted
from dbcron.execution import Report, Work, make_executor
from dbcron.execution.work import LIVE_LOG_SECONDS
from dbcron.handlers.imports import ImportDirs
from dbcron.models import Execution, ExecutionStatus, Job, Outcome, Trigger, new_id
from dbcron.store.protocol import Store

LEASE = timedelta(seconds=30)


def run_once(
    store: Store,
    job: Job,
    *,
    database_url: str | None = None,
    mode: str = "process",
    clock: Clock | None = None,
    bus: EventBus | None = None,
    import_dirs: ImportDirs | None = None,
    on_progress: Callable[[Execution, float], None] | None = None,
) -> Execution:
    """Run ``job`` now and return its finished execution (no retries are scheduled).

    Its times and lease are on the clock the schedulers compare with (the database's on
    PostgreSQL), so that no scheduler takes a run whose host clock is behind for lost.
    ``bus`` gets ExecutionStarted once the running row is stored and ExecutionFinished
    once its completion was accepted. While it runs, every ``LIVE_LOG_SECONDS``: its logs
    so far are stored (``dbcron logs --follow``), a ``dbcron cancel`` of it stops it, and
    ``on_progress`` gets the running execution and the seconds it has run (0 first).
    ``import_dirs``: where a ``python`` job's module is imported from (the working
    directory and ``handlers.paths``)."""
    clock = clock or clock_for(store)
    node_id = f"run-{socket.gethostname()}-{os.getpid()}-{new_id()[:8]}"
    now = clock.now()
    execution = store.insert_execution(
        Execution(
            job_id=job.job_id,
            scheduled_for=now,
            run_after=now,
            created_at=now,
            started_at=now,
            status=ExecutionStatus.RUNNING,
            trigger=Trigger.MANUAL,
            node_id=node_id,
            lease_expires_at=now + LEASE,
            fencing_token=1,
            priority=job.priority,
        )
    )
    if bus is not None:
        bus.publish(ExecutionStarted(execution, job))
    finished = threading.Event()
    reports: list[Report] = []

    def on_done(_: Work, report: Report) -> None:
        reports.append(report)
        finished.set()

    executor = make_executor(mode, 1, on_done)
    executor.start()
    started = clock.monotonic()
    renewed = started
    try:
        executor.submit(Work(execution, job, database_url, import_dirs))
        if on_progress is not None:
            on_progress(execution, 0.0)
        while not finished.wait(LIVE_LOG_SECONDS):
            mono = clock.monotonic()
            if mono - renewed >= LEASE.total_seconds() / 3:
                store.extend_leases(node_id, clock.now() + LEASE)
                renewed = mono
            live = executor.live_logs().get(execution.execution_id)
            if live is not None:
                store.save_live_logs([(execution.execution_id, 1, live)])
            if store.not_running_on_node(node_id, [execution.execution_id]):
                executor.cancel(execution.execution_id, "stopped: it was cancelled")
            if on_progress is not None:
                on_progress(execution, mono - started)
    finally:
        executor.stop(kill=not finished.is_set())
    report = reports[0]
    outcome = Outcome(
        execution_id=execution.execution_id,
        job_id=job.job_id,
        fencing_token=execution.fencing_token,
        status=report.status,
        finished_at=clock.now(),
        duration_seconds=report.duration_seconds,
        result=report.result,
        error_message=report.error_message,
        logs=report.logs,
    )
    accepted = store.complete([outcome])
    if bus is not None and outcome.execution_id in accepted:
        bus.publish(ExecutionFinished.of(outcome))
    done = store.get_execution(execution.execution_id)
    assert done is not None
    return done
