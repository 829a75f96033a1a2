"""Records: ids and the compact pickling used to send work to worker processes."""

from __future__ import annotations

import copy
import pickle
import uuid
from datetime import UTC, datetime, timedelta
from enum import Enum

from dbcron.execution import Work
from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    JobStatus,
    MisfirePolicy,
    OverlapPolicy,
    RetryBackoff,
    Trigger,
    new_execution_id,
    new_id,
)


def test_execution_ids_are_version_7_uuids_in_creation_order() -> None:
    ids = [new_execution_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:50]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    millis = [int(text.replace("-", "")[:12], 16) for text in ids]
    assert millis == sorted(millis)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    assert abs(millis[-1] - now_ms) < 5_000


def test_job_ids_stay_random_from_the_first_digit() -> None:
    firsts = {new_id()[0] for _ in range(400)}
    assert len(firsts) > 8  # a short prefix still tells jobs apart


def test_records_survive_pickling_with_every_field() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    job = Job(
        name="all fields",
        job_type="python",
        schedule_expression="*/5 * * * *",
        config={"callable": "a.b:c", "kwargs": {"x": [1, 2]}},
        description="d",
        timeout_seconds=9,
        retry_count=2,
        retry_delay_seconds=3,
        created_at=now,
        updated_at=now,
        last_execution=now - timedelta(minutes=5),
        next_execution=now,
        timezone="Europe/Paris",
        misfire_policy=MisfirePolicy.RUN_ALL,
        catchup_window_seconds=60,
        max_concurrency=3,
        overlap_policy=OverlapPolicy.QUEUE,
        priority=7,
        retry_backoff=RetryBackoff.EXPONENTIAL,
        version=4,
    )
    execution = Execution(
        job_id=job.job_id,
        scheduled_for=now,
        status=ExecutionStatus.RUNNING,
        trigger=Trigger.RETRY,
        started_at=now,
        retry_attempt=1,
        logs="log",
        created_at=now,
        run_after=now,
        node_id="n",
        lease_expires_at=now + timedelta(seconds=30),
        fencing_token=5,
        priority=7,
    )
    work = Work(execution, job, "sqlite:///x.db")
    back = pickle.loads(pickle.dumps(work))
    assert back == work
    assert back.job.misfire_policy is MisfirePolicy.RUN_ALL
    assert back.execution.status is ExecutionStatus.RUNNING
    assert back.execution.trigger is Trigger.RETRY and back.job.status is JobStatus.ACTIVE
    # enums travel as their plain values (rebuilding an enum by calling its class is slow)
    for record in (job, execution):
        assert not any(isinstance(v, Enum) for v in record.__getstate__())
    assert copy.deepcopy(job) == job and copy.copy(execution) == execution
