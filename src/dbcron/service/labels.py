"""What a listing of executions shows beside each one: its job's time zone, and the
shortest prefix of its id that names it alone (commands accept any such prefix)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from dbcron.models import Execution
from dbcron.store.protocol import Store

#: Where a short execution id may end: at a dash of the canonical form, or whole. An
#: id's first 13 characters are its millisecond timestamp, which the executions of one
#: claim share; the random part follows.
ID_CUTS = (8, 13, 18, 23, 36)


@dataclass(frozen=True)
class ExecutionLabels:
    """Each job's time zone (by job id) and each execution's short id (by id)."""

    zones: dict[str, str] = field(default_factory=dict)
    short_ids: dict[str, str] = field(default_factory=dict)

    def zone(self, job_id: str) -> str:
        """The IANA time zone of the job (UTC for a job that is gone)."""
        return self.zones.get(job_id, "UTC")

    def short(self, execution_id: str) -> str:
        """The execution's short id (the whole id when none was computed)."""
        return self.short_ids.get(execution_id, execution_id)


def execution_labels(
    store: Store, executions: Sequence[Execution], *, short_ids: bool = True
) -> ExecutionLabels:
    """The zones of the executions' jobs (one query) and, with ``short_ids``, the short
    ids (see :func:`short_execution_ids`)."""
    job_ids = list(dict.fromkeys(ex.job_id for ex in executions))
    zones = {job.job_id: job.timezone for job in store.get_jobs(job_ids)} if job_ids else {}
    ids = [ex.execution_id for ex in executions]
    return ExecutionLabels(zones, short_execution_ids(store, ids) if short_ids else {})


def short_execution_ids(store: Store, ids: Sequence[str]) -> dict[str, str]:
    """Each of ``ids`` cut at the first of :data:`ID_CUTS` (8 characters or more) where
    every one of them names only itself among all the executions in the database; one
    cut for all, so that a column of them lines up.

    A prefix-range query per id and cut that the ids themselves do not already rule out
    (most ids are settled at their first cut)."""
    unsettled = list(dict.fromkeys(ids))
    cut = ID_CUTS[0]
    for cut in ID_CUTS:
        if cut == ID_CUTS[-1]:
            break
        shared = Counter(i[:cut] for i in unsettled)
        unsettled = [
            i
            for i in unsettled
            if shared[i[:cut]] > 1
            or any(other != i for other in store.find_execution_ids(i[:cut], limit=2))
        ]
        if not unsettled:
            break
    return {i: i[:cut] for i in ids}
