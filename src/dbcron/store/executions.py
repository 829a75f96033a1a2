"""Execution rows: insert, read, list, and the statistics of a time window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dbcron.errors import ConflictError
from dbcron.models import (
    Execution,
    ExecutionStatus,
    JobStats,
    Trigger,
)
from dbcron.store.backend import _EXECUTION_STATUS, _TRIGGER, Row, SqlBackend


class SqlExecutions(SqlBackend):
    """The execution operations of a SQL store (other than the engine's)."""

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

    def find_execution_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """See :meth:`Store.find_execution_ids`."""
        high = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "~"
        rows = self._fetchall("find_execution_ids", {"low": prefix, "high": high, "limit": limit})
        return [row["execution_id"] for row in rows]

    def cancel_execution(
        self, execution_id: str, now: datetime, message: str
    ) -> tuple[Execution | None, Execution | None]:
        """See :meth:`Store.cancel_execution`."""
        with self.transaction() as cur:
            cur.execute(self.sql("lock_execution"), {"execution_id": execution_id})
            row = cur.fetchone()
            if row is None:
                return None, None
            before = self._execution(row)
            if before.status not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
                return before, before
            duration = None
            if before.started_at is not None:
                duration = round(max(0.0, (now - before.started_at).total_seconds()), 6)
            cur.execute(
                self.sql("cancel_unfinished"),
                {
                    "execution_id": execution_id,
                    "status": before.status.value,
                    "finished_at": self._encode_ts(now),
                    "duration_seconds": duration,
                    "error_message": message,
                },
            )
            self._notify(cur)
        after = before.with_changes(
            status=ExecutionStatus.CANCELLED,
            finished_at=now,
            duration_seconds=duration,
            error_message=message,
            lease_expires_at=None,
        )
        return before, after

    def save_live_logs(self, logs: Sequence[tuple[str, int, str]]) -> None:
        """See :meth:`Store.save_live_logs`."""
        if not logs:
            return
        rows = [
            {"execution_id": e, "fencing_token": token, "logs": _storable(text)}
            for e, token, text in logs
        ]
        with self.transaction() as cur:
            cur.executemany(self.sql("save_live_logs"), rows)

    def not_running_on_node(
        self, node_id: str, execution_ids: Sequence[str]
    ) -> dict[str, ExecutionStatus]:
        """See :meth:`Store.not_running_on_node`."""
        if not execution_ids:
            return {}
        rows = self._fetchall(
            "not_running_on_node",
            {"node_id": node_id, "ids": self._ids_param(list(execution_ids))},
        )
        return {row["execution_id"]: _EXECUTION_STATUS[row["status"]] for row in rows}

    def last_results(self, job_ids: Sequence[str]) -> dict[str, Execution]:
        """See :meth:`Store.last_results`."""
        if not job_ids:
            return {}
        rows = self._fetchall("last_results", {"ids": self._ids_param(list(job_ids))})
        return {row["job_id"]: self._execution(row) for row in rows}

    def get_execution(self, execution_id: str) -> Execution | None:
        """See :meth:`Store.get_execution`."""
        row = self._fetchone("get_execution", {"execution_id": execution_id})
        return None if row is None else self._execution(row)

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
        """See :meth:`Store.list_executions`."""
        params = {
            "job_id": job_id,
            "status": status.value if status else None,
            "limit": limit,
            "before": before,
            "trigger": trigger.value if trigger else None,
            "since": self._encode_ts(since),
            "until": self._encode_ts(until),
        }
        query = "list_executions" if job_id is None else "list_executions_of_job"
        if job_id is None and status in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
            query = "list_unfinished"
        if before is not None:
            query += "_before"
        return [self._execution(row) for row in self._fetchall(query, params)]

    def job_stats(self, since: datetime, job_id: str | None = None) -> JobStats:
        """See :meth:`Store.job_stats`."""
        if job_id is not None:
            found = self._stats_of_jobs(since, [job_id])
            return found[0] if found else _job_stats(job_id, _NO_ROWS, None)
        params = {"since": self._encode_ts(since)}
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("window_stats"), params)
            row = cur.fetchone()
            p95 = self._p95(cur, params, row)
        return _job_stats(None, row, p95)

    def failing_jobs_stats(self, since: datetime, limit: int = 20) -> list[JobStats]:
        """See :meth:`Store.failing_jobs_stats`."""
        stamp = self._encode_ts(since)
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("failing_jobs"), {"since": stamp, "limit": limit})
            order = [row["job_id"] for row in cur.fetchall()]
            if not order:
                return []
        return self._stats_of_jobs(since, order)

    def _stats_of_jobs(self, since: datetime, job_ids: list[str]) -> list[JobStats]:
        """The window's statistics of each of ``job_ids`` that has executions in it, in
        that order: one grouped query and one for their p95s."""
        params = {"since": self._encode_ts(since), "ids": self._ids_param(job_ids)}
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("stats_of_jobs"), params)
            rows = {row["job_id"]: row for row in cur.fetchall()}
            cur.execute(self.sql("p95_of_jobs"), params)
            p95 = {row["job_id"]: row["p95_duration"] for row in cur.fetchall()}
        return [_job_stats(j, rows[j], p95.get(j)) for j in job_ids if j in rows]

    def count_unfinished(self) -> tuple[int, int]:
        """See :meth:`Store.count_unfinished`."""
        row = self._fetchone("count_unfinished", {})
        assert row is not None
        return int(row["pending"] or 0), int(row["running"] or 0)

    def runs_per_hour(self, since: datetime) -> list[tuple[datetime, ExecutionStatus, int]]:
        """See :meth:`Store.runs_per_hour`."""
        rows = self._fetchall("runs_per_hour", {"since": self._encode_ts(since)})
        return [
            (
                datetime.strptime(row["hour"], "%Y-%m-%dT%H").replace(tzinfo=UTC),
                _EXECUTION_STATUS[row["status"]],
                int(row["runs"]),
            )
            for row in rows
        ]

    def _p95(self, cur: Any, params: dict[str, Any], row: Row) -> float | None:
        """The p95 duration of the window's stats row: PostgreSQL computed it in the
        row; SQLite reads the value at that rank from the top (``window_p95``)."""
        if self.backend == "postgresql":
            value = row["p95_duration"]
            return None if value is None else float(value)
        timed = int(row["timed"] or 0)
        if timed == 0:
            return None
        offset = timed - max(1, math.ceil(0.95 * timed))
        cur.execute(self.sql("window_p95"), {**params, "offset": offset})
        found = cur.fetchone()
        return None if found is None else float(found["duration_seconds"])


#: The statistics row of a job without executions in the window.
_NO_ROWS: Row = {
    "runs": 0,
    "success": 0,
    "failed": 0,
    "timeout": 0,
    "missed": 0,
    "running": 0,
    "pending": 0,
    "mean_duration": None,
}


def _job_stats(job_id: str | None, row: Row, p95: float | None) -> JobStats:
    """A :class:`JobStats` from a ``window_stats``-shaped row."""
    mean = row["mean_duration"]
    return JobStats(
        job_id=job_id,
        runs=int(row["runs"] or 0),
        success=int(row["success"] or 0),
        failed=int(row["failed"] or 0),
        timeout=int(row["timeout"] or 0),
        missed=int(row["missed"] or 0),
        running=int(row["running"] or 0),
        pending=int(row["pending"] or 0),
        mean_duration=None if mean is None else float(mean),
        p95_duration=None if p95 is None else float(p95),
    )


def _storable(text: str) -> str:
    """``text`` without NUL characters (PostgreSQL refuses them; a handler may print
    one), as a completion's logs are stored."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
