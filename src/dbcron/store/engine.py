"""The engine's transactions (design.md section 4): claim due fires, acquire pending work,
complete by fencing token, extend leases, rescue expired ones, the next wake-up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from dbcron.models import (
    ClaimSummary,
    Execution,
    ExecutionStatus,
    Job,
    JobStatus,
    Outcome,
    OverlapPolicy,
)
from dbcron.store.backend import Cursor
from dbcron.store.nodes import SqlNodes

#: Pages of the queue one acquire reads at most (each skips the jobs found at capacity).
ACQUIRE_PAGES = 32


class SqlEngine(SqlNodes):
    """The engine's operations of a SQL store."""

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
