"""The part of a SQL store that every backend shares.

A backend supplies connections, transactions, error translation and the encoding of
timestamps and JSON; this class supplies every :class:`~dbcron.store.protocol.Store`
method on top of the backend's named queries, so the two backends cannot drift apart
in behaviour, only in SQL dialect.
"""

from __future__ import annotations

import math
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from dbcron.clock import Clock, SystemClock
from dbcron.errors import ConflictError, NotFoundError, ValidationError
from dbcron.models import (
    ClaimSummary,
    Execution,
    ExecutionStatus,
    Job,
    JobStats,
    JobStatus,
    MisfirePolicy,
    Outcome,
    OverlapPolicy,
    RetryBackoff,
    SchedulerNode,
    Trigger,
)
from dbcron.store.protocol import StoreCapabilities
from dbcron.store.sqlfiles import load_migrations, load_queries

_PREFIX = re.compile(r"^[0-9a-f-]{1,36}$")
#: Pages of the queue one acquire reads at most (each skips the jobs found at capacity).
ACQUIRE_PAGES = 32

# Stored state text to enum member: a dict lookup is several times cheaper than calling
# the enum, and rows are decoded on the engine's hot path.
_JOB_STATUS = {m.value: m for m in JobStatus}
_EXECUTION_STATUS = {m.value: m for m in ExecutionStatus}
_TRIGGER = {m.value: m for m in Trigger}
_MISFIRE = {m.value: m for m in MisfirePolicy}
_OVERLAP = {m.value: m for m in OverlapPolicy}
_BACKOFF = {m.value: m for m in RetryBackoff}

Row = Mapping[str, Any]


