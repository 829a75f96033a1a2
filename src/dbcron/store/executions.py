"""Execution rows: insert, read, list, and the per-job statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbcron.errors import ConflictError
from dbcron.models import (
    Execution,
    ExecutionStatus,
    JobStats,
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
        query = "list_executions" if job_id is None else "list_executions_of_job"
        return [self._execution(row) for row in self._fetchall(query, params)]

    def job_stats(self, since: datetime, job_id: str | None = None) -> JobStats:
        """See :meth:`Store.job_stats`."""
        params = {"since": self._encode_ts(since), "job_id": job_id}
        of_job = "" if job_id is None else "_of_job"
        with self.transaction(write=False) as cur:
            cur.execute(self.sql("execution_counts" + of_job), params)
            counts = {row["status"]: row["n"] for row in cur.fetchall()}
            cur.execute(self.sql("execution_durations" + of_job), params)
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


def _percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]
