"""Retry maths: fixed and exponential backoff with jitter, a pure function of now."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dbcron.engine.retry import MAX_RETRY_DELAY, next_retry_at, retry_delay
from dbcron.models import Job, RetryBackoff

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "name": "j",
        "job_type": "shell",
        "schedule_expression": "@daily",
        "retry_count": 3,
        "retry_delay_seconds": 10,
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


def test_fixed_delay_until_attempts_run_out() -> None:
    j = job()
    assert [next_retry_at(j, a, NOW) for a in range(4)] == [NOW + timedelta(seconds=10)] * 3 + [
        None
    ]


def test_no_retries_configured() -> None:
    assert next_retry_at(job(retry_count=0), 0, NOW) is None
    assert next_retry_at(job(retry_count=None), 0, NOW) is None


def test_exponential_doubles_with_bounded_jitter() -> None:
    j = job(retry_backoff=RetryBackoff.EXPONENTIAL, retry_count=10)
    rng = random.Random(7)
    for attempt in range(6):
        delay = retry_delay(j, attempt, rng).total_seconds()
        base = 10 * 2**attempt
        assert base <= delay <= base * 1.1


def test_jitter_spreads_retries() -> None:
    j = job(retry_backoff=RetryBackoff.EXPONENTIAL)
    rng = random.Random(1)
    assert len({retry_delay(j, 2, rng) for _ in range(20)}) > 10


def test_delay_is_capped_and_requested_delay_wins() -> None:
    j = job(retry_backoff=RetryBackoff.EXPONENTIAL, retry_delay_seconds=3600, retry_count=50)
    assert retry_delay(j, 40) == MAX_RETRY_DELAY
    assert retry_delay(j, 1, requested=2.5) == timedelta(seconds=2.5)
    assert next_retry_at(j, 0, NOW, requested=0) == NOW
