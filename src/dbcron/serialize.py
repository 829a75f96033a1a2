"""Records as JSON-ready dictionaries, for ``--json`` output and the REST API."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbcron.models import JobStats
    from dbcron.service.reports import StatusReport


def to_jsonable(value: Any) -> Any:
    """``value`` with dataclasses, enums and datetimes turned into JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def stats_document(stats: JobStats) -> dict[str, Any]:
    """One window's statistics: counts, ``success_rate`` (0 to 1 of the finished runs,
    null when none finished) and durations in seconds."""
    return {
        "runs": stats.runs,
        "success": stats.success,
        "failed": stats.failed,
        "timeout": stats.timeout,
        "missed": stats.missed,
        "running": stats.running,
        "pending": stats.pending,
        "success_rate": stats.success_rate,
        "mean_duration_seconds": stats.mean_duration,
        "p95_duration_seconds": stats.p95_duration,
    }


def status_document(report: StatusReport) -> dict[str, Any]:
    """``dbcron status --json``: named objects throughout, one unit per field (times are
    ISO 8601 UTC, durations seconds, the window hours)."""
    return {
        "generated_at": to_jsonable(report.generated_at),
        "database": report.database,
        "nodes": [
            {**to_jsonable(node), "state": report.node_states.get(node.node_id, "running")}
            for node in report.nodes
        ],
        "running_count": report.running_count,
        "running": to_jsonable(report.running),
        "pending_count": report.pending,
        "upcoming": [
            {
                "job_id": job.job_id,
                "name": job.name,
                "timezone": job.timezone,
                "fire_at": to_jsonable(fire),
            }
            for job, fire in report.upcoming
        ],
        "window_hours": report.window.total_seconds() / 3600,
        "jobs_by_status": dict(report.jobs_by_status),
        "jobs_fired": report.jobs_fired,
        "overall": stats_document(report.overall),
        "jobs_with_most_failures": [
            {"job_id": job.job_id, "name": job.name, **stats_document(stats)}
            for job, stats in report.per_job
        ],
    }
