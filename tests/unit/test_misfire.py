"""plan_fires: what runs and what is recorded missed, as a pure function of now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbcron.cron import Schedule, parse_schedule
from dbcron.engine.misfire import (
    MAX_FIRES_PER_CLAIM,
    MISFIRE_GRACE,
    FirePlan,
    PlannedFire,
    due_fire_times,
    plan_fires,
)
from dbcron.models import ExecutionStatus, Job, MisfirePolicy, OverlapPolicy, Trigger

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
EVERY_MINUTE = parse_schedule("* * * * *")


def job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "name": "j",
        "job_type": "shell",
        "schedule_expression": "* * * * *",
        "next_execution": T0,
        "catchup_window_seconds": 3600,
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


def statuses(plan: object) -> list[tuple[int, str, str]]:
    return [
        (int((f.scheduled_for - T0).total_seconds() // 60), f.status.value, f.trigger.value)
        for f in plan.fires  # type: ignore[attr-defined]
    ]


def test_not_due_yet_plans_nothing() -> None:
    plan = plan_fires(job(), EVERY_MINUTE, T0 - timedelta(seconds=1))
    assert plan.fires == []
    assert plan.next_execution == T0


def test_on_time_fire_runs_and_next_moves_on() -> None:
    plan = plan_fires(job(), EVERY_MINUTE, T0 + timedelta(milliseconds=3))
    assert statuses(plan) == [(0, "pending", "schedule")]
    assert plan.next_execution == T0 + timedelta(minutes=1)


HOURLY = parse_schedule("0 * * * *")


def hours(plan: object) -> list[tuple[int, str, str]]:
    return [
        (int((f.scheduled_for - T0).total_seconds() // 3600), f.status.value, f.trigger.value)
        for f in plan.fires  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            MisfirePolicy.RUN_ONCE,
            [(h, "missed", "catchup") for h in range(5)] + [(5, "pending", "catchup")],
        ),
        (MisfirePolicy.RUN_ALL, [(h, "pending", "catchup") for h in range(6)]),
        (MisfirePolicy.SKIP, [(h, "missed", "catchup") for h in range(6)]),
    ],
)
def test_downtime_follows_the_misfire_policy(
    policy: MisfirePolicy, expected: list[tuple[int, str, str]]
) -> None:
    now = T0 + timedelta(hours=5, minutes=10)  # six hourly fires due, the newest 10 min late
    plan = plan_fires(
        job(misfire_policy=policy, schedule_expression="0 * * * *", catchup_window_seconds=86400),
        HOURLY,
        now,
    )
    assert hours(plan) == expected
    assert plan.next_execution == T0 + timedelta(hours=6)
    missed = [f for f in plan.fires if f.status is ExecutionStatus.MISSED]
    assert all(f.reason for f in missed)


def test_skip_runs_a_fire_that_is_within_the_grace() -> None:
    now = T0 + timedelta(minutes=3, seconds=10)
    plan = plan_fires(job(misfire_policy=MisfirePolicy.SKIP), EVERY_MINUTE, now)
    assert statuses(plan) == [
        (0, "missed", "catchup"),
        (1, "missed", "catchup"),
        (2, "missed", "catchup"),
        (3, "pending", "schedule"),
    ]
    assert "skip" in (plan.fires[0].reason or "")


def test_fires_outside_the_catchup_window_are_missed_with_that_reason() -> None:
    now = T0 + timedelta(minutes=10, seconds=5)
    plan = plan_fires(
        job(catchup_window_seconds=180, misfire_policy=MisfirePolicy.RUN_ALL), EVERY_MINUTE, now
    )
    outside = [f for f in plan.fires if f.reason and "outside the catch-up window" in f.reason]
    assert [int((f.scheduled_for - T0).total_seconds() // 60) for f in outside] == list(range(8))
    assert [f.scheduled_for for f in plan.to_run] == [T0 + timedelta(minutes=m) for m in (8, 9, 10)]


def test_window_never_smaller_than_the_grace() -> None:
    now = T0 + timedelta(seconds=20)
    plan = plan_fires(job(catchup_window_seconds=0), EVERY_MINUTE, now)
    assert statuses(plan) == [(0, "pending", "schedule")]
    assert timedelta(seconds=20) < MISFIRE_GRACE


def test_overlap_skip_records_missed() -> None:
    plan = plan_fires(job(), EVERY_MINUTE, T0, active_executions=1)
    assert statuses(plan) == [(0, "missed", "schedule")]
    assert "overlap" in (plan.fires[0].reason or "")


@pytest.mark.parametrize("policy", [OverlapPolicy.QUEUE, OverlapPolicy.ALLOW])
def test_overlap_queue_and_allow_keep_the_fire(policy: OverlapPolicy) -> None:
    plan = plan_fires(job(overlap_policy=policy), EVERY_MINUTE, T0, active_executions=5)
    assert statuses(plan) == [(0, "pending", "schedule")]


def test_run_all_catchups_queue_behind_each_other_but_skip_an_overlap() -> None:
    now = T0 + timedelta(minutes=2)
    all_job = job(misfire_policy=MisfirePolicy.RUN_ALL, max_concurrency=1)
    plan = plan_fires(all_job, EVERY_MINUTE, now)
    assert [f.status for f in plan.fires] == [ExecutionStatus.PENDING] * 3
    busy = plan_fires(all_job, EVERY_MINUTE, now, active_executions=1)
    assert [f.status for f in busy.fires] == [ExecutionStatus.MISSED] * 3


def test_huge_backlog_is_summarised() -> None:
    every_second = parse_schedule("@every 1s")
    now = T0 + timedelta(hours=2)
    plan = plan_fires(
        job(schedule_expression="@every 1s", catchup_window_seconds=60),
        every_second,
        now,
        limit=100,
    )
    summary = plan.fires[0]
    assert summary.scheduled_for == T0
    assert "7101 fires" in (summary.reason or "")
    assert len(plan.fires) == 101
    assert [f.trigger for f in plan.to_run] == [Trigger.SCHEDULE]
    assert plan.to_run[0].scheduled_for == now


# --------------------------------------------------------------------------------------
# Long downtimes: the newest fires one by one, the older ones in one summary row
# --------------------------------------------------------------------------------------

MONTH_LATER = T0 + timedelta(days=30, seconds=10)  # 43,201 minutes due, the newest on time


def summary_and_rest(plan: FirePlan) -> tuple[PlannedFire, list[PlannedFire]]:
    first, *rest = plan.fires
    assert first.status is ExecutionStatus.MISSED
    assert first.trigger is Trigger.CATCHUP
    return first, rest


@pytest.mark.parametrize(
    ("policy", "pending", "reason"),
    [
        (MisfirePolicy.RUN_ONCE, 1, "coalesced into one catch-up run (misfire policy run_once)"),
        (MisfirePolicy.RUN_ALL, 60, None),
        (MisfirePolicy.SKIP, 1, "late after downtime (misfire policy skip)"),
    ],
)
def test_a_month_down_is_summarised_with_range_and_count(
    policy: MisfirePolicy, pending: int, reason: str | None
) -> None:
    plan = plan_fires(job(misfire_policy=policy), EVERY_MINUTE, MONTH_LATER)
    summary, rest = summary_and_rest(plan)
    newest = T0 + timedelta(days=30)
    oldest_kept = newest - timedelta(minutes=MAX_FIRES_PER_CLAIM - 1)
    assert summary.scheduled_for == T0
    assert summary.reason == (
        f"43101 fires from {T0.isoformat()} until "
        f"{(oldest_kept - timedelta(minutes=1)).isoformat()} were missed while no scheduler "
        "ran: outside the catch-up window of 3600s; summarised in this one row (only the "
        f"newest {MAX_FIRES_PER_CLAIM} fires of a backlog are recorded one by one)"
    )
    # every due fire is accounted for: 43,101 in the summary, the newest 100 one by one
    assert [f.scheduled_for for f in rest] == [
        oldest_kept + timedelta(minutes=m) for m in range(MAX_FIRES_PER_CLAIM)
    ]
    assert 43101 + len(rest) == 30 * 1440 + 1
    outside = [f for f in rest if f.scheduled_for < newest - timedelta(minutes=59)]
    assert len(outside) == MAX_FIRES_PER_CLAIM - 60
    assert {f.reason for f in outside} == {
        "missed while no scheduler ran; outside the catch-up window of 3600s"
    }
    inside = rest[len(outside) :]
    assert [f.scheduled_for for f in plan.to_run] == [f.scheduled_for for f in inside][-pending:]
    assert {f.reason for f in inside if f.status is ExecutionStatus.MISSED} == (
        {reason} if reason else set()
    )
    assert plan.to_run[-1].trigger is Trigger.SCHEDULE  # the newest is 10 s late: on time
    assert plan.next_execution == newest + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("policy", "inside_reason", "runs"),
    [
        (MisfirePolicy.RUN_ONCE, "coalesced into one catch-up run (misfire policy run_once)", 1),
        (
            MisfirePolicy.RUN_ALL,
            f"a catch-up runs at most the newest {MAX_FIRES_PER_CLAIM} fires "
            "(misfire policy run_all)",
            MAX_FIRES_PER_CLAIM,
        ),
        (MisfirePolicy.SKIP, "late after downtime (misfire policy skip)", 1),
    ],
)
def test_a_window_holding_more_than_the_limit(
    policy: MisfirePolicy, inside_reason: str, runs: int
) -> None:
    """Every 10 s with a one-hour window: 360 fires inside it, of which only the newest
    100 are planned one by one (run_all runs those); the summary says why the others did
    not run, inside the window and outside it."""
    every_10s = parse_schedule("@every 10s")
    plan = plan_fires(
        job(schedule_expression="@every 10s", misfire_policy=policy), every_10s, MONTH_LATER
    )
    summary, rest = summary_and_rest(plan)
    newest = MONTH_LATER  # a fire of this schedule, on time
    until = newest - timedelta(seconds=10 * MAX_FIRES_PER_CLAIM)
    total = 30 * 8640 + 2
    assert summary.reason is not None
    assert summary.reason.startswith(
        f"{total - MAX_FIRES_PER_CLAIM} fires from {T0.isoformat()} until {until.isoformat()} "
        f"were missed while no scheduler ran: outside the catch-up window of 3600s, or "
        f"{inside_reason}; summarised in this one row"
    )
    assert len(rest) == MAX_FIRES_PER_CLAIM
    assert len(plan.to_run) == runs
    assert plan.to_run[-1].scheduled_for == newest


def test_a_single_older_fire_and_a_count_that_is_not_cheap() -> None:
    plan = plan_fires(job(), EVERY_MINUTE, T0 + timedelta(minutes=5), limit=5)
    summary, rest = summary_and_rest(plan)
    assert (summary.reason or "").startswith(
        f"1 fire at {T0.isoformat()} was missed while no scheduler ran: coalesced"
    )
    assert len(rest) == 5
    # nW schedules are not counted: the summary gives the range only
    w_every_minute = parse_schedule("* * 15W * *")
    first = datetime(2026, 1, 15, tzinfo=UTC)  # a Thursday
    plan = plan_fires(
        job(schedule_expression="* * 15W * *", next_execution=first),
        w_every_minute,
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    summary, rest = summary_and_rest(plan)
    until = datetime(2026, 3, 16, 22, 19, tzinfo=UTC)  # Monday the 16th; 100 minutes kept
    assert (summary.reason or "").startswith(
        f"the fires from {first.isoformat()} until {until.isoformat()} were missed while "
        "no scheduler ran: outside the catch-up window of 3600s"
    )
    assert rest[0].scheduled_for == until + timedelta(minutes=1)
    assert len(rest) == MAX_FIRES_PER_CLAIM


def walk(schedule: Schedule, first: datetime, now: datetime) -> list[datetime]:
    """The reference: every due fire time, walking from ``first`` with next_fire."""
    times = []
    current = first
    while current <= now:
        times.append(current)
        current = schedule.next_fire(current)
    return times


@given(
    expression=st.sampled_from(
        ["* * * * *", "*/7 * * * *", "30 1 * * *", "* 1 * * *", "*/20 * * * * *", "@every 97s"]
    ),
    tz=st.sampled_from(
        ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"]
    ),
    change=st.sampled_from(
        [
            datetime(2024, 10, 27, 1, tzinfo=UTC),  # London
            datetime(2024, 3, 10, 7, tzinfo=UTC),  # New York
            datetime(2024, 4, 6, 15, tzinfo=UTC),  # Lord Howe
            datetime(2025, 9, 27, 14, tzinfo=UTC),  # Chatham
        ]
    ),
    offset=st.integers(-6 * 3600, 6 * 3600),
    downtime=st.integers(0, 5 * 3600),
    limit=st.integers(1, 40),
    on_schedule=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_property_due_fires_are_the_tail_of_the_walk(
    expression: str,
    tz: str,
    change: datetime,
    offset: int,
    downtime: int,
    limit: int,
    on_schedule: bool,
) -> None:
    """Around offset changes, from a fire time or from any instant: the same newest
    fires as the walk from ``next_execution``, and the rest counted exactly."""
    schedule = parse_schedule(expression, tz)
    first = change + timedelta(seconds=offset, microseconds=offset % 7)
    if on_schedule:
        first = schedule.next_fire(first)
    now = first + timedelta(seconds=downtime)
    expected = walk(schedule, first, now)
    due = due_fire_times(schedule, first, now, limit)
    assert due.times == expected[-limit:]
    assert due.upcoming == schedule.next_fire(expected[-1])
    if len(expected) <= limit:
        assert (due.older, due.older_until) == (0, None)
    else:
        assert (due.older, due.older_until) == (len(expected) - limit, expected[-limit - 1])


class CountingSearches:
    """Counts the schedule's fire searches (each one step of a walk)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = Schedule._next_cron

        def counted(schedule: Schedule, *args: Any) -> datetime | None:
            self.calls += 1
            return original(schedule, *args)

        monkeypatch.setattr(Schedule, "_next_cron", counted)


@pytest.mark.parametrize("tz", ["UTC", "Europe/London"])
def test_planning_does_not_walk_the_downtime(monkeypatch: pytest.MonkeyPatch, tz: str) -> None:
    """A month or four years down: about the same few hundred searches (the walk took
    one per missed fire: 43,200 for the month). Speed figures are in benchmarks/."""
    searches = CountingSearches(monkeypatch)
    calls = []
    for days in (30, 4 * 365):
        schedule = Schedule("*/5 * * * *", tz)
        first = schedule.next_fire(MONTH_LATER - timedelta(days=days))
        plan = plan_fires(job(next_execution=first, timezone=tz), schedule, MONTH_LATER)
        assert len(plan.fires) == MAX_FIRES_PER_CLAIM + 1
        assert (plan.fires[0].reason or "")[0].isdigit()  # counted
        calls.append(searches.calls)
        searches.calls = 0
    assert max(calls) < 4 * MAX_FIRES_PER_CLAIM, calls
