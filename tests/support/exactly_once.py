"""Exactly-once checks: the ledger of real handler starts against the executions table.

The ``ledger`` handler (:mod:`tests.support.handlers`) appends one line per real handler
start, whether or not its outcome ever reaches the database; these functions compare it
with what the database says. Each returns a list of readable problems (empty: all
well), so that a failing assertion names every offending fire.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import open_store
from tests.support.handlers import ledger, read_ledger

#: The ``python`` job type's callable of the ledger handler.
LEDGER = "tests.support.handlers:ledger"
#: The scheduler's warning when a completion arrives for a run that was rescued (or
#: finished) elsewhere meanwhile: the handler ran, and its outcome was thrown away.
REJECTED = re.compile(r"completion of execution \S+ rejected[^\n]*")
#: Why a rescued run failed (store.base.rescue_expired).
NODE_LOST = "node lost"
#: Why a ledger run with ``fail_attempts`` failed.
ON_PURPOSE = re.compile(r"RuntimeError: failing attempt \d+ on purpose")


@dataclass(frozen=True)
class Start:
    """One real handler start, from the ledger."""

    job_id: str
    scheduled_for: str
    attempt: int
    execution_id: str
    pid: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.job_id, self.scheduled_for, self.attempt)


def starts(path: str | Path) -> list[Start]:
    """The ledger's handler starts, in the order they were written."""
    return [Start(*entry) for entry in read_ledger(path)]


def ledger_sleeping_first(path: str, ctx: Any, seconds: float) -> dict[str, Any]:
    """The ledger handler, sleeping ``seconds`` on the first attempt only."""
    return ledger(path, ctx, seconds=seconds if ctx.execution.retry_attempt == 0 else 0.0)


def ledger_config(
    path: str | Path, seconds: float = 0.0, fail_attempts: int = 0
) -> dict[str, object]:
    """A ``python`` job config that runs the ledger handler."""
    kwargs: dict[str, object] = {"path": str(path)}
    if seconds:
        kwargs["seconds"] = seconds
    if fail_attempts:
        kwargs["fail_attempts"] = fail_attempts
    return {"callable": LEDGER, "kwargs": kwargs}


def executions(url: str, limit: int = 1_000_000) -> list[Execution]:
    """Every execution row of the database at ``url``."""
    store = open_store(url)
    try:
        return store.list_executions(limit=limit)
    finally:
        store.close()


def node_pid(node_id: str | None) -> int | None:
    """The scheduler process id in a node id (``<name>-<pid>-<random>``)."""
    if not node_id:
        return None
    parts = node_id.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _fire(e: Execution) -> tuple[str, datetime]:
    return (e.job_id, e.scheduled_for)


def repeated_starts(ledger: Iterable[Start], killed_pids: Collection[int] = ()) -> list[str]:
    """(job, fire, attempt) whose handler started more than once. A repeat is excused
    only when every earlier start ran in a process that was killed with -9."""
    by_key: dict[tuple[str, str, int], list[Start]] = defaultdict(list)
    for start in ledger:
        by_key[start.key].append(start)
    return [
        f"job {key[0]} fire {key[1]} attempt {key[2]} started {len(seen)} times "
        f"(pids {[s.pid for s in seen]}, executions {sorted({s.execution_id for s in seen})})"
        for key, seen in by_key.items()
        if len(seen) > 1 and any(s.pid not in killed_pids for s in seen[:-1])
    ]


def double_successes(rows: Iterable[Execution]) -> list[str]:
    """Fires (job, scheduled_for) recorded successful more than once."""
    wins: dict[tuple[str, datetime], list[Execution]] = defaultdict(list)
    for e in rows:
        if e.status is ExecutionStatus.SUCCESS:
            wins[_fire(e)].append(e)
    return [
        f"job {job_id} fire {fire.isoformat()} succeeded {len(won)} times "
        f"(attempts {sorted(e.retry_attempt for e in won)})"
        for (job_id, fire), won in wins.items()
        if len(won) > 1
    ]


def rescued_from_live_nodes(rows: Iterable[Execution], killed_pids: Collection[int]) -> list[str]:
    """Runs rescued ("node lost") although their scheduler was not killed with -9: a
    live node let the lease lapse, so the fire's handler ran again elsewhere."""
    return [
        f"execution {e.execution_id} (job {e.job_id}, fire {e.scheduled_for.isoformat()}, "
        f"attempt {e.retry_attempt}) on live node {e.node_id}: {e.error_message}"
        for e in rows
        if e.status is ExecutionStatus.FAILED
        and (e.error_message or "").startswith(NODE_LOST)
        and node_pid(e.node_id) not in killed_pids
    ]


