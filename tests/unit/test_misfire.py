"""plan_fires: what runs and what is recorded missed, as a pure function of now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbcron.cron import parse_schedule
from dbcron.misfire import MISFIRE_GRACE, plan_fires
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
