"""Which fires of a due job run and which are recorded as missed: a pure function of now.

When the scheduler claims a due job it asks :func:`plan_fires` what to do with every
fire time from the job's ``next_execution`` up to now. The answer follows the job's
misfire policy, catch-up window and overlap policy, and every fire that will not run
comes back as a ``missed`` fire with its reason, so that nothing is silently dropped:
after a long downtime the newest :data:`MAX_FIRES_PER_CLAIM` fires one by one, the
older ones in one summary row. The work does not grow with the length of the downtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dbcron.cron import Schedule
from dbcron.models import ExecutionStatus, Job, MisfirePolicy, OverlapPolicy, Trigger

#: A fire claimed within this long of its time is on time; later ones are misfires.
MISFIRE_GRACE = timedelta(seconds=60)
#: At most this many fires of one job are recorded one by one in one claim (and only
#: these are considered for running); older ones are summarised in one missed row. A
#: job firing every second after a day down would otherwise write 86,400 rows, and each
#: row is written while the claim holds the database's write lock.
MAX_FIRES_PER_CLAIM = 100


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


@dataclass(frozen=True, slots=True)
class DueFires:
    """The fires of a job due at a claim: the newest ones, and a summary of the older.

    ``times`` are the newest due fire times, oldest first. When there were more,
    ``older_until`` is the newest of those left out (the oldest is the job's
    ``next_execution``) and ``older`` how many were left out, or None when counting them
    is not cheap (see :meth:`~dbcron.cron.Schedule.count_fires`). ``upcoming`` is the
    first fire after the last due one.
    """

    times: list[datetime]
    upcoming: datetime
    older: int | None = 0
    older_until: datetime | None = None


def due_fire_times(schedule: Schedule, first: datetime, now: datetime, limit: int) -> DueFires:
    """Fire times from ``first`` (normally itself a fire time) up to ``now``, newest
    ``limit`` (at least 1) kept.

    The times are those of the walk from ``first`` with ``schedule.next_fire`` (``first``
    itself, then every fire after it up to ``now``), but only the newest ``limit + 1``
    are searched for (:meth:`~dbcron.cron.Schedule.fires_before`) and the older ones
    are counted, not walked (:meth:`~dbcron.cron.Schedule.count_fires`): the cost does
    not grow with the length of the downtime.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if first > now:
        return DueFires([], first)
    newest = schedule.fires_before(now, limit + 1, after=first)[::-1]
    if len(newest) < limit:
        times = [first, *newest]
        return DueFires(times, schedule.next_fire(times[-1]))
    if len(newest) == limit:
        return DueFires(newest, schedule.next_fire(newest[-1]), 1, first)
    times, until = newest[1:], newest[0]
    counted = schedule.count_fires(first, until)
    older = None if counted is None else counted + 1
    return DueFires(times, schedule.next_fire(times[-1]), older, until)


def _outside_reason(job: Job) -> str:
    return f"outside the catch-up window of {job.catchup_window_seconds}s"


def _inside_reason(job: Job, limit: int) -> str:
    if job.misfire_policy is MisfirePolicy.RUN_ONCE:
        return "coalesced into one catch-up run (misfire policy run_once)"
    if job.misfire_policy is MisfirePolicy.SKIP:
        return "late after downtime (misfire policy skip)"
    return f"a catch-up runs at most the newest {limit} fires (misfire policy run_all)"


def _summary_reason(job: Job, due: DueFires, now: datetime, horizon: timedelta, limit: int) -> str:
    first, until = job.next_execution, due.older_until
    assert first is not None and until is not None
    if due.older is None:
        what = f"the fires from {first.isoformat()} until {until.isoformat()} were"
    elif due.older == 1:
        what = f"1 fire at {first.isoformat()} was"
    else:
        what = f"{due.older} fires from {first.isoformat()} until {until.isoformat()} were"
    if now - until > horizon:
        why = _outside_reason(job)
    elif now - first <= horizon:
        why = _inside_reason(job, limit)
    else:
        why = f"{_outside_reason(job)}, or {_inside_reason(job, limit)}"
    return (
        f"{what} missed while no scheduler ran: {why}; summarised in this one row "
        f"(only the newest {limit} fires of a backlog are recorded one by one)"
    )


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

    The due fires are the job's ``next_execution`` and every fire after it up to ``now``.
    Each one that does not run is a missed fire with its reason:

    - Fires older than the catch-up window (never narrower than ``grace``) are missed
      ("outside the catch-up window").
    - Of the fires inside the window, ``run_once`` runs the newest and records the others
      as missed ("coalesced"), ``run_all`` runs them all, and ``skip`` runs the newest
      only when it is on time (within ``grace``) and records the others as missed ("late
      after downtime").
    - A fire that would run while ``max_concurrency`` executions (from earlier claims)
      are active is missed ("overlap") under the ``skip`` overlap policy; ``queue`` and
      ``allow`` keep it. The catch-up runs of one claim queue behind each other. Active
      means running, or pending and due: a retry still waiting out its delay does not
      make the job's fires overlap (they run; the retry then waits for a free slot).
    - A backlog of more than ``limit`` fires (a long downtime) is cut: only its newest
      ``limit`` fires are planned as above, one row each. The older ones are missed and
      summarised in one row at the oldest (``next_execution``) whose reason gives their
      range, their count when it is cheap to know (see
      :meth:`~dbcron.cron.Schedule.count_fires`) and why they did not run (outside the
      window, or what the policy would have done inside it). So ``run_all`` runs at
      most the newest ``limit`` fires of the window; older fires inside it are missed.

    The time this takes does not grow with the downtime (see :func:`due_fire_times`).
    """
    first = job.next_execution
    if first is None or first > now:
        return FirePlan([], first)
    due = due_fire_times(schedule, first, now, limit)
    horizon = max(timedelta(seconds=job.catchup_window_seconds), grace)
    fires: list[PlannedFire] = []
    if due.older_until is not None:
        reason = _summary_reason(job, due, now, horizon, limit)
        fires.append(PlannedFire(first, ExecutionStatus.MISSED, Trigger.CATCHUP, reason))
    times = due.times
    outside = sum(1 for t in times if now - t > horizon)  # the oldest ones
    inside = times[outside:]
    for t in times[:outside]:
        fires.append(
            PlannedFire(
                t,
                ExecutionStatus.MISSED,
                Trigger.CATCHUP,
                f"missed while no scheduler ran; {_outside_reason(job)}",
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
        reason = _inside_reason(job, limit)
        for t in inside[: len(inside) - len(run)]:
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
    return FirePlan(fires, due.upcoming)
