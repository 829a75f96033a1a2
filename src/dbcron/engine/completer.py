"""Completions: outcomes reported by the executor, buffered, then written in batches
(with a claim, or on their own) and published once accepted by their fencing token."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace

from dbcron.engine.planner import Planning
from dbcron.errors import DataRefusedError
from dbcron.events import (
    Event,
    ExecutionFinished,
)
from dbcron.execution import Report, Work
from dbcron.models import (
    ExecutionStatus,
    Outcome,
)

log = logging.getLogger("dbcron.scheduler")


class Completions(Planning):
    """The completion buffer of a node and how its outcomes are written."""

    def _on_done(self, work: Work, report: Report) -> None:
        now = self.clock.now()
        retry = None
        if report.status in (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT):
            retry = self._retry_for(work.execution, work.job, now, report.retry_delay)
        outcome = Outcome(
            execution_id=work.execution.execution_id,
            job_id=work.job.job_id,
            fencing_token=work.execution.fencing_token,
            status=report.status,
            finished_at=now,
            duration_seconds=report.duration_seconds,
            result=report.result,
            error_message=report.error_message,
            logs=report.logs,
            retry=retry,
        )
        with self._done_lock:
            self._done.append(outcome)
        self._wake.set()

    def _take_done(self) -> list[Outcome]:
        with self._done_lock:
            batch, self._done = self._done, []
        return batch

    def _give_back(self, batch: list[Outcome]) -> None:
        """Outcomes whose write failed go back in front, to be written next time."""
        if batch:
            with self._done_lock:
                self._done[:0] = batch

    def _flush(self) -> None:
        batch = self._take_done()
        if not batch:
            return
        try:
            accepted = self.store.complete(batch)
        except DataRefusedError as exc:
            accepted = self._complete_one_by_one(batch, exc)
        except BaseException:
            self._give_back(batch)
            raise
        self._record_completed(batch, accepted)

    def _complete_one_by_one(self, batch: list[Outcome], exc: DataRefusedError) -> set[str]:
        """Write a batch the database refused one outcome at a time; an outcome it still
        refuses is recorded as a failure without its result and logs (and with the retry
        it had, if any), so that one bad value cannot stall every completion."""
        log.warning(
            "the database refused a batch of %d completions (%s); writing them one by one",
            len(batch),
            exc,
        )
        accepted: set[str] = set()
        for index, outcome in enumerate(batch):
            try:
                try:
                    accepted |= self.store.complete([outcome])
                    continue
                except DataRefusedError as refused:
                    reason = refused
                fallback = replace(
                    outcome,
                    status=ExecutionStatus.FAILED,
                    duration_seconds=None,
                    result=None,
                    logs=None,
                    error_message=(
                        f"the outcome ({outcome.status.value}) could not be stored: {reason}"
                    ),
                )
                try:
                    accepted |= self.store.complete([fallback])
                    batch[index] = fallback  # what was recorded (and is published)
                    log.error(
                        "execution %s: outcome refused by the database (%s); recorded failed",
                        outcome.execution_id,
                        reason,
                    )
                except DataRefusedError as again:
                    log.error(
                        "execution %s: not even a failure could be stored (%s); it stays "
                        "running until its lease is rescued",
                        outcome.execution_id,
                        again,
                    )
            except BaseException:
                self._record_completed(batch[:index], accepted)
                self._give_back(batch[index:])
                raise
        return accepted

    def _record_completed(self, batch: list[Outcome], accepted: Collection[str]) -> None:
        self.stats["completed"] += len(accepted)
        if accepted:
            self._freed = True
        wanted = self.bus.wants(ExecutionFinished)
        events: list[Event] = []
        for outcome in batch:
            if outcome.execution_id in accepted:
                if wanted:
                    events.append(ExecutionFinished.of(outcome))
            elif outcome.status is ExecutionStatus.CANCELLED:
                log.info("execution %s stopped: %s", outcome.execution_id, outcome.error_message)
            else:
                self.stats["rejected"] += 1
                log.warning(
                    "completion of execution %s rejected: it was rescued or finished elsewhere",
                    outcome.execution_id,
                )
        self.bus.publish_all(events)