class Cursor(Protocol):
    """The subset of a DB-API cursor (sqlite3 or psycopg) that the stores use."""

    @property
    def rowcount(self) -> int:
        """Rows touched by the last statement."""
        ...

    def execute(self, query: Any, params: Any = ...) -> Any:
        """Run one statement."""
        ...

    def executemany(self, query: Any, params_seq: Any) -> Any:
        """Run one statement for each parameter set."""
        ...

    def fetchone(self) -> Any:
        """The next row or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...


class SqlStore(ABC):
    """Implements the Store protocol over a backend's named queries."""

    #: ``sqlite`` or ``postgresql``.
    backend: str
    #: Folder name under ``store/sql`` and ``store/migrations``.
    dialect: str

    def __init__(self, clock: Clock | None = None) -> None:
        self._sql = load_queries(self.dialect)
        self.clock: Clock = clock or SystemClock()

    # -- what a backend supplies -------------------------------------------------

    @property
    @abstractmethod
    def display_url(self) -> str:
        """The database URL without its password."""

    @abstractmethod
    def transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction, committed on success and rolled back on
        error; driver errors leave it as dbcron errors. ``write=False`` promises that
        only reads happen (SQLite then takes no write lock)."""

    @abstractmethod
    def _lock_migrations(self, cur: Cursor) -> None:
        """Serialise migrations across processes inside the current transaction."""

    @abstractmethod
    def _encode_ts(self, value: datetime | None) -> Any:
        """A UTC datetime as the backend stores it."""

    @abstractmethod
    def _decode_ts(self, value: Any) -> datetime | None:
        """A stored timestamp as an aware UTC datetime."""

    @abstractmethod
    def _encode_json(self, value: Any) -> Any:
        """A JSON-able value as the backend stores it."""

    @abstractmethod
    def _decode_json(self, value: Any) -> Any:
        """A stored JSON column as Python values."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    @abstractmethod
    def _ids_param(self, ids: Sequence[str]) -> Any:
        """A list of ids as the backend binds it (JSON text on SQLite, an array on PG)."""

    @abstractmethod
    def _notify(self, cur: Cursor) -> None:
        """Tell listening schedulers, in the current transaction, that something changed."""

    @abstractmethod
    def capabilities(self) -> StoreCapabilities:
        """See :meth:`Store.capabilities`."""

    # -- helpers -------------------------------------------------------------------

    def sql(self, name: str) -> str:
        """The backend's query called ``name``."""
        return self._sql[name]

    # The backend's encodings, for the modules that keep a capability's table
    # (``papers.py``, ``maintenance.py``) with the backend's named queries.

    def encode_ts(self, value: datetime | None) -> Any:
        """A UTC datetime (or None) as the backend binds it."""
        return self._encode_ts(value)

    def decode_ts(self, value: Any) -> datetime | None:
        """A stored timestamp as an aware UTC datetime (or None)."""
        return self._decode_ts(value)

    def encode_json(self, value: Any) -> Any:
        """A JSON-able value as the backend binds it."""
        return self._encode_json(value)

    def decode_json(self, value: Any) -> Any:
        """A stored JSON column as Python values."""
        return self._decode_json(value)

    def _fetchall(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        with self.transaction(write=False) as cur:
            cur.execute(self.sql(name), params)
            rows: list[Row] = cur.fetchall()
            return rows

    def _fetchone(self, name: str, params: Mapping[str, Any]) -> Row | None:
        with self.transaction(write=False) as cur:
            cur.execute(self.sql(name), params)
            row: Row | None = cur.fetchone()
            return row

    # -- schema --------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """See :meth:`Store.migrate`."""
        applied: list[int] = []
        for version, name, sql in load_migrations(self.dialect):
            if self._apply_migration(version, name, sql):
                applied.append(version)
        return applied

    def latest_version(self) -> int:
        """See :meth:`Store.latest_version`."""
        return len(load_migrations(self.dialect))

    def schema_version(self) -> int:
        """See :meth:`Store.schema_version`."""
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("has_version_table"), {})
            if cur.fetchone()["n"] == 0:
                return 0
            cur.execute(self.sql("max_version"), {})
            return int(cur.fetchone()["version"])

    def _apply_migration(self, version: int, name: str, sql: str) -> bool:
        """Apply one migration and record it, atomically, unless it is already recorded;
        serialised against other processes. True when it was applied."""
        with self.transaction() as cur:
            self._lock_migrations(cur)
            cur.execute(self.sql("create_version_table"), {})
            cur.execute(self.sql("is_version_applied"), {"version": version})
            if cur.fetchone()["n"]:
                return False
            for statement in split_statements(sql):
                cur.execute(statement)
            cur.execute(
                self.sql("record_version"),
                {"version": version, "name": name, "applied_at": self._encode_ts(self.clock.now())},
            )
            return True

    # -- jobs ----------------------------------------------------------------------

    def _job_params(self, job: Job) -> dict[str, Any]:
        return {
            "job_id": job.job_id,
            "name": job.name,
            "job_type": job.job_type,
            "schedule_expression": job.schedule_expression,
            "config": self._encode_json(job.config),
            "status": job.status.value,
            "description": job.description,
            "timeout_seconds": job.timeout_seconds,
            "retry_count": job.retry_count,
            "retry_delay_seconds": job.retry_delay_seconds,
            "created_at": self._encode_ts(job.created_at),
            "updated_at": self._encode_ts(job.updated_at),
            "last_execution": self._encode_ts(job.last_execution),
            "next_execution": self._encode_ts(job.next_execution),
            "timezone": job.timezone,
            "misfire_policy": job.misfire_policy.value,
            "catchup_window_seconds": job.catchup_window_seconds,
            "max_concurrency": job.max_concurrency,
            "overlap_policy": job.overlap_policy.value,
            "priority": job.priority,
            "retry_backoff": job.retry_backoff.value,
            "version": job.version,
        }

    def _job(self, row: Row) -> Job:
        ts = self._decode_ts
        return Job(
            job_id=row["job_id"],
            name=row["name"],
            job_type=row["job_type"],
            schedule_expression=row["schedule_expression"],
            config=self._decode_json(row["config"]),
            status=_JOB_STATUS[row["status"]],
            description=row["description"],
            timeout_seconds=row["timeout_seconds"],
            retry_count=row["retry_count"],
            retry_delay_seconds=row["retry_delay_seconds"],
            created_at=ts(row["created_at"]),
            updated_at=ts(row["updated_at"]),
            last_execution=ts(row["last_execution"]),
            next_execution=ts(row["next_execution"]),
            timezone=row["timezone"],
            misfire_policy=_MISFIRE[row["misfire_policy"]],
            catchup_window_seconds=row["catchup_window_seconds"],
            max_concurrency=row["max_concurrency"],
            overlap_policy=_OVERLAP[row["overlap_policy"]],
            priority=row["priority"],
            retry_backoff=_BACKOFF[row["retry_backoff"]],
            version=row["version"],
        )

    def insert_job(self, job: Job) -> Job:
        """See :meth:`Store.insert_job`."""
        stored = job.with_changes(version=1)
        try:
            with self.transaction() as cur:
                cur.execute(self.sql("insert_job"), self._job_params(stored))
                self._notify(cur)
        except ConflictError as exc:
            raise ConflictError(f"a job with id {job.job_id} already exists") from exc
        return stored

    def get_job(self, job_id: str) -> Job | None:
        """See :meth:`Store.get_job`."""
        row = self._fetchone("get_job", {"job_id": job_id})
        return None if row is None else self._job(row)

    def find_job_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """See :meth:`Store.find_job_ids`."""
        if not _PREFIX.match(prefix):
            raise ValidationError(
                f"invalid job id {prefix!r}: ids are hex digits and dashes (a UUID or its prefix)"
            )
        rows = self._fetchall("find_job_ids", {"prefix": prefix + "%", "limit": limit})
        return [row["job_id"] for row in rows]

    def update_job(
        self,
        job: Job,
        expected_version: int,
        *,
        keep_next_execution: bool = False,
        missed: Sequence[Execution] = (),
    ) -> Job:
        """See :meth:`Store.update_job`."""
        stored = job.with_changes(version=expected_version + 1)
        params = self._job_params(stored)
        params["expected_version"] = expected_version
        params["keep_next"] = keep_next_execution
        with self.transaction() as cur:
            cur.execute(self.sql("update_job"), params)
            if cur.rowcount == 1:
                if missed:
                    cur.executemany(
                        self.sql("insert_execution_if_new"),
                        [self._execution_params(e) for e in missed],
                    )
                self._notify(cur)
                if not keep_next_execution:
                    return stored
                cur.execute(self.sql("get_job"), {"job_id": job.job_id})
                return self._job(cur.fetchone())
            cur.execute(self.sql("get_job_version"), {"job_id": job.job_id})
            row = cur.fetchone()
        if row is None:
            raise NotFoundError(f"no job with id {job.job_id}")
        raise ConflictError(
            f"job {job.job_id} was changed by someone else (version {row['version']}, "
            f"expected {expected_version}); read it again and retry"
        )

    def list_jobs(self, status: JobStatus | None = None, job_type: str | None = None) -> list[Job]:
        """See :meth:`Store.list_jobs`."""
        params = {"status": status.value if status else None, "job_type": job_type}
        return [self._job(row) for row in self._fetchall("list_jobs", params)]

    def due_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        """See :meth:`Store.due_jobs`."""
        rows = self._fetchall("due_jobs", {"now": self._encode_ts(now), "limit": limit})
        return [self._job(row) for row in rows]

    def purge_job(self, job_id: str) -> bool:
        """See :meth:`Store.purge_job`."""
        with self.transaction() as cur:
            cur.execute(self.sql("purge_job_executions"), {"job_id": job_id})
            cur.execute(self.sql("purge_job"), {"job_id": job_id})
            return cur.rowcount == 1

    # -- executions ----------------------------------------------------------------

    def _execution_params(self, execution: Execution) -> dict[str, Any]:
        return {
            "execution_id": execution.execution_id,
            "job_id": execution.job_id,
            "status": execution.status.value,
            "started_at": self._encode_ts(execution.started_at),
            "finished_at": self._encode_ts(execution.finished_at),
            "duration_seconds": execution.duration_seconds,
            "result": None if execution.result is None else self._encode_json(execution.result),
            "error_message": execution.error_message,
            "retry_attempt": execution.retry_attempt,
            "logs": execution.logs,
            "created_at": self._encode_ts(execution.created_at),
            "scheduled_for": self._encode_ts(execution.scheduled_for),
            "trigger": execution.trigger.value,
            "run_after": self._encode_ts(execution.run_after or execution.scheduled_for),
            "node_id": execution.node_id,
            "lease_expires_at": self._encode_ts(execution.lease_expires_at),
            "fencing_token": execution.fencing_token,
            "priority": execution.priority,
        }

    def _execution(self, row: Row) -> Execution:
        ts = self._decode_ts
        scheduled_for = ts(row["scheduled_for"])
        assert scheduled_for is not None
        result = row["result"]
        return Execution(
            execution_id=row["execution_id"],
            job_id=row["job_id"],
            status=_EXECUTION_STATUS[row["status"]],
            started_at=ts(row["started_at"]),
            finished_at=ts(row["finished_at"]),
            duration_seconds=row["duration_seconds"],
            result=None if result is None else self._decode_json(result),
            error_message=row["error_message"],
            retry_attempt=row["retry_attempt"],
            logs=row["logs"],
            created_at=ts(row["created_at"]),
            scheduled_for=scheduled_for,
            trigger=_TRIGGER[row["trigger"]],
            run_after=ts(row["run_after"]),
            node_id=row["node_id"],
            lease_expires_at=ts(row["lease_expires_at"]),
            fencing_token=row["fencing_token"],
            priority=row["priority"],
        )

    def insert_execution(self, execution: Execution) -> Execution:
        """See :meth:`Store.insert_execution`."""
        if execution.run_after is None:
            execution = execution.with_changes(run_after=execution.scheduled_for)
        try:
            with self.transaction() as cur:
                cur.execute(self.sql("insert_execution"), self._execution_params(execution))
                self._notify(cur)
        except ConflictError as exc:
            raise ConflictError(
                f"job {execution.job_id} already has an execution for "
                f"{execution.scheduled_for.isoformat()} attempt {execution.retry_attempt}"
            ) from exc
        return execution

    def insert_executions(self, executions: Sequence[Execution]) -> None:
        """See :meth:`Store.insert_executions`."""
        if not executions:
            return
        with self.transaction() as cur:
            cur.executemany(
                self.sql("insert_execution_if_new"),
                [self._execution_params(e) for e in executions],  # run_after defaults there
            )
            self._notify(cur)

    def get_execution(self, execution_id: str) -> Execution | None:
        """See :meth:`Store.get_execution`."""
        row = self._fetchone("get_execution", {"execution_id": execution_id})
        return None if row is None else self._execution(row)

    def list_executions(
        self,
        job_id: str | None = None,
        status: ExecutionStatus | None = None,
        limit: int = 50,
    ) -> list[Execution]:
        """See :meth:`Store.list_executions`."""
        params = {"job_id": job_id, "status": status.value if status else None, "limit": limit}
        return [self._execution(row) for row in self._fetchall("list_executions", params)]

    def job_stats(self, since: datetime, job_id: str | None = None) -> JobStats:
        """See :meth:`Store.job_stats`."""
        params = {"since": self._encode_ts(since), "job_id": job_id}
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("execution_counts"), params)
            counts = {row["status"]: row["n"] for row in cur.fetchall()}
            cur.execute(self.sql("execution_durations"), params)
            durations = sorted(float(row["duration_seconds"]) for row in cur.fetchall())
        return JobStats(
            job_id=job_id,
            runs=sum(n for status, n in counts.items() if status not in ("missed",)),
            success=counts.get("success", 0),
            failed=counts.get("failed", 0),
            timeout=counts.get("timeout", 0),
            missed=counts.get("missed", 0),
            running=counts.get("running", 0),
            pending=counts.get("pending", 0),
            mean_duration=sum(durations) / len(durations) if durations else None,
            p95_duration=_percentile(durations, 0.95),
        )

    # -- nodes ---------------------------------------------------------------------

    def list_nodes(self) -> list[SchedulerNode]:
        """See :meth:`Store.list_nodes`."""
        nodes = []
        for row in self._fetchall("list_nodes", {}):
            started, beat = (
                self._decode_ts(row["started_at"]),
                self._decode_ts(row["last_heartbeat"]),
            )
            assert started is not None and beat is not None
            nodes.append(
                SchedulerNode(
                    node_id=row["node_id"],
                    host=row["host"],
                    pid=row["pid"],
                    version=row["version"],
                    started_at=started,
                    last_heartbeat=beat,
                    stopped_at=self._decode_ts(row["stopped_at"]),
                )
            )
        return nodes

    # -- the engine ---------------------------------------------------------------

    def database_now(self) -> datetime:
        """See :meth:`Store.database_now`; the local clock unless the backend has one."""
        return self.clock.now()

    # Batch writes of the engine. These defaults run one statement per row through
    # ``executemany`` (cheap on SQLite, where there is no round trip); a backend may
    # override them with set-based statements.

    def _before_queue_read(self, cur: Cursor) -> None:
        """Prepare the transaction for reading the queue in its index order (nothing
        to do unless the backend's planner needs telling)."""
        return

    def _insert_new_executions(
        self, cur: Cursor, executions: Sequence[Execution], *, want_ids: bool
    ) -> set[str]:
        """Insert ``executions`` (a fire already recorded is skipped, never an error);
        with ``want_ids``, return the ids really inserted (else an empty set)."""
        cur.executemany(
            self.sql("insert_execution_if_new"), [self._execution_params(e) for e in executions]
        )
        if not want_ids:
            return set()
        if cur.rowcount == len(executions):  # all went in: nothing to look up
            return {e.execution_id for e in executions}
        cur.execute(
            self.sql("existing_executions"),
            {"ids": self._ids_param([e.execution_id for e in executions])},
        )
        # Execution ids are new, so an id present now was inserted just now.
        return {row["execution_id"] for row in cur.fetchall()}

    def _advance_jobs(self, cur: Cursor, advances: list[tuple[str, Any, Any, Any]]) -> None:
        """Move each claimed job on: ``(job_id, next_execution, previous, last_fire)``,
        applied only where ``next_execution`` still equals ``previous``."""
        cur.executemany(
            self.sql("advance_job"),
            [
                {"job_id": j, "next_execution": n, "previous": p, "last_fire": f}
                for j, n, p, f in advances
            ],
        )

    def _start_pending(
        self,
        cur: Cursor,
        chosen: Sequence[Execution],
        now: datetime,
        node_id: str,
        lease_until: datetime,
    ) -> None:
        """Mark the locked pending executions ``chosen`` running on ``node_id``, each with
        its fencing token + 1."""
        stamp, lease = self._encode_ts(now), self._encode_ts(lease_until)
        cur.executemany(
            self.sql("start_execution_at"),
            [
                {
                    "execution_id": e.execution_id,
                    "now": stamp,
                    "node_id": node_id,
                    "lease_expires_at": lease,
                    "fencing_token": e.fencing_token + 1,
                }
                for e in chosen
            ],
        )

    def _finish_running(self, cur: Cursor, outcomes: Sequence[Outcome]) -> set[str]:
        """Record the outcomes whose execution is still running with the outcome's
        fencing token; return their ids (the others are rejected)."""
        cur.execute(
            self.sql("running_tokens"),
            {"ids": self._ids_param([o.execution_id for o in outcomes])},
        )
        tokens = {row["execution_id"]: row["fencing_token"] for row in cur.fetchall()}
        accepted = [o for o in outcomes if tokens.get(o.execution_id) == o.fencing_token]
        ts, js = self._encode_ts, self._encode_json
        cur.executemany(
            self.sql("finish_running"),
            [
                {
                    "execution_id": o.execution_id,
                    "fencing_token": o.fencing_token,
                    "status": o.status.value,
                    "finished_at": ts(o.finished_at),
                    "duration_seconds": o.duration_seconds,
                    "result": None if o.result is None else js(o.result),
                    "error_message": o.error_message,
                    "logs": o.logs,
                }
                for o in accepted
            ],
        )
        return {o.execution_id for o in accepted}

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
        """See :meth:`Store.claim_due`."""
        can_start = node_id is not None and lease_until is not None
        due = now if due_before is None else min(now, due_before)
        with self.transaction() as cur:
            completed = frozenset(self._record_outcomes(cur, outcomes)) if outcomes else frozenset()
            cur.execute(self.sql("lock_due_jobs"), {"now": self._encode_ts(due), "limit": limit})
            jobs = [self._job(row) for row in cur.fetchall()]
            if not jobs:
                return ClaimSummary(0, 0, 0, completed=completed)
            cur.execute(
                self.sql("active_counts"),
                {"ids": self._ids_param([j.job_id for j in jobs]), "now": self._encode_ts(now)},
            )
            active = {row["job_id"]: int(row["n"]) for row in cur.fetchall()}
            inserts: list[Execution] = []
            starts: list[tuple[Execution, Job]] = []
            advances: list[tuple[str, Any, Any, Any]] = []
            pending = missed = 0
            ts = self._encode_ts
            for job in jobs:
                executions, next_execution = planner(job, active.get(job.job_id, 0))
                last_fire = None
                for execution in executions:
                    if execution.status is ExecutionStatus.PENDING:
                        pending += 1
                        last_fire = execution.scheduled_for
                        if can_start and len(starts) < start_limit and job.job_id not in active:
                            # Start it here and now: one transaction instead of two.
                            assert node_id is not None and lease_until is not None
                            active[job.job_id] = 1
                            starts.append(
                                (_as_started(execution, now, node_id, lease_until, 1), job)
                            )
                            continue
                    else:
                        missed += 1
                    inserts.append(execution)
                advances.append(
                    (job.job_id, ts(next_execution), ts(job.next_execution), ts(last_fire))
                )
            if inserts:
                self._insert_new_executions(cur, inserts, want_ids=False)
                if pending > len(starts):
                    # Pending work this node will not start now: wake the other nodes.
                    self._notify(cur)
            started: tuple[tuple[Execution, Job], ...] = ()
            if starts:
                # Only a row that this claim really inserted may run: a fire already
                # recorded (the UNIQUE key) must never start a second time.
                inserted = self._insert_new_executions(cur, [e for e, _ in starts], want_ids=True)
                started = tuple((e, j) for e, j in starts if e.execution_id in inserted)
            self._advance_jobs(cur, advances)
            return ClaimSummary(len(jobs), pending, missed, started, completed)

    def acquire(
        self, now: datetime, node_id: str, lease_until: datetime, limit: int
    ) -> list[tuple[Execution, Job]]:
        """See :meth:`Store.acquire`."""
        if limit <= 0:
            return []
        with self.transaction() as cur:
            self._before_queue_read(cur)
            chosen, cancelled = self._choose_runnable(cur, now, limit)
            if cancelled:
                cur.executemany(self.sql("cancel_execution"), cancelled)
            if not chosen:
                return []
            # The rows are locked (or, on SQLite, the whole database is): the tokens read
            # above are current, and every update below applies.
            self._start_pending(cur, [e for e, _ in chosen], now, node_id, lease_until)
            return [
                (_as_started(e, now, node_id, lease_until, e.fencing_token + 1), job)
                for e, job in chosen
            ]

    def _choose_runnable(
        self, cur: Cursor, now: datetime, limit: int
    ) -> tuple[list[tuple[Execution, Job]], list[dict[str, Any]]]:
        """Up to ``limit`` runnable pending executions in queue order, within each job's
        concurrency, and the cancellations of deleted jobs' ones met on the way.

        The queue is read in pages; a job found at capacity (or whose row another node
        holds locked) is left out of the following pages, so that a long queue of busy
        jobs can delay other jobs' work by at most ACQUIRE_PAGES pages, never forever.
        """
        chosen: list[tuple[Execution, Job]] = []
        cancelled: list[dict[str, Any]] = []
        jobs: dict[str, Job | None] = {}
        running: dict[str, int] = {}
        skip_jobs: set[str] = set()
        seen: list[str] = []
        page = limit + 16
        for _ in range(ACQUIRE_PAGES):
            cur.execute(
                self.sql("lock_runnable"),
                {
                    "now": self._encode_ts(now),
                    "limit": page,
                    "skip_jobs": self._ids_param(sorted(skip_jobs)),
                    "skip_ids": self._ids_param(seen),
                },
            )
            candidates = [self._execution(row) for row in cur.fetchall()]
            seen += [e.execution_id for e in candidates]
            self._read_jobs(cur, {e.job_id for e in candidates} - jobs.keys(), jobs, running)
            for execution in candidates:
                job = jobs.get(execution.job_id)
                if job is None:  # its job row is locked by a claim right now: next round
                    skip_jobs.add(execution.job_id)
                    continue
                if job.status is JobStatus.DELETED:
                    cancelled.append(
                        {
                            "execution_id": execution.execution_id,
                            "now": self._encode_ts(now),
                            "reason": "cancelled: the job was deleted",
                        }
                    )
                    continue
                count = running.get(job.job_id, 0)
                if job.overlap_policy is not OverlapPolicy.ALLOW and count >= job.max_concurrency:
                    skip_jobs.add(job.job_id)
                    continue
                running[job.job_id] = count + 1
                chosen.append((execution, job))
                if len(chosen) >= limit:
                    return chosen, cancelled
            if len(candidates) < page:
                break
        return chosen, cancelled

    def _read_jobs(
        self,
        cur: Cursor,
        job_ids: set[str],
        jobs: dict[str, Job | None],
        running: dict[str, int],
    ) -> None:
        """Lock and read the jobs ``job_ids`` into ``jobs`` (None for a row another
        node holds locked) and their running counts into ``running``."""
        if not job_ids:
            return
        ids = self._ids_param(sorted(job_ids))
        cur.execute(self.sql("jobs_by_ids"), {"ids": ids})
        jobs.update(dict.fromkeys(job_ids))
        jobs.update({row["job_id"]: self._job(row) for row in cur.fetchall()})
        cur.execute(self.sql("running_counts"), {"ids": ids})
        running.update({row["job_id"]: int(row["n"]) for row in cur.fetchall()})

    def complete(self, outcomes: Sequence[Outcome]) -> set[str]:
        """See :meth:`Store.complete`."""
        if not outcomes:
            return set()
        with self.transaction() as cur:
            return self._record_outcomes(cur, outcomes)

    def _record_outcomes(self, cur: Cursor, outcomes: Sequence[Outcome]) -> set[str]:
        """:meth:`complete` inside the caller's transaction. An execution ends once: of
        several outcomes for one execution in a batch, only the first is considered."""
        firsts: dict[str, Outcome] = {}
        for outcome in outcomes:
            firsts.setdefault(outcome.execution_id, outcome)
        outcomes = list(firsts.values())
        accepted = self._finish_running(cur, outcomes)
        retries = [o.retry for o in outcomes if o.retry is not None and o.execution_id in accepted]
        if retries:
            self._insert_new_executions(cur, retries, want_ids=False)
            self._notify(cur)
        elif accepted:
            # A finished run may free its job's slot for work queued behind it: wake the
            # other schedulers too (this one dispatches after recording its completions).
            done_jobs = sorted({o.job_id for o in outcomes if o.execution_id in accepted})
            cur.execute(self.sql("queued_of_jobs"), {"ids": self._ids_param(done_jobs)})
            if cur.fetchone() is not None:
                self._notify(cur)
        return accepted

    def extend_leases(
        self, node_id: str, until: datetime, execution_ids: Sequence[str] | None = None
    ) -> int:
        """See :meth:`Store.extend_leases`."""
        params = {"node_id": node_id, "until": self._encode_ts(until)}
        with self.transaction() as cur:
            if execution_ids is None:
                cur.execute(self.sql("extend_leases"), params)
            else:
                params["ids"] = self._ids_param(list(execution_ids))
                cur.execute(self.sql("extend_leases_of"), params)
            return max(cur.rowcount, 0)

    def rescue_expired(
        self,
        now: datetime,
        retry_for: Callable[[Execution, Job | None], Execution | None],
        limit: int = 500,
        *,
        stale_before: datetime | None = None,
    ) -> list[Execution]:
        """See :meth:`Store.rescue_expired`."""
        with self.transaction() as cur:
            cur.execute(
                self.sql("lock_expired"),
                {
                    "now": self._encode_ts(now),
                    "stale_before": self._encode_ts(stale_before or now),
                    "limit": limit,
                },
            )
            expired = [self._execution(row) for row in cur.fetchall()]
            if not expired:
                return []
            cur.execute(
                self.sql("jobs_by_ids_unlocked"),
                {"ids": self._ids_param(sorted({e.job_id for e in expired}))},
            )
            jobs = {row["job_id"]: self._job(row) for row in cur.fetchall()}
            outcomes = []
            for e in expired:
                lease = e.lease_expires_at.isoformat() if e.lease_expires_at else "?"
                outcomes.append(
                    Outcome(
                        execution_id=e.execution_id,
                        job_id=e.job_id,
                        fencing_token=e.fencing_token,
                        status=ExecutionStatus.FAILED,
                        finished_at=now,
                        duration_seconds=(
                            (now - e.started_at).total_seconds() if e.started_at else None
                        ),
                        error_message=(
                            f"node lost: scheduler {e.node_id} stopped renewing the lease "
                            f"(expired {lease})"
                        ),
                        logs=e.logs,
                        retry=retry_for(e, jobs.get(e.job_id)),
                    )
                )
            # The rows are locked and still running with these tokens: all are accepted.
            self._record_outcomes(cur, outcomes)
            return expired

    def next_wakeup(self) -> datetime | None:
        """See :meth:`Store.next_wakeup`."""
        row = self._fetchone("next_wakeup", {})
        if row is None:
            return None
        times = [self._decode_ts(row["next_fire"]), self._decode_ts(row["next_run"])]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def register_node(self, node: SchedulerNode, *, live_after: datetime | None = None) -> bool:
        """See :meth:`Store.register_node`."""
        with self.transaction() as cur:
            cur.execute(self.sql("node_lock"), {})
            first = True
            if live_after is not None:
                cur.execute(
                    self.sql("other_live_nodes"),
                    {"node_id": node.node_id, "live_after": self._encode_ts(live_after)},
                )
                first = int(cur.fetchone()["n"]) == 0
            cur.execute(
                self.sql("register_node"),
                {
                    "node_id": node.node_id,
                    "host": node.host,
                    "pid": node.pid,
                    "version": node.version,
                    "started_at": self._encode_ts(node.started_at),
                    "last_heartbeat": self._encode_ts(node.last_heartbeat),
                },
            )
            return first

    def heartbeat_node(self, node_id: str, now: datetime) -> None:
        """See :meth:`Store.heartbeat_node`."""
        with self.transaction() as cur:
            cur.execute(
                self.sql("heartbeat_node"), {"node_id": node_id, "now": self._encode_ts(now)}
            )

    def stop_node(self, node_id: str, now: datetime) -> None:
        """See :meth:`Store.stop_node`."""
        with self.transaction() as cur:
            cur.execute(self.sql("stop_node"), {"node_id": node_id, "now": self._encode_ts(now)})


