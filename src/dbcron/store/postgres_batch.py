"""PostgreSQL's set-based batch writes: one statement per batch instead of one per row
(overriding the row-by-row defaults of :mod:`dbcron.store.engine`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbcron.models import Execution, Outcome
from dbcron.store.backend import Cursor
from dbcron.store.base import SqlStore
from dbcron.store.postgres_values import _clean, _iso, _json_text, _results_json, _text_array


class PostgresBatchWrites(SqlStore):
    """The engine's batch writes as one statement each."""

    def _insert_new_executions(
        self, cur: Cursor, executions: Sequence[Execution], *, want_ids: bool
    ) -> set[str]:
        """See :meth:`SqlStore._insert_new_executions`: one ``INSERT ... SELECT FROM
        json_to_recordset(...) RETURNING``."""
        rows = [
            {
                "execution_id": e.execution_id,
                "job_id": e.job_id,
                "status": e.status.value,
                "started_at": _iso(e.started_at),
                "finished_at": _iso(e.finished_at),
                "error_message": _clean(e.error_message),
                "retry_attempt": e.retry_attempt,
                "logs": _clean(e.logs),
                "created_at": _iso(e.created_at),
                "scheduled_for": _iso(e.scheduled_for),
                "trigger": e.trigger.value,
                "run_after": _iso(e.run_after or e.scheduled_for),
                "node_id": e.node_id,
                "lease_expires_at": _iso(e.lease_expires_at),
                "fencing_token": e.fencing_token,
                "priority": e.priority,
            }
            for e in executions
        ]
        cur.execute(self.sql("insert_executions_batch"), {"rows": _json_text(rows)})
        return {row["execution_id"] for row in cur.fetchall()}

    def _advance_jobs(self, cur: Cursor, advances: list[tuple[str, Any, Any, Any]]) -> None:
        """See :meth:`SqlStore._advance_jobs`: one ``UPDATE ... FROM
        json_to_recordset(...)``."""
        rows = [
            {
                "job_id": job_id,
                "next_execution": _iso(nxt),
                "previous": _iso(previous),
                "last_fire": _iso(last_fire),
            }
            for job_id, nxt, previous, last_fire in advances
        ]
        cur.execute(
            self.sql("advance_jobs_batch"),
            {"rows": _json_text(rows), "ids": _text_array([a[0] for a in advances])},
        )

    def _start_pending(
        self,
        cur: Cursor,
        chosen: Sequence[Execution],
        now: datetime,
        node_id: str,
        lease_until: datetime,
    ) -> None:
        """See :meth:`SqlStore._start_pending`: one ``UPDATE ... WHERE id = ANY(...)``."""
        cur.execute(
            self.sql("start_pending_batch"),
            {
                "ids": _text_array([e.execution_id for e in chosen]),
                "now": now,
                "node_id": node_id,
                "lease_expires_at": lease_until,
            },
        )

    def _finish_running(self, cur: Cursor, outcomes: Sequence[Outcome]) -> set[str]:
        """See :meth:`SqlStore._finish_running`: one ``UPDATE ... FROM
        json_to_recordset(...) RETURNING``; the fencing-token check is in its WHERE."""
        rows = [
            {
                "execution_id": o.execution_id,
                "fencing_token": o.fencing_token,
                "status": o.status.value,
                "finished_at": _iso(o.finished_at),
                "duration_seconds": o.duration_seconds,
                "result": o.result,
                "error_message": _clean(o.error_message),
                "logs": _clean(o.logs),
            }
            for o in outcomes
        ]
        cur.execute(
            self.sql("finish_running_batch"),
            {
                "rows": _results_json(rows),
                "ids": _text_array([o.execution_id for o in outcomes]),
            },
        )
        return {row["execution_id"] for row in cur.fetchall()}