def unexpected_failures(rows: Iterable[Execution], killed_pids: Collection[int]) -> list[str]:
    """Failed or timed-out runs for any reason but a ledger handler failing on purpose
    or a rescue from a node killed with -9."""
    problems = []
    for e in rows:
        if e.status not in (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT):
            continue
        message = e.error_message or ""
        if ON_PURPOSE.match(message):
            continue
        if message.startswith(NODE_LOST) and node_pid(e.node_id) in killed_pids:
            continue
        problems.append(
            f"execution {e.execution_id} (job {e.job_id}, fire {e.scheduled_for.isoformat()}, "
            f"attempt {e.retry_attempt}, node {e.node_id}) {e.status.value}: {message[:200]}"
        )
    return problems


def fires_run_twice(
    ledger: Iterable[Start], rows: Iterable[Execution], killed_pids: Collection[int]
) -> list[str]:
    """Fires whose handler started again (a later attempt) although the earlier start
    neither failed on purpose nor ran in a process killed with -9: the fire's work was
    done twice."""
    by_id = {e.execution_id: e for e in rows}
    by_key = {s.key: s for s in ledger}
    problems = []
    for (job_id, fire, attempt), start in by_key.items():
        before = by_key.get((job_id, fire, attempt - 1))
        if before is None or before.pid in killed_pids:
            continue
        earlier = by_id.get(before.execution_id)
        why = (earlier.error_message or "") if earlier else "(no row)"
        if ON_PURPOSE.match(why):
            continue
        problems.append(
            f"job {job_id} fire {fire}: attempt {attempt - 1} started in live pid {before.pid} "
            f"and ended {earlier.status.value if earlier else '?'} ({why[:120]}); attempt "
            f"{attempt} started again in pid {start.pid}"
        )
    return problems


def successes_without_a_start(rows: Iterable[Execution], ledger: Iterable[Start]) -> list[str]:
    """Successful rows whose handler start is not in the ledger."""
    started = {s.execution_id for s in ledger}
    return [
        f"execution {e.execution_id} (job {e.job_id}) succeeded without a handler start"
        for e in rows
        if e.status is ExecutionStatus.SUCCESS and e.execution_id not in started
    ]


def rejected_completions(texts: Iterable[str]) -> list[str]:
    """The scheduler log lines that report a completion rejected by its fencing token."""
    return [match.group(0) for text in texts for match in REJECTED.finditer(text)]


def every_fires(first: datetime, until: datetime, seconds: int) -> list[datetime]:
    """The fires of an ``@every <seconds>s`` schedule from ``first`` to ``until``."""
    fires = []
    current = first
    while current <= until:
        fires.append(current)
        current += timedelta(seconds=seconds)
    return fires


def unaccounted_fires(
    rows: Sequence[Execution], expected: Mapping[str, tuple[Job, Sequence[datetime]]]
) -> list[str]:
    """Every expected fire of every job must be recorded and settled: its attempts
    0..n each recorded once, all but the last failed (or timed out), and the last a
    success, a failure with no retries left, or (attempt 0 only) missed with a reason.

    ``expected`` maps job ids to the job and the fire times that fell due.
    """
    attempts: dict[tuple[str, datetime], list[Execution]] = defaultdict(list)
    for e in rows:
        attempts[_fire(e)].append(e)
    problems = []
    for job_id, (job, fires) in expected.items():
        for fire in fires:
            chain = sorted(attempts.get((job_id, fire), []), key=lambda e: e.retry_attempt)
            where = f"job {job.name} ({job_id}) fire {fire.isoformat()}"
            if not chain:
                problems.append(f"{where}: no execution recorded (a lost fire)")
                continue
            numbers = [e.retry_attempt for e in chain]
            if numbers != list(range(len(chain))):
                problems.append(f"{where}: attempts {numbers} (expected 0..{len(chain) - 1})")
                continue
            states = [e.status.value for e in chain]
            failing = (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT)
            if any(e.status not in failing for e in chain[:-1]):
                problems.append(f"{where}: a retry followed a run that did not fail: {states}")
                continue
            last = chain[-1]
            if last.status is ExecutionStatus.SUCCESS:
                continue
            if last.status is ExecutionStatus.MISSED and len(chain) == 1 and last.error_message:
                continue
            if last.status in failing and last.retry_attempt >= job.retry_count:
                continue
            if last.status in failing:
                problems.append(
                    f"{where}: attempt {last.retry_attempt} {last.status.value} "
                    f"({(last.error_message or '')[:120]}) with {job.retry_count} retries "
                    f"allowed, but no retry was recorded: {states}"
                )
            else:
                problems.append(f"{where}: left {last.status.value}: {states}")
    return problems


def unexpected_fires(
    rows: Iterable[Execution], expected: Mapping[str, tuple[Job, Sequence[datetime]]]
) -> list[str]:
    """Rows of the expected jobs at fire times that the schedule does not have (within
    the span of the expected fires)."""
    problems = []
    for e in rows:
        if e.job_id not in expected:
            continue
        job, fires = expected[e.job_id]
        if fires and fires[0] <= e.scheduled_for <= fires[-1] and e.scheduled_for not in set(fires):
            problems.append(f"job {job.name}: a fire at {e.scheduled_for.isoformat()}")
    return problems
