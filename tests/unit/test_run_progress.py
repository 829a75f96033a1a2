"""``dbcron run``'s progress lines: the execution when it starts, then one line every
``PROGRESS_EVERY_SECONDS`` while it runs (never more often)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from dbcron.cli import engine
from dbcron.cli.root import err
from dbcron.models import Execution, ExecutionStatus, Trigger

EXECUTION = Execution(
    job_id="3f2a9c1e-0000-4000-8000-000000000001",
    scheduled_for=datetime(2026, 12, 1, tzinfo=UTC),
    status=ExecutionStatus.RUNNING,
    trigger=Trigger.MANUAL,
)


@pytest.fixture
def wide_err() -> Iterator[None]:
    width = err.width
    err.width = 300
    yield
    err.width = width


@pytest.mark.usefixtures("wide_err")
def test_start_line_then_one_line_per_period() -> None:
    progress = engine._Progress()
    every = engine.PROGRESS_EVERY_SECONDS
    with err.capture() as captured:
        for elapsed in (
            0.0,
            1.0,
            every - 0.5,
            every + 0.2,
            every + 1.0,
            2 * every + 0.1,
            2.5 * every,
        ):
            progress(EXECUTION, elapsed)
    lines = captured.get().strip().splitlines()
    short = EXECUTION.execution_id[:13]
    assert lines[0].startswith(
        f"Running execution {EXECUTION.execution_id} of job {EXECUTION.job_id}"
    )
    assert f"dbcron logs -f {short}" in lines[0] and f"dbcron cancel {short}" in lines[0]
    assert lines[1:] == [
        f"... still running after {every} s",
        f"... still running after {2 * every} s",
    ]
