"""Job rows: insert, read, update, list, purge (the SQL store's job operations)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbcron.errors import ConflictError, NotFoundError, ValidationError
from dbcron.models import (
    Execution,
    Job,
    JobQuery,
    JobStatus,
    JobTableQuery,
)
from dbcron.store.backend import _BACKOFF, _JOB_STATUS, _MISFIRE, _OVERLAP, NO_LIMIT, Row
from dbcron.store.executions import SqlExecutions

_PREFIX = re.compile(r"^[0-9a-f-]{1,36}$")


class SqlJobs(SqlExecutions):
    """The job operations of a SQL store."""

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
            "keep_last": job.keep_last,
            "retention_days": job.retention_days,
            "key": job.key,
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
            keep_last=row["keep_last"],
            retention_days=row["retention_days"],
            key=row["key"],
        )

    def insert_job(self, job: Job) -> Job:
        """See :meth:`Store.insert_job`."""
        stored = job.with_changes(version=1)
        try:
            with self.transaction() as cur:
                cur.execute(self.sql("insert_job"), self._job_params(stored))
                self._notify(cur)
        except ConflictError as exc:
            raise _key_taken(job, exc) or ConflictError(
                f"a job with id {job.job_id} already exists"
            ) from exc
        return stored

    def get_job(self, job_id: str) -> Job | None:
        """See :meth:`Store.get_job`."""
        row = self._fetchone("get_job", {"job_id": job_id})
        return None if row is None else self._job(row)

    def job_by_key(self, key: str) -> Job | None:
        """See :meth:`Store.job_by_key`."""
        row = self._fetchone("job_by_key", {"key": key})
        return None if row is None else self._job(row)

    def jobs_named(self, name: str, limit: int = 10) -> list[Job]:
        """See :meth:`Store.jobs_named`."""
        return [
            self._job(row) for row in self._fetchall("jobs_named", {"name": name, "limit": limit})
        ]

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
        try:
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
        except ConflictError as exc:
            taken = _key_taken(job, exc)
            if taken is None:
                raise
            raise taken from exc
        if row is None:
            raise NotFoundError(f"no job with id {job.job_id}")
        raise ConflictError(
            f"job {job.job_id} was changed by someone else (version {row['version']}, "
            f"expected {expected_version}); read it again and retry"
        )

    def list_jobs(
        self,
        status: JobStatus | None = None,
        job_type: str | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[Job]:
        """See :meth:`Store.list_jobs`."""
        params = {
            "status": status.value if status else None,
            "job_type": job_type,
            "limit": NO_LIMIT if limit is None else limit,
            "after": after,
        }
        query = "list_jobs" if after is None else "list_jobs_after"
        return [self._job(row) for row in self._fetchall(query, params)]

    def search_jobs(self, query: JobQuery, *, limit: int, after: str | None = None) -> list[Job]:
        """See :meth:`Store.search_jobs`."""
        params = {
            "status": query.status.value if query.status else None,
            "job_type": query.job_type,
            "name": query.name_contains or None,
            "limit": limit,
            "after": after,
        }
        rows = self._fetchall(f"search_jobs_by_{query.order.value}", params)
        return [self._job(row) for row in rows]

    def table_jobs(self, query: JobTableQuery, *, limit: int) -> tuple[list[Job], int]:
        """See :meth:`Store.table_jobs`."""
        params = {
            "status": query.status.value if query.status else None,
            "needle": query.search.lower() if query.search else None,
            "sort": query.sort.value,
            "descending": query.descending,
            "limit": limit,
        }
        rows = self._fetchall("table_jobs", params)
        return [self._job(row) for row in rows], int(rows[0]["matched"]) if rows else 0

    def count_jobs(
        self,
        status: JobStatus | None = None,
        job_type: str | None = None,
        *,
        after: str | None = None,
    ) -> int:
        """See :meth:`Store.count_jobs`."""
        params = {"status": status.value if status else None, "job_type": job_type, "after": after}
        row = self._fetchone("count_jobs" if after is None else "count_jobs_after", params)
        return 0 if row is None else int(row["n"])

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        """See :meth:`Store.count_jobs_by_status`."""
        rows = self._fetchall("count_jobs_by_status", {})
        return {JobStatus(row["status"]): int(row["n"]) for row in rows}

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """See :meth:`Store.get_jobs`."""
        if not job_ids:
            return []
        # the engine's own read of job rows without a lock (engine.sql)
        rows = self._fetchall("jobs_by_ids_unlocked", {"ids": self._ids_param(list(job_ids))})
        return [self._job(row) for row in rows]

    def count_jobs_fired_since(self, since: datetime) -> int:
        """See :meth:`Store.count_jobs_fired_since`."""
        row = self._fetchone("count_jobs_fired_since", {"since": self._encode_ts(since)})
        return 0 if row is None else int(row["n"])

    def next_jobs_to_fire(self, limit: int = 10) -> list[Job]:
        """See :meth:`Store.next_jobs_to_fire`."""
        return [self._job(row) for row in self._fetchall("next_jobs_to_fire", {"limit": limit})]

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


def _key_taken(job: Job, exc: ConflictError) -> ConflictError | None:
    """The error for a unique violation of ``jobs_key_idx`` (another job took ``job``'s
    key between the caller's check and the write), None for any other conflict."""
    if job.key is None or not ("jobs_key_idx" in str(exc) or "jobs.key" in str(exc)):
        return None
    return ConflictError(f"key {job.key!r} is already used by another job")
