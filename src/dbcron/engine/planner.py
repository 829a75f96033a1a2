"""Planning a claim: which fires of a due job run or are missed (with :mod:`dbcron.engine.misfire`),
and the retry execution of a failed run (with :mod:`dbcron.engine.retry`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from dbcron.cron import parse_schedule
from dbcron.engine.misfire import FirePlan, plan_fires
from dbcron.engine.node import NodeState
from dbcron.engine.retry import next_retry_at
from dbcron.errors import CronError
from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    JobStatus,
    Trigger,
)

log = logging.getLogger("dbcron.scheduler")


def executions_of(job: Job, fire_plan: FirePlan, now: datetime) -> list[Execution]:
    """The execution rows a claim at ``now`` records for ``job``'s planned fires: pending
    ones to run, missed ones (finished at once) with their reason."""
    return [
        Execution(
            job_id=job.job_id,
            scheduled_for=fire.scheduled_for,
            status=fire.status,
            trigger=fire.trigger,
            run_after=fire.scheduled_for,
            created_at=now,
            finished_at=now if fire.status is ExecutionStatus.MISSED else None,
            error_message=fire.reason,
            priority=job.priority,
        )
        for fire in fire_plan.fires
    ]


class Planning(NodeState):
    """How a claim plans each due job's fires, and the retries of failed runs."""

    def _planner(
        self, now: datetime, missed: dict[tuple[str, datetime], Execution]
    ) -> Callable[[Job, int], tuple[list[Execution], datetime | None]]:
        """The claim's planner; the missed rows it plans are noted in ``missed`` (by
        fire, so that a transaction retried by the store notes each once)."""

        def plan(job: Job, active: int) -> tuple[list[Execution], datetime | None]:
            executions, next_execution = plan_job(job, active)
            for e in executions:
                if e.status is ExecutionStatus.MISSED:
                    missed[(e.job_id, e.scheduled_for)] = e
            return executions, next_execution

        def plan_job(job: Job, active: int) -> tuple[list[Execution], datetime | None]:
            try:
                schedule = parse_schedule(job.schedule_expression, job.timezone)
                fire_plan = plan_fires(job, schedule, now, active)
            except CronError as exc:
                # Stored before a stricter release, or a schedule that cannot advance:
                # this job stops firing (loudly: logged and in its history); the others
                # in the claim go on.
                log.error(
                    "job %s: %s; it will not fire until its schedule is changed", job.job_id, exc
                )
                return [_unplannable(job, now, str(exc))], None
            return executions_of(job, fire_plan, now), fire_plan.next_execution

        return plan

    def _retry_for(
        self, execution: Execution, job: Job | None, now: datetime, delay: float | None
    ) -> Execution | None:
        if job is None or job.status is JobStatus.DELETED:
            return None
        at = next_retry_at(job, execution.retry_attempt, now, self._rng, delay)
        if at is None:
            return None
        return Execution(
            job_id=execution.job_id,
            scheduled_for=execution.scheduled_for,
            retry_attempt=execution.retry_attempt + 1,
            trigger=Trigger.RETRY,
            run_after=at,
            created_at=now,
            priority=execution.priority,
        )

    def _retry_for_rescue(self, execution: Execution, job: Job | None) -> Execution | None:
        return self._retry_for(execution, job, self.clock.now(), None)


def _unplannable(job: Job, now: datetime, reason: str) -> Execution:
    """The ``missed`` row that records why ``job``'s due fire cannot be planned."""
    return Execution.missed(
        job,
        job.next_execution or now,
        f"missed: the schedule cannot be planned ({reason}); the job will not fire until "
        "its schedule is changed",
        now,
    )
