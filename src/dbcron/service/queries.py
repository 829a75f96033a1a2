"""The read model: job lookup, history, a job's detail, cluster status, papers.

What ``dbcron list/show/history/status/papers``, the Python API's ``get_status`` and the
dashboard read. Reads only; the one event it publishes is :class:`NodeDead`, when it
sees a node's heartbeat stale (best effort: once per node per process).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dbcron.clock import Clock
from dbcron.engine.database_clock import clock_for
from dbcron.errors import AmbiguousIdError, NotFoundError, ValidationError
from dbcron.eventbus import EventBus
from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    JobQuery,
    JobStatus,
    SchedulerNode,
    StoredPaper,
    Trigger,
)
from dbcron.service.histogram import RunsHistogram, runs_histogram
from dbcron.service.inputs import (
    MAX_WINDOW,
    as_utc,
    field_enum,
    field_error,
)
from dbcron.service.labels import ExecutionLabels, execution_labels
from dbcron.service.logtail import unseen
from dbcron.service.reports import (
    ClusterGauges,
    FirePlan,
    JobDetail,
    Page,
    StatusReport,
    WindowReport,
)
from dbcron.store.protocol import Store

if TYPE_CHECKING:
    pass

#: How many items a page holds unless told otherwise.
PAGE_SIZE = 50
#: How many running executions ``status`` lists (it counts them all).
RUNNING_SHOWN = 100
#: The longest fire preview a reader may ask for (the longest window: MAX_WINDOW).
MAX_PREVIEW = 1000
#: A node whose heartbeat is older than this (and that did not stop cleanly) is dead.
NODE_DEAD_AFTER = timedelta(seconds=60)
#: Text that may be a job id or a prefix of one; a whole id.
_JOB_ID_TEXT = re.compile(r"[0-9a-f-]{1,36}")
_FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Queries:
    """Reads over one store, on the clock the schedulers compare with."""

    def __init__(
        self, store: Store, *, clock: Clock | None = None, bus: EventBus | None = None
    ) -> None:
        self.store = store
        self.clock: Clock = clock or clock_for(store)
        self.bus = bus or EventBus()
        self._dead_seen: set[str] = set()
        self._dead_lock = threading.Lock()

    # -- jobs ------------------------------------------------------------------------

    def resolve_id(self, job_id: str) -> str:
        """The full id of the job that ``job_id`` names, tried in this order: its whole
        id, its key, its exact name (when one job that is not deleted has it), a unique
        prefix of its id. Deleted jobs are found by id and id prefix only.

        Raises NotFoundError when nothing matches and AmbiguousIdError (listing the
        candidates) when the name or the prefix names several jobs.
        """
        text = job_id.strip()
        if not text:
            raise ValidationError("a job id is required")
        lowered = text.lower()
        by_prefix = (
            self.store.find_job_ids(lowered, limit=6) if _JOB_ID_TEXT.fullmatch(lowered) else None
        )
        if by_prefix and lowered in by_prefix:
            return lowered
        keyed = self.store.job_by_key(text)
        if keyed is not None:
            return keyed.job_id
        named = self.store.jobs_named(text, limit=6)
        if len(named) == 1:
            return named[0].job_id
        if named:
            shown = ", ".join(job.job_id[:13] for job in named[:5])
            more = " ..." if len(named) > 5 else ""
            raise AmbiguousIdError(
                f"job name {text!r} is ambiguous: matches {shown}{more} (give an id or a key)"
            )
        if not by_prefix:
            what = "id" if _FULL_ID.fullmatch(lowered) else "id, key or name"
            raise NotFoundError(f"no job with {what} {job_id!r}")
        return _one_match(job_id, lowered, by_prefix, "job")

    def resolve_execution_id(self, execution_id: str) -> str:
        """The full id of the execution whose id is ``execution_id`` or starts with it
        (at least 8 characters: ids begin with a timestamp that runs of one claim share).

        Raises ValidationError for text that is not an id, NotFoundError when none
        matches and AmbiguousIdError (listing candidates) when several do.
        """
        text = execution_id.strip().lower()
        if not re.fullmatch(r"[0-9a-f-]{8,36}", text):
            raise ValidationError(
                f"invalid execution id {execution_id!r}: give the id `dbcron history` "
                "prints (or its first 8 characters or more)"
            )
        matches = self.store.find_execution_ids(text, limit=6)
        return _one_match(execution_id, text, matches, "execution")

    def execution(self, execution_id: str) -> Execution:
        """One execution by id or unique prefix (see :meth:`resolve_execution_id`)."""
        found = self.store.get_execution(self.resolve_execution_id(execution_id))
        if found is None:  # purged between the two reads
            raise NotFoundError(f"no execution with id {execution_id!r}")
        return found

    def get_job(self, job_id: str) -> Job:
        """The job that ``job_id`` names: an id, a key, an exact name or a unique id
        prefix (see :meth:`resolve_id`; deleted jobs by id or prefix)."""
        job = self.store.get_job(self.resolve_id(job_id))
        if job is None:  # purged between the two reads
            raise NotFoundError(f"no job with id {job_id!r}")
        return job

    def next_fires(self, job: Job, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` fire times of ``job``'s schedule after ``after`` (now)."""
        from dbcron.cron import parse_schedule

        schedule = parse_schedule(job.schedule_expression, job.timezone)
        start = after or self.clock.now()
        out: list[datetime] = []
        for fire in schedule.fires(start):
            out.append(fire)
            if len(out) >= count:
                break
        return out

    def upcoming_fires(self, job: Job, count: int = 5) -> list[datetime]:
        """The fires an active job will really make: from its stored next_execution
        (an overdue one included) or now, whichever is later; for any other job the
        schedule's fires after now."""
        if job.status is not JobStatus.ACTIVE:
            return self.next_fires(job, count)
        now = self.clock.now()
        anchor = max(now, job.next_execution or now)
        return self.next_fires(job, count, after=anchor - timedelta(microseconds=1))

    def fire_preview(self, job_id: str, count: int = 5) -> FirePlan:
        """The job ``job_id`` names (see :meth:`get_job`), its schedule in words and the
        fires :meth:`upcoming_fires` gives, each with its local time in the job's zone
        and a note where DST moved it or made its local time occur twice (what
        ``dbcron next`` shows)."""
        if not 1 <= count <= MAX_PREVIEW:
            raise field_error("count", f"count must be between 1 and {MAX_PREVIEW}, not {count}")
        from dbcron.cron import parse_schedule, preview

        job = self.get_job(job_id)
        schedule = parse_schedule(job.schedule_expression, job.timezone)
        start = now = self.clock.now()
        if job.status is JobStatus.ACTIVE:
            start = max(now, job.next_execution or now) - timedelta(microseconds=1)
        return FirePlan(job, schedule.describe(), preview(schedule, start, count))

    def job_detail(self, job_id: str, fires: int = 5, executions: int = 10) -> JobDetail:
        """The job (id or prefix), its next ``fires`` and its last ``executions``."""
        job = self.get_job(job_id)
        return JobDetail(
            job=job,
            next_fires=self.upcoming_fires(job, fires),
            executions=self.history(job.job_id, limit=executions),
        )

    # -- executions --------------------------------------------------------------------

    def jobs_page(
        self,
        status: JobStatus | None = None,
        job_type: str | None = None,
        *,
        limit: int | None = PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Job]:
        """A page of jobs, oldest first (see :meth:`Store.list_jobs`); ``after`` is the
        ``next_cursor`` of the page before (a job id or prefix); ``limit=None`` for all."""
        if limit is not None and limit < 1:
            raise ValidationError("limit must be at least 1")
        start = self.resolve_id(after) if after else None
        jobs = self.store.list_jobs(status, job_type, limit=limit, after=start)
        if limit is None or len(jobs) < limit:
            return Page(jobs, None, 0)
        rest = self.store.count_jobs(status, job_type, after=jobs[-1].job_id)
        return Page(jobs, jobs[-1].job_id if rest else None, rest)

    def search_jobs(
        self, query: JobQuery, *, limit: int = PAGE_SIZE, after: str | None = None
    ) -> Page[Job]:
        """A page of the jobs ``query`` selects, in its order; ``after`` is the
        ``next_cursor`` of the page before (a job id: a page after a job that was
        purged meanwhile is empty)."""
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        rows = self.store.search_jobs(query, limit=limit + 1, after=after)
        items = rows[:limit]
        return Page(items, items[-1].job_id if len(rows) > limit else None)

    def last_results(self, jobs: list[Job]) -> dict[str, Execution]:
        """The newest ended execution of each of ``jobs`` (one query), by job id."""
        return self.store.last_results([job.job_id for job in jobs])

    def history(
        self,
        job_id: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int = 20,
    ) -> list[Execution]:
        """Executions, newest first, of one job (id or prefix) or of all jobs."""
        return self.history_page(job_id, status, limit=limit).items

    def latest_failures(self, limit: int = 10) -> list[Execution]:
        """The newest ``limit`` executions that failed or timed out, newest first (two
        index walks of ``limit`` rows each)."""
        failed = self.history(status=ExecutionStatus.FAILED, limit=limit)
        timed_out = self.history(status=ExecutionStatus.TIMEOUT, limit=limit)
        both = sorted([*failed, *timed_out], key=_history_order, reverse=True)
        return both[:limit]

    def history_page(
        self,
        job_id: str | None = None,
        status: ExecutionStatus | str | None = None,
        *,
        limit: int = 20,
        before: str | None = None,
        trigger: Trigger | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[Execution]:
        """A page of executions, newest first, of one job (id or prefix) or of all jobs;
        ``before`` is the ``next_cursor`` of the page before (an execution id).
        ``trigger`` keeps one trigger kind; ``since``/``until`` keep the executions
        created in ``[since, until)`` (aware datetimes)."""
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        resolved = self.resolve_id(job_id) if job_id else None
        wanted = None if status is None else field_enum(ExecutionStatus, status, "status")
        kind = None if trigger is None else field_enum(Trigger, trigger, "trigger")
        since, until = as_utc("since", since), as_utc("until", until)
        cursor = None if before is None else self.resolve_execution_id(before)
        rows = self.store.list_executions(
            resolved, wanted, limit + 1, before=cursor, trigger=kind, since=since, until=until
        )
        more = len(rows) > limit
        items = rows[:limit]
        return Page(items, items[-1].execution_id if more else None)

    def execution_labels(
        self, executions: list[Execution], *, short_ids: bool = True
    ) -> ExecutionLabels:
        """What a listing of ``executions`` shows beside them: their jobs' time zones and
        (``short_ids``) the shortest id prefix, 8 characters or more, that names each
        of them alone (see :mod:`dbcron.service.labels`)."""
        return execution_labels(self.store, executions, short_ids=short_ids)

    def wait_for_execution(
        self, execution_id: str, timeout: float | None = None, poll_seconds: float = 0.25
    ) -> Execution:
        """The execution once it is final (success, failed, timeout, missed, cancelled),
        read every ``poll_seconds``; the last state read when ``timeout`` seconds pass
        first (still pending or running)."""
        # the last state read: _watch yields at least one
        [last] = deque(self._watch(execution_id, timeout, poll_seconds, "waiting for"), maxlen=1)
        return last

    def follow_logs(
        self, execution_id: str, timeout: float | None = None, poll_seconds: float = 0.5
    ) -> Iterator[tuple[str, Execution]]:
        """Follow one execution (id or unique prefix) until it ends: yields ``(text,
        execution)`` with the part of its logs not yet yielded (empty when nothing new)
        each ``poll_seconds``; the last item is the final execution with the rest of its
        logs, or, when ``timeout`` seconds pass first, its state then (not final).
        Running executions' logs are stored about once a second by their scheduler."""
        shown = ""
        for found in self._watch(execution_id, timeout, poll_seconds, "following"):
            current = found.logs or ""
            text = unseen(shown, current)
            shown = current
            yield text, found

    def _watch(
        self, execution_id: str, timeout: float | None, poll_seconds: float, doing: str
    ) -> Iterator[Execution]:
        """One execution (id or unique prefix) read every ``poll_seconds`` until it is
        final or ``timeout`` seconds passed, each state read yielded (at least one);
        NotFoundError if it is deleted meanwhile (``doing``: what the caller was doing)."""
        full = self.resolve_execution_id(execution_id)
        deadline = None if timeout is None else self.clock.monotonic() + timeout
        pause = threading.Event()
        while True:
            found = self.store.get_execution(full)
            if found is None:
                raise NotFoundError(f"execution {full} was deleted while {doing} it")
            yield found
            if found.status.is_final:
                return
            if deadline is not None and self.clock.monotonic() >= deadline:
                return
            pause.wait(poll_seconds)

    # -- cluster -------------------------------------------------------------------------

    def live_nodes(self) -> list[SchedulerNode]:
        """Scheduler nodes running now: not stopped, a heartbeat within NODE_DEAD_AFTER."""
        now = self.clock.now()
        return [n for n in self.store.list_nodes() if node_state(n, now) == "running"]

    def status_report(
        self, window: timedelta = timedelta(hours=24), upcoming: int = 10, jobs: int = 20
    ) -> StatusReport:
        """Everything ``dbcron status`` shows, in a fixed number of queries whatever the
        number of jobs and executions: job counts by status, the ``upcoming`` next fires,
        the nodes, what runs now, pending/running counts, the window's statistics overall
        and of the ``jobs`` jobs with the most failures and timeouts. Nodes seen
        dead for the first time in this process are published as :class:`NodeDead`."""
        if window <= timedelta(0):
            raise ValidationError("the statistics window must be positive")
        for value, name in ((upcoming, "upcoming"), (jobs, "jobs")):
            if value < 0:
                raise ValidationError(f"{name} must not be negative")
        now = self.clock.now()
        since = now - window
        store = self.store
        failing = store.failing_jobs_stats(since, jobs) if jobs else []
        named = {job.job_id: job for job in store.get_jobs([s.job_id for s in failing if s.job_id])}
        pending, running = store.count_unfinished()
        nodes = store.list_nodes()
        states = {n.node_id: node_state(n, now) for n in nodes}
        report = StatusReport(
            generated_at=now,
            database=store.display_url,
            nodes=nodes,
            node_states=states,
            running=store.list_executions(status=ExecutionStatus.RUNNING, limit=RUNNING_SHOWN),
            running_count=running,
            pending=pending,
            upcoming=[
                (job, job.next_execution)
                for job in store.next_jobs_to_fire(upcoming)
                if job.next_execution is not None
            ],
            overall=store.job_stats(since),
            per_job=[(named[s.job_id], s) for s in failing if s.job_id in named],
            jobs_fired=store.count_jobs_fired_since(since),
            window=window,
            jobs_by_status={status.value: n for status, n in store.count_jobs_by_status().items()},
        )
        self._publish_dead([n for n in nodes if states[n.node_id] == "dead"])
        return report

    def cluster_gauges(self) -> ClusterGauges:
        """Unfinished work and the nodes of the whole cluster, from the database, in two
        bounded queries (a count through the engine's partial index, and the node rows,
        which are pruned after 30 days): what ``/metrics`` reads at every scrape."""
        pending, running = self.store.count_unfinished()
        nodes = self.store.list_nodes()
        now = self.clock.now()
        return ClusterGauges(
            generated_at=now,
            pending=pending,
            running=running,
            nodes=nodes,
            node_states={n.node_id: node_state(n, now) for n in nodes},
        )

    def runs_histogram(self, window: timedelta = timedelta(hours=24)) -> RunsHistogram:
        """Executions per UTC hour by status over the ``window`` up to now (the
        overview's chart); see :func:`dbcron.service.histogram.runs_histogram`."""
        return runs_histogram(self.store, self.clock.now(), window)

    def _publish_dead(self, dead: list[SchedulerNode]) -> None:
        with self._dead_lock:
            new = [n for n in dead if n.node_id not in self._dead_seen]
            self._dead_seen.update(n.node_id for n in new)
        if not new:
            return
        from dbcron.events import NodeDead

        for node in new:
            self.bus.publish(NodeDead(node))

    def window_stats(self, window: timedelta) -> WindowReport:
        """The statistics of every job's executions created in the last ``window``."""
        if not timedelta(0) < window <= MAX_WINDOW:
            raise field_error(
                "window", f"window must be positive and at most {MAX_WINDOW.days} days"
            )
        since = self.clock.now() - window
        return WindowReport(since, window, self.store.job_stats(since))

    # -- papers ----------------------------------------------------------------------------

    def papers(
        self, search: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[StoredPaper]:
        """Papers stored by ``paper_fetch`` jobs, newest publication first."""
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        from dbcron.store.papers import list_papers

        return list_papers(self.store, search=search, since=as_utc("since", since), limit=limit)


def _history_order(execution: Execution) -> tuple[datetime, datetime, int, str]:
    """The history's order (the history queries' ``ORDER BY``), for merging pages."""
    created = execution.created_at or execution.scheduled_for
    return (created, execution.scheduled_for, execution.retry_attempt, execution.execution_id)


def node_state(node: SchedulerNode, now: datetime) -> str:
    """``stopped`` (it said so), ``dead`` (no heartbeat for NODE_DEAD_AFTER) or
    ``running``."""
    if node.stopped_at:
        return "stopped"
    return "dead" if now - node.last_heartbeat > NODE_DEAD_AFTER else "running"


def _one_match(given: str, text: str, matches: list[str], what: str) -> str:
    """The one id of ``matches`` that ``text`` (``given``, normalised) names: itself, or
    the only one it is a prefix of; NotFoundError or AmbiguousIdError otherwise."""
    if text in matches:
        return text
    if not matches:
        raise NotFoundError(f"no {what} with id {given!r}")
    if len(matches) > 1:
        width = 13 if what == "job" else 36
        shown = ", ".join(m[:width] for m in matches[:5])
        more = " ..." if len(matches) > 5 else ""
        raise AmbiguousIdError(f"{what} id prefix {given!r} is ambiguous: matches {shown}{more}")
    return matches[0]