def remembered(
    memo: dict[datetime, str], value: datetime, encode: Callable[[datetime], str]
) -> str:
    """``encode(value)``, remembered in ``memo`` (emptied when it holds 4,096 entries).

    The engine encodes the same few instants (now, a lease, a shared fire time) thousands
    of times a second; an instant's text does not depend on its zone, so equal instants
    may share an entry.
    """
    known = memo.get(value)
    if known is not None:
        return known
    text = encode(value)
    if len(memo) >= 4096:
        memo.clear()
    memo[value] = text
    return text


def _as_started(
    execution: Execution, now: datetime, node_id: str, lease_until: datetime, token: int
) -> Execution:
    """``execution`` as it is once started on ``node_id`` (built directly: it is made for
    every execution, and ``dataclasses.replace`` costs twice as much)."""
    return Execution(
        job_id=execution.job_id,
        scheduled_for=execution.scheduled_for,
        status=ExecutionStatus.RUNNING,
        trigger=execution.trigger,
        execution_id=execution.execution_id,
        started_at=now,
        error_message=execution.error_message,
        retry_attempt=execution.retry_attempt,
        logs=execution.logs,
        created_at=execution.created_at,
        run_after=execution.run_after,
        node_id=node_id,
        lease_expires_at=lease_until,
        fencing_token=token,
        priority=execution.priority,
    )


def _percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def split_statements(script: str) -> Iterator[str]:
    """Split a plain SQL script into statements (no procedural bodies allowed)."""
    buffer: list[str] = []
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer.append(line)
        text = "".join(buffer)
        if sqlite3.complete_statement(text):
            yield text.strip()
            buffer = []
    rest = "".join(buffer).strip()
    if rest:
        yield rest
