"""``/api/v1/status``, ``/stats``, ``/types`` and ``/papers``: the cluster's state and
statistics, the job types with their config schemas, the papers of paper_fetch jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from dbcron.serialize import status_document
from dbcron.service.inputs import parse_window
from dbcron.web.api.deps import RuntimeDep
from dbcron.web.api.models import (
    JobTypeOut,
    PaperOut,
    StatusOut,
    WindowStats,
    paper_out,
    stats_out,
)
from dbcron.web.auth import ViewerDep

__all__ = ["router"]

router = APIRouter()


@router.get("/status", tags=["cluster"], summary="Cluster status", response_model=StatusOut)
def cluster_status(
    runtime: RuntimeDep,
    _: ViewerDep,
    window: Annotated[str, Query(description="Statistics window, e.g. 24h, 7d, 90m.")] = "24h",
) -> StatusOut:
    """Scheduler nodes (running, stopped, dead), what runs now, the next fires and the
    window's statistics: the document of ``dbcron status --json``."""
    report = runtime.queries.status_report(window=parse_window(window))
    return StatusOut.model_validate(status_document(report))


@router.get(
    "/stats", tags=["cluster"], summary="Statistics over a window", response_model=WindowStats
)
def window_stats(
    runtime: RuntimeDep,
    _: ViewerDep,
    window: Annotated[str, Query(description="e.g. 24h (default), 7d, 90m.")] = "24h",
) -> WindowStats:
    """Counts by outcome, success rate and durations of the executions created in the
    window, over every job."""
    span = parse_window(window)
    report = runtime.queries.window_stats(span)
    return WindowStats(
        **stats_out(report.stats).model_dump(),
        window_seconds=span.total_seconds(),
        since=report.since,
    )


@router.get("/types", tags=["types"], summary="Job types", response_model=list[JobTypeOut])
def job_types(runtime: RuntimeDep, _: ViewerDep) -> list[JobTypeOut]:
    """Every job type with the JSON schema of its config and an example config (the
    schemas the dashboard's create form is generated from)."""
    return [
        JobTypeOut(
            name=t.name, description=t.description, schema=t.json_schema(), example=t.example
        )
        for t in runtime.jobs.registry.types()
    ]


@router.get("/papers", tags=["papers"], summary="Papers", response_model=list[PaperOut])
def papers(
    runtime: RuntimeDep,
    _: ViewerDep,
    q: Annotated[
        str | None,
        Query(max_length=500, description="Text in the title, abstract, authors or arXiv id."),
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="Only papers published on or after this date or time (UTC)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PaperOut]:
    """Papers stored by ``paper_fetch`` jobs, newest publication first (``dbcron
    papers``)."""
    start = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
    return [paper_out(p) for p in runtime.queries.papers(search=q, since=start, limit=limit)]
