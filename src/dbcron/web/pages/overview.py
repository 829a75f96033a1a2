"""``/``: the overview: nodes, what runs now, next fires, runs per hour, failures."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from dbcron.models import ExecutionStatus
from dbcron.service.histogram import RunsHistogram
from dbcron.web.auth import ViewerDep
from dbcron.web.pages.render import page
from dbcron.web.state import runtime_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The windows the overview offers: query value -> (length, label).
WINDOWS: Final = {"24h": (timedelta(hours=24), "24 hours"), "7d": (timedelta(days=7), "7 days")}
#: The statuses the chart stacks, in order, with their colours (same as the badges).
CHART_STATUSES: Final = (
    (ExecutionStatus.SUCCESS, "#2e7d32"),
    (ExecutionStatus.FAILED, "#c62828"),
    (ExecutionStatus.TIMEOUT, "#ef6c00"),
    (ExecutionStatus.MISSED, "#757575"),
    (ExecutionStatus.CANCELLED, "#6d4c41"),
    (ExecutionStatus.RUNNING, "#1565c0"),
    (ExecutionStatus.PENDING, "#90a4ae"),
)


def chart_data(histogram: RunsHistogram, week: bool) -> str:
    """The histogram as the JSON the overview's chart script reads."""
    stamp = "%a %H:00" if week else "%H:00"
    return json.dumps(
        {
            "labels": [f"{hour:{stamp}}" for hour in histogram.hours],
            "datasets": [
                {"label": status.value, "color": color, "data": histogram.counts[status]}
                for status, color in CHART_STATUSES
                if status in histogram.counts
            ],
        }
    )


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    principal: ViewerDep,
    window: Annotated[str, Query(pattern="^(24h|7d)$")] = "24h",
) -> HTMLResponse:
    """The overview page."""
    queries = runtime_of(request).queries
    length, label = WINDOWS[window]
    report = queries.status_report(window=length, upcoming=10, jobs=5)
    histogram = queries.runs_histogram(length)
    failures = queries.latest_failures(10)
    labels = queries.execution_labels([*report.running, *failures])
    stats = report.overall
    ended = stats.success + stats.failed + stats.timeout
    failure_rate = None if ended == 0 else (stats.failed + stats.timeout) / ended
    return page(
        request,
        "overview.html",
        {
            "report": report,
            "window": window,
            "window_label": label,
            "windows": WINDOWS,
            "chart": chart_data(histogram, week=window == "7d"),
            "histogram": histogram,
            "failures": failures,
            "labels": labels,
            "failure_rate": failure_rate,
        },
    )
