"""Which fires of a due job run and which are recorded as missed: a pure function of now.

When the scheduler claims a due job it asks :func:`plan_fires` what to do with every
fire time from the job's ``next_execution`` up to now. The answer follows the job's
misfire policy, catch-up window and overlap policy, and every fire that will not run
comes back as a ``missed`` fire with its reason, so that nothing is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dbcron.cron import Schedule
from dbcron.models import ExecutionStatus, Job, MisfirePolicy, OverlapPolicy, Trigger

#: A fire claimed within this long of its time is on time; later ones are misfires.
MISFIRE_GRACE = timedelta(seconds=60)
#: At most this many fires of one job are recorded one by one in one claim; older
#: ones are summarised in one missed row (a job firing every second after a day down
#: would otherwise write 86,400 rows).
MAX_FIRES_PER_CLAIM = 1000


@dataclass(frozen=True, slots=True)
class PlannedFire:
    """One fire time and what becomes of it."""

    scheduled_for: datetime
    status: ExecutionStatus
    trigger: Trigger
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class FirePlan:
    """Every fire of one claim, and the job's next fire time after ``now``."""

    fires: list[PlannedFire]
    next_execution: datetime | None

    @property
    def to_run(self) -> list[PlannedFire]:
        """The fires that become pending executions."""
        return [f for f in self.fires if f.status is ExecutionStatus.PENDING]


def due_fire_times(
    schedule: Schedule, first: datetime, now: datetime, limit: int
) -> tuple[list[datetime], int, datetime]:
    """Fire times from ``first`` (itself a fire time) up to ``now``, newest ``limit`` kept.

    Returns the kept times (oldest first), how many older ones were dropped, and the
    first fire after ``now`` (which is the first fire after the last due one).
    """
    times: list[datetime] = []
    dropped = 0
    current = first
    while current <= now:
        times.append(current)
        if len(times) > limit:
            times.pop(0)
            dropped += 1
        current = schedule.next_fire(current)
    return times, dropped, current


def plan_fires(
    job: Job,
    schedule: Schedule,
    now: datetime,
    active_executions: int = 0,
    *,
    grace: timedelta = MISFIRE_GRACE,
    limit: int = MAX_FIRES_PER_CLAIM,
) -> FirePlan:
    """Decide the fate of every fire of ``job`` due at ``now``.

    - Fires older than the catch-up window are missed ("outside catch-up window").
    - Of the fires inside the window, ``run_once`` runs the newest and records the others
      as missed ("coalesced"), ``run_all`` runs them all, and ``skip`` runs the newest
      only when it is on time (within ``grace``) and records the others as missed.
    - A fire that would run while ``max_concurrency`` executions (from earlier claims)
      are active is missed ("overlap") under the ``skip`` overlap policy; ``queue`` and
      ``allow`` keep it. The catch-up runs of one claim queue behind each other. Active
      means running, or pending and due: a retry still waiting out its delay does not
      make the job's fires overlap (they run; the retry then waits for a free slot).
    """
    first = job.next_execution
    if first is None or first > now:
        return FirePlan([], first)
    times, dropped, upcoming = due_fire_times(schedule, first, now, limit)
    window = timedelta(seconds=job.catchup_window_seconds)
    fires: list[PlannedFire] = []
    if dropped:
        fires.append(
            PlannedFire(
                first,
                ExecutionStatus.MISSED,
                Trigger.CATCHUP,
                f"{dropped} fires from {first.isoformat()} were missed while no scheduler ran "
                f"(only the newest {limit} are recorded one by one)",
            )
        )
    inside = [t for t in times if now - t <= max(window, grace)]
    for t in times:
        if t not in inside:
            fires.append(
                PlannedFire(
                    t,
                    ExecutionStatus.MISSED,
                    Trigger.CATCHUP,
                    f"missed while no scheduler ran; outside the catch-up window of "
                    f"{job.catchup_window_seconds}s",
                )
            )
    run: list[datetime] = []
    if inside:
        newest = inside[-1]
        late = now - newest > grace
        if job.misfire_policy is MisfirePolicy.RUN_ALL:
            run = inside
        elif job.misfire_policy is MisfirePolicy.RUN_ONCE or not late:
            run = [newest]
        for t in inside:
            if t in run:
                continue
            reason = (
                "coalesced into one catch-up run (misfire policy run_once)"
                if job.misfire_policy is MisfirePolicy.RUN_ONCE
                else "late after downtime (misfire policy skip)"
            )
            fires.append(PlannedFire(t, ExecutionStatus.MISSED, Trigger.CATCHUP, reason))
    # Only executions that were active before this claim count as an overlap: the
    # catch-up runs of one claim queue behind each other (acquire enforces the limit).
    overlapping = (
        job.overlap_policy is OverlapPolicy.SKIP and active_executions >= job.max_concurrency
    )
    for t in run:
        on_time = now - t <= grace
        trigger = Trigger.SCHEDULE if on_time else Trigger.CATCHUP
        if overlapping:
            fires.append(
                PlannedFire(
                    t,
                    ExecutionStatus.MISSED,
                    trigger,
                    f"overlap: {active_executions} execution(s) of this job still active "
                    f"(max_concurrency {job.max_concurrency}, overlap policy skip)",
                )
            )
        else:
            fires.append(PlannedFire(t, ExecutionStatus.PENDING, trigger))
    fires.sort(key=lambda f: f.scheduled_for)
    return FirePlan(fires, upcoming)
