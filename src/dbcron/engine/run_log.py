"""The scheduler's log of runs: one line when a run starts, one when it ends.

A subscriber of the event bus (so that the engine itself stays silent about runs): every
start at INFO; every end at INFO when it succeeded, WARNING when it failed or timed out;
a rescued run (its node died) and a missed fire at WARNING and INFO. Each record carries
the run's facts as ``extra`` attributes (``job_id``, ``job_name``, ``execution_id``,
``scheduled_for``, ``attempt``, ``status``, ``duration_seconds``), which the JSON log
format writes as fields.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbcron.events import (
    EventBus,
    ExecutionFinished,
    ExecutionMissed,
    ExecutionRescued,
    ExecutionStarted,
)
from dbcron.models import Execution, ExecutionStatus

#: The logger runs are written to.
RUNS_LOGGER = "dbcron.runs"


@dataclass(frozen=True, slots=True)
class _Started:
    job_name: str
    scheduled_for: datetime
    attempt: int


class RunLog:
    """Logs the runs of one scheduler node from its events (see the module docstring)."""

    def __init__(self, bus: EventBus, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger(RUNS_LOGGER)
        self._started: dict[str, _Started] = {}
        self._lock = threading.Lock()
        bus.subscribe(ExecutionStarted, self._on_started)
        bus.subscribe(ExecutionFinished, self._on_finished)
        bus.subscribe(ExecutionRescued, self._on_rescued)
        bus.subscribe(ExecutionMissed, self._on_missed)

    def _on_started(self, event: ExecutionStarted) -> None:
        e, job = event.execution, event.job
        with self._lock:
            self._started[e.execution_id] = _Started(job.name, e.scheduled_for, e.retry_attempt)
        self.log.info(
            "run started: %s (job %s) execution %s, fire %s, attempt %d",
            job.name,
            job.job_id[:8],
            e.execution_id,
            _iso(e.scheduled_for),
            e.retry_attempt,
            extra=_facts(e, job.name),
        )

    def _on_finished(self, event: ExecutionFinished) -> None:
        with self._lock:
            started = self._started.pop(event.execution_id, None)
        name = started.job_name if started else "?"
        duration = "-" if event.duration_seconds is None else f"{event.duration_seconds:.3f}s"
        failed = event.status in (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT)
        error = _first_line(event.error_message)
        retry = "; a retry is queued" if event.retry_scheduled else ""
        self.log.log(
            logging.WARNING if failed else logging.INFO,
            "run %s: %s (job %s) execution %s, fire %s, attempt %s, in %s%s%s",
            event.status.value,
            name,
            event.job_id[:8],
            event.execution_id,
            _iso(started.scheduled_for) if started else "?",
            started.attempt if started else "?",
            duration,
            f": {error}" if error else "",
            retry,
            extra={
                "job_id": event.job_id,
                "job_name": name,
                "execution_id": event.execution_id,
                "scheduled_for": _iso(started.scheduled_for) if started else None,
                "attempt": started.attempt if started else None,
                "status": event.status.value,
                "duration_seconds": event.duration_seconds,
            },
        )

    def _on_rescued(self, event: ExecutionRescued) -> None:
        e = event.execution
        with self._lock:
            self._started.pop(e.execution_id, None)
        self.log.warning(
            "run rescued: execution %s of job %s (fire %s, attempt %d): %s",
            e.execution_id,
            e.job_id[:8],
            _iso(e.scheduled_for),
            e.retry_attempt,
            _first_line(e.error_message) or "its node's lease expired",
            extra=_facts(e, None),
        )

    def _on_missed(self, event: ExecutionMissed) -> None:
        e = event.execution
        self.log.info(
            "fire missed: job %s, fire %s: %s",
            e.job_id[:8],
            _iso(e.scheduled_for),
            _first_line(e.error_message) or "missed",
            extra=_facts(e, None),
        )


def _facts(e: Execution, job_name: str | None) -> dict[str, Any]:
    return {
        "job_id": e.job_id,
        "job_name": job_name,
        "execution_id": e.execution_id,
        "scheduled_for": _iso(e.scheduled_for),
        "attempt": e.retry_attempt,
        "status": e.status.value,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0][:300] if lines else ""
