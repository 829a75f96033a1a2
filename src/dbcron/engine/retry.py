"""When a failed execution is retried: a pure function of the job, the attempt and now."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from dbcron.models import Job, RetryBackoff

#: The longest any retry waits, whatever the backoff says.
MAX_RETRY_DELAY = timedelta(days=1)
#: Exponential backoff spreads retries by up to this fraction of the delay.
JITTER_FRACTION = 0.1


def retry_delay(
    job: Job, attempt: int, rng: random.Random | None = None, requested: float | None = None
) -> timedelta:
    """The wait before retry number ``attempt + 1`` after attempt ``attempt`` failed.

    ``fixed`` waits ``retry_delay_seconds`` every time; ``exponential`` doubles it per
    attempt (``delay * 2**attempt``) and adds up to 10% jitter so that many jobs failing
    together do not retry in lock-step. A handler's ``RetryRequested(delay)`` wins.
    """
    if requested is not None:
        return min(timedelta(seconds=max(0.0, requested)), MAX_RETRY_DELAY)
    base = float(job.retry_delay_seconds or 0)
    if job.retry_backoff is RetryBackoff.EXPONENTIAL:
        delay = base * (2 ** min(attempt, 30))
        if delay > 0:
            delay += (rng or random).uniform(0, JITTER_FRACTION * delay)
    else:
        delay = base
    return min(timedelta(seconds=delay), MAX_RETRY_DELAY)


def next_retry_at(
    job: Job,
    attempt: int,
    now: datetime,
    rng: random.Random | None = None,
    requested: float | None = None,
) -> datetime | None:
    """When attempt ``attempt + 1`` runs, or None when no attempts are left."""
    if attempt >= (job.retry_count or 0):
        return None
    return now + retry_delay(job, attempt, rng, requested)
