"""The ``Store`` protocol: everything dbcron asks of a database.

Every backend (``sqlite.py``, ``postgres.py``) implements this protocol, and one
contract test-suite (``tests/integration/test_store_contract.py``) runs over all of
them. Contracts that hold for every method:

- All datetimes passed in and returned are aware and in UTC.
- A method that writes is atomic: it commits everything or nothing.
- A method raises :class:`~dbcron.errors.DatabaseUnavailableError` when the database
  cannot be reached, :class:`~dbcron.errors.SchemaError` when dbcron's tables are
  missing, and never leaks a driver exception.
- Records are returned as frozen dataclasses from :mod:`dbcron.models`.

What only some backends can do is a *capability*: a small protocol below
(:class:`ChangeFeed`, :class:`CommitCounter`, :class:`PaperStore`,
:class:`MaintenanceStore`) or in its own module
(:class:`~dbcron.store.diagnostics.Diagnostics`). Callers ask for one through the one accessor
:meth:`Store.capabilities`, whose answer says statically what may be missing (an
optional field), instead of probing the store's attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dbcron.models import (
    ClaimSummary,
    Execution,
    ExecutionStatus,
    Job,
    JobQuery,
    JobStats,
    JobStatus,
    JobTableQuery,
    OptimizeResult,
    Outcome,
    Paper,
    PruneResult,
    SchedulerNode,
    StoredPaper,
    Trigger,
    UpsertResult,
)
from dbcron.store.diagnostics import Diagnostics


class ChangeFeed(Protocol):
    """Pushes a wake-up whenever dbcron's data changes (PostgreSQL LISTEN/NOTIFY)."""

    def listen(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``callback`` (from a thread of the feed's own) whenever a write that
        may bring work commits, and once after every reconnection; return a function
        that stops the feed.

        Returns None when the feed cannot work on this connection (a transaction-mode
        pooler, or listening switched off): the caller must then poll. Never raises for
        an unreachable database; it logs and returns None instead.
        """
        ...


class CommitCounter(Protocol):
    """A cheap counter of commits made by other connections (SQLite's data_version)."""

    def data_version(self) -> int:
        """A number that changes whenever another connection committed since the last
        call on this thread; reading it costs no transaction, so it may be polled often.
        Only a change is meaningful, not the value."""
        ...


class PaperStore(Protocol):
    """The ``papers`` table of the ``paper_fetch`` job type.

    One row per paper, keyed by its arXiv id without the version. Storing a paper
    again is an upsert: a paper not yet stored is inserted (``first_seen_at`` =
    ``last_seen_at`` = now, ``job_id`` the job that found it; not a foreign key, so
    purging the job keeps its papers); a newer version replaces every descriptive
    column and counts as updated; the same (or an older) version only refreshes
    ``last_seen_at`` and fills in a DOI, journal reference or comment added since.
    """

    def upsert_papers(
        self, papers: Iterable[Paper], job_id: str | None, now: datetime
    ) -> UpsertResult:
        """Store ``papers`` in one transaction; return how many were new and how many
        updated. Safe against a concurrent job storing the same paper: a race can only
        turn an insert into an update or a no-op."""
        ...

    def list_papers(
        self, search: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[StoredPaper]:
        """Stored papers, newest publication first. ``search`` matches (case-
        insensitively, as a plain substring) the title, abstract, authors or arXiv id;
        ``since`` keeps papers published at or after that instant."""
        ...

    def get_paper(self, arxiv_id: str) -> StoredPaper | None:
        """The stored paper with this id (without version), or None."""
        ...

    def last_success_started_at(self, job_id: str) -> datetime | None:
        """When the latest successful execution of ``job_id`` started, or None."""
        ...


class MaintenanceStore(Protocol):
    """Housekeeping of dbcron's own tables: pruning history, optimising the database.

    Pruning deletes in small batches, each in its own short transaction, so that
    schedulers sharing the database are never locked out for long.
    """

    def prune_executions(
        self,
        *,
        retention_days: float = 30,
        keep_last: int = 100,
        batch_size: int = 500,
        now: datetime | None = None,
        should_stop: Callable[[], bool] | None = None,
        pause_seconds: float = 0.005,
    ) -> PruneResult:
        """Delete finished executions that are both old and beyond each job's newest.

        A row is kept when fewer than ``keep_last`` executions of its job were created
        after it (rows created at the same instant as it do not count, so ties are
        kept) *or* when it was created less than ``retention_days`` ago (before ``now``,
        the store's clock by default); ``pending`` and ``running`` executions are never
        deleted. The history is walked oldest first through the time index in slices of
        at most ``batch_size`` rows, each slice one short transaction that starts after
        the previous one (no batch re-reads what another looked at), ``pause_seconds``
        apart; ``should_stop`` is asked before every slice and stops the pruning early,
        keeping what was already deleted. Raises ValueError for a ``batch_size`` below 1.
        """
        ...

    def prune_nodes(self, *, retention_days: float = 30, now: datetime | None = None) -> int:
        """Delete ``scheduler_nodes`` rows of schedulers stopped more than
        ``retention_days`` ago; return how many. Running (or dead but never stopped)
        nodes stay."""
        ...

    def optimize(self) -> OptimizeResult:
        """Optimise the database after pruning and measure the space given back
        (SQLite: ``PRAGMA optimize`` and ``incremental_vacuum``; PostgreSQL: ``VACUUM
        (ANALYZE)`` outside any transaction). Its notes say in plain words what could
        not be done."""
        ...


@dataclass(frozen=True, slots=True)
class StoreCapabilities:
    """What a store can do beyond :class:`Store`: each field is None when it cannot."""

    change_feed: ChangeFeed | None = None
    """Push wake-ups (PostgreSQL); without it, poll."""
    commit_counter: CommitCounter | None = None
    """Cheap polling for other connections' commits (SQLite)."""
    papers: PaperStore | None = None
    """The ``papers`` table."""
    maintenance: MaintenanceStore | None = None
    """Pruning and optimising dbcron's tables."""
    diagnostics: Diagnostics | None = None
    """What ``dbcron doctor`` asks about the database (:mod:`dbcron.store.diagnostics`)."""


class Store(Protocol):
    """A database that holds jobs, executions and scheduler nodes."""

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def display_url(self) -> str:
        """The database URL with any password replaced by ``***``."""
        ...

    def capabilities(self) -> StoreCapabilities:
        """What this store can do beyond this protocol (the same answer every call)."""
        ...

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, in order; return the versions applied.

        Idempotent and safe to run while schedulers use the database and while another
        process migrates at the same time (the migrations are serialised by a lock and
        each is applied in its own transaction together with its version row).
        """
        ...

    def schema_version(self) -> int:
        """The highest applied migration version, 0 for an empty database."""
        ...

    def latest_version(self) -> int:
        """The highest migration version this release ships."""
        ...

    def insert_job(self, job: Job) -> Job:
        """Insert a new job exactly as given (``version`` is stored as 1); return it.

        Raises ConflictError if a job with the same id exists, or a job that is not
        deleted has the same key.
        """
        ...

    def get_job(self, job_id: str) -> Job | None:
        """The job with exactly this id (deleted ones included), or None."""
        ...

    def find_job_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of jobs (deleted ones included) that start with ``prefix``, sorted, at
        most ``limit``. ``prefix`` must be lower-case hex digits and dashes."""
        ...

    def job_by_key(self, key: str) -> Job | None:
        """The job that is not deleted whose key is ``key``, or None (one lookup in
        ``jobs_key_idx``: keys are unique among the jobs that are not deleted)."""
        ...

    def jobs_named(self, name: str, limit: int = 10) -> list[Job]:
        """Jobs that are not deleted and are called exactly ``name`` (case-sensitive),
        oldest first, at most ``limit`` (one lookup in ``jobs_name_idx``)."""
        ...

    def update_job(
        self,
        job: Job,
        expected_version: int,
        *,
        keep_next_execution: bool = False,
        missed: Sequence[Execution] = (),
    ) -> Job:
        """Write every mutable column of ``job`` if the stored version is still
        ``expected_version``; the stored version becomes ``expected_version + 1``.

        With ``keep_next_execution``, ``next_execution`` and ``last_execution`` keep
        their stored values (which claims move on without changing the version), so an
        update that does not change the timing cannot move them back. ``missed``
        executions (fires the change drops, recorded ``missed``) are inserted in the
        same transaction, each unless its fire is already recorded.

        Returns the stored job. Raises NotFoundError when the job does not exist and
        ConflictError when its version moved on (a concurrent update won) or another job
        that is not deleted has its key.
        """
        ...

    def list_jobs(
        self,
        status: JobStatus | None = None,
        job_type: str | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[Job]:
        """Jobs filtered by status and type, oldest first (then by name, then by id).

        With ``status=None`` every job except ``deleted`` ones is returned. ``limit``
        caps the page; ``after`` (a job id) starts it after that job in this order: a
        keyset read through ``jobs_list_idx``, as fast at the last page as at the first.
        An ``after`` that names no job gives an empty page.
        """
        ...

    def search_jobs(self, query: JobQuery, *, limit: int, after: str | None = None) -> list[Job]:
        """At most ``limit`` jobs that ``query`` selects, in its order (then by id);
        ``after`` (a job id) starts the page after that job in this order (an ``after``
        that names no job gives an empty page). What the REST API's job list reads."""
        ...

    def table_jobs(self, query: JobTableQuery, *, limit: int) -> tuple[list[Job], int]:
        """The first ``limit`` jobs of the dashboard's jobs table that ``query`` selects,
        in its order, and how many it selects in all; one query, whose sort and search
        run in the database (no job outside the page is decoded)."""
        ...

    def count_jobs(
        self,
        status: JobStatus | None = None,
        job_type: str | None = None,
        *,
        after: str | None = None,
    ) -> int:
        """How many jobs :meth:`list_jobs` with the same filters (and ``after``) would
        return without a limit; one ``count`` query."""
        ...

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        """How many jobs there are in each status (statuses without jobs left out)."""
        ...

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """The jobs with these ids (deleted ones included; unknown ids left out), in no
        particular order; one query whatever the number of ids."""
        ...

    def count_jobs_fired_since(self, since: datetime) -> int:
        """How many jobs fired (a claim moved them on) at or after ``since``."""
        ...

    def next_jobs_to_fire(self, limit: int = 10) -> list[Job]:
        """At most ``limit`` active jobs with a next fire, the soonest first (then by id)."""
        ...

    def due_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        """Active jobs whose ``next_execution`` is at or before ``now``, earliest first."""
        ...

    def purge_job(self, job_id: str) -> bool:
        """Remove a job and its whole history for good; False when it did not exist."""
        ...

    def insert_execution(self, execution: Execution) -> Execution:
        """Insert one execution row; return it.

        Raises ConflictError when ``(job_id, scheduled_for, retry_attempt)`` is taken:
        that fire is already recorded.
        """
        ...

    def insert_executions(self, executions: Sequence[Execution]) -> None:
        """Insert many execution rows in one transaction; a fire already recorded
        (the UNIQUE key) is left as it is."""
        ...

    def get_execution(self, execution_id: str) -> Execution | None:
        """The execution with this id, or None."""
        ...

    def cancel_execution(
        self, execution_id: str, now: datetime, message: str
    ) -> tuple[Execution | None, Execution | None]:
        """Cancel a pending or running execution, in one transaction; return the row as
        it was and as it is now, ``(None, None)`` when no execution has this id.

        The row is locked, then, if it is ``pending`` or ``running``, becomes
        ``cancelled`` with ``finished_at = now``, ``message`` as its error, no lease (a
        running one keeps its node and token, so that its node's completion is rejected
        and its node, watching :meth:`not_running_on_node`, stops the run) and, if it
        had started, the time it ran as its duration. No retry is inserted. Other
        schedulers are woken (change notification). A final execution is returned
        unchanged (both items equal).
        """
        ...

    def save_live_logs(self, logs: Sequence[tuple[str, int, str]]) -> None:
        """Store the logs so far of running executions, ``(execution_id, fencing_token,
        logs)`` each, in one transaction; an execution no longer running with that token
        is left as it is (its completion's logs are final). For ``logs --follow``."""
        ...

    def not_running_on_node(
        self, node_id: str, execution_ids: Sequence[str]
    ) -> dict[str, ExecutionStatus]:
        """Of ``execution_ids``, those that are no longer ``running`` on ``node_id``
        (cancelled, or rescued and ended by another node), with their status: the runs
        that node should stop. One read by primary key; ids without a row are left out."""
        ...

    def last_results(self, job_ids: Sequence[str]) -> dict[str, Execution]:
        """The newest ended execution (success, failed, timeout, cancelled) of each of
        these jobs, by job id (jobs that never ran are left out); one query, one walk
        down each job's history index."""
        ...

    def find_execution_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of executions starting with ``prefix`` (lower-case hex digits and
        dashes), in id order, at most ``limit``: a range of the primary key."""
        ...

    def list_executions(
        self,
        job_id: str | None = None,
        status: ExecutionStatus | None = None,
        limit: int = 50,
        *,
        before: str | None = None,
        trigger: Trigger | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Execution]:
        """At most ``limit`` executions, of one job or of all, newest first: by
        ``created_at``, then ``scheduled_for``, ``retry_attempt`` and ``execution_id``, all
        descending. ``before`` (an execution id) starts the page below that execution: a
        keyset that enters ``job_executions_window_idx`` (all jobs) or
        ``job_executions_history_idx`` (one job) at that row, whatever the depth. A
        ``before`` that names no execution gives an empty page. ``trigger`` keeps the
        executions of that trigger kind; ``since`` and ``until`` those created at or after
        ``since`` and before ``until``."""
        ...

    def job_stats(self, since: datetime, job_id: str | None = None) -> JobStats:
        """Counts, mean and p95 (nearest rank) duration of the executions created at or
        after ``since``, of one job or of all jobs.

        One grouped query over the window (plus, on SQLite, one that reads the p95 from
        the top 5% of durations); the window is read through ``job_executions_window_idx``
        (all jobs) or ``job_executions_history_idx`` (one job), never a table scan. The
        durations are those of finished runs (success, failed, timeout); ``runs`` counts
        the executions that started (every one but missed and pending ones).
        """
        ...

    def failing_jobs_stats(self, since: datetime, limit: int = 20) -> list[JobStats]:
        """The window's statistics (as :meth:`job_stats`) of at most ``limit`` jobs with
        failed or timed-out executions created at or after ``since``: the most failures
        and timeouts first, then by id. Jobs without any are not listed.

        A constant number of statements whatever the number of jobs: the failures are
        read from ``job_executions_failures_idx`` (a partial index of failed and
        timed-out rows only), the chosen jobs' statistics from their history index.
        """
        ...

    def count_unfinished(self) -> tuple[int, int]:
        """``(pending, running)``: how many executions wait and run now, whatever their
        age; counted through the engine's partial index, never by loading rows."""
        ...

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, ExecutionStatus, int]]:
        """``(hour, status, count)`` of the executions created at or after ``since``,
        grouped by the UTC hour they were created in (its start, aware UTC) and status,
        oldest hour first; hours and statuses without executions are left out. One
        grouped query over the window index."""
        ...

    def list_nodes(self) -> list[SchedulerNode]:
        """Every recorded scheduler node, most recent heartbeat first."""
        ...

    # -- the engine -------------------------------------------------------------------

    def database_now(self) -> datetime:
        """The clock that due times and leases are compared against: PostgreSQL's own
        clock (so that host clock skew between schedulers cannot double or lose a
        fire), the local clock on SQLite (one host)."""
        ...

    def claim_due(
        self,
        now: datetime,
        planner: Callable[[Job, int], tuple[list[Execution], datetime | None]],
        limit: int = 500,
        *,
        node_id: str | None = None,
        lease_until: datetime | None = None,
        start_limit: int = 0,
        due_before: datetime | None = None,
        outcomes: Sequence[Outcome] = (),
    ) -> ClaimSummary:
        """Turn due schedules into execution rows, in one transaction.

        Locks up to ``limit`` active jobs whose ``next_execution <= now`` (or
        ``<= due_before`` when given: only the jobs overdue since then), earliest first,
        skipping rows another scheduler holds, calls ``planner(job, active_executions)`` for
        each (running executions and pending ones already due: a retry still waiting out its
        delay does not count),
        inserts the executions it returns (pending or missed; a fire already recorded is
        left alone thanks to the UNIQUE key) and moves ``next_execution`` on to what the
        planner says, only if nobody moved it meanwhile.

        With ``node_id``, ``lease_until`` and ``start_limit``, up to ``start_limit`` of
        the new pending executions (one per job with no active execution) are inserted
        already ``running`` on ``node_id`` and returned in ``started``: the claiming node
        runs them without a second transaction. Only rows the claim really inserted are
        returned, so a fire recorded before can never start twice.

        ``outcomes`` are recorded first, in the same transaction, exactly as
        :meth:`complete` records them (the accepted ids are in ``completed``): a
        scheduler finishing one batch and starting the next pays one commit, not two.
        """
        ...

    def acquire(
        self, now: datetime, node_id: str, lease_until: datetime, limit: int
    ) -> list[tuple[Execution, Job]]:
        """Start up to ``limit`` pending executions whose ``run_after <= now``, in one
        transaction: highest priority first, then oldest; never more running executions
        of one job than its ``max_concurrency`` (unless its overlap policy is
        ``allow``). Each becomes ``running`` on ``node_id`` with a lease until
        ``lease_until`` and a new fencing token. Pending executions of deleted jobs are
        cancelled on the way. Returns the started executions with their jobs.

        Never starves: executions of jobs at capacity (or whose row another node holds
        locked) are passed over, so that however long their queue, other jobs'
        runnable executions behind it are started.
        """
        ...

    def complete(self, outcomes: Sequence[Outcome]) -> set[str]:
        """Write how executions ended, in one transaction; return the ids accepted.

        An outcome is accepted only while its execution is still ``running`` with the
        same fencing token (a rescued execution rejects a late completion); an execution
        ends once, so of several outcomes for one execution only the first counts. The
        retry of an accepted outcome is inserted in the same transaction.
        """
        ...

    def extend_leases(
        self, node_id: str, until: datetime, execution_ids: Sequence[str] | None = None
    ) -> int:
        """Extend the lease of the running executions of ``node_id`` (only those among
        ``execution_ids`` when given), in one transaction; return how many."""
        ...

    def rescue_expired(
        self,
        now: datetime,
        retry_for: Callable[[Execution, Job | None], Execution | None],
        limit: int = 500,
        *,
        stale_before: datetime | None = None,
    ) -> list[Execution]:
        """Fail running executions whose lease expired before ``now`` ("node lost"),
        inserting the retry ``retry_for`` returns for each, in one transaction.
        Returns the executions rescued (as they were before).

        With ``stale_before`` (now minus a lease period), an execution whose node
        heartbeat is newer than that and did not stop is left alone until its lease is
        older than ``stale_before`` too: a live node gets a whole lease period to renew
        (after a database outage, say) before its runs are taken. ``retry_for`` gets
        the execution's job as last committed (None only when it was purged); a job
        row another transaction holds locked is read, never taken for a deleted one.
        """
        ...

    def next_wakeup(self) -> datetime | None:
        """The earliest ``next_execution`` of an active job or ``run_after`` of a pending
        execution whose job has room to start it: when the scheduler next has work
        (None when it has none). A pending execution queued behind its job's
        ``max_concurrency`` does not count (the running one's completion wakes the
        schedulers: :meth:`complete` notifies when work is queued behind it)."""
        ...

    def register_node(self, node: SchedulerNode, *, live_after: datetime | None = None) -> bool:
        """Record a scheduler process that starts, in one transaction serialised against
        other registrations. Returns True when, with ``live_after``, no other node that
        has not stopped sent a heartbeat at or after ``live_after``: of several nodes
        registering at the same time exactly one is first (always True without it)."""
        ...

    def heartbeat_node(self, node_id: str, now: datetime) -> None:
        """Record that the scheduler ``node_id`` is alive."""
        ...

    def stop_node(self, node_id: str, now: datetime) -> None:
        """Record that the scheduler ``node_id`` stopped cleanly."""
        ...

    def close(self) -> None:
        """Release every connection. The store cannot be used afterwards."""
        ...
