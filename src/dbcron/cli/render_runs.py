"""Renderings of executions: the table of ``history``, ``show`` and ``status``, and one
execution in full (``execution``, ``trigger --wait``, ``run``)."""

from __future__ import annotations

import json
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dbcron.cli.tables import Column, Fitted, Grid
from dbcron.cli.timefmt import local, relative
from dbcron.cli.view import View
from dbcron.models import Execution, ExecutionStatus, JobStatus
from dbcron.service.labels import ExecutionLabels

STATUS_STYLE = {
    JobStatus.ACTIVE: "green",
    JobStatus.PAUSED: "yellow",
    JobStatus.INACTIVE: "dim",
    JobStatus.DELETED: "red",
    ExecutionStatus.SUCCESS: "green",
    ExecutionStatus.RUNNING: "cyan",
    ExecutionStatus.PENDING: "blue",
    ExecutionStatus.FAILED: "red",
    ExecutionStatus.TIMEOUT: "magenta",
    ExecutionStatus.MISSED: "yellow",
    ExecutionStatus.CANCELLED: "dim",
}


def status_text(value: JobStatus | ExecutionStatus) -> Text:
    """A job's or an execution's state, in its colour."""
    return Text(value.value, style=STATUS_STYLE.get(value, ""))


def trigger_text(ex: Execution) -> str:
    """``schedule``, ``manual``; a retry with its attempt: ``retry 2``."""
    return f"{ex.trigger.value} {ex.retry_attempt}" if ex.retry_attempt else ex.trigger.value


def duration_text(ex: Execution) -> str:
    """``0.017s``, or ``-`` while it has not ended."""
    return "-" if ex.duration_seconds is None else f"{ex.duration_seconds:.3f}s"


def executions_table(
    executions: list[Execution],
    now: datetime,
    labels: ExecutionLabels,
    view: View,
    *,
    show_job: bool = True,
    empty: str = "",
) -> RenderableType:
    """One row per execution, newest first: its id, job (``show_job``), scheduled time
    (in its job's zone, or UTC), trigger, status, duration and the first line of its
    error. Where the terminal is too narrow, the rows give up, in turn: the whole id
    (for the short one of ``labels``), the relative time, the trigger. ``empty`` says
    what was asked for when there is none."""
    if not executions:
        return Text(empty or "No executions yet.", style="dim")

    def layout(whole_ids: bool, ago: bool, trigger: bool) -> Grid:
        columns = [
            Column("EXECUTION"),
            *([Column("JOB")] if show_job else []),
            Column(f"SCHEDULED ({view.zone_title})"),
            *([Column("TRIGGER")] if trigger else []),
            Column("STATUS"),
            Column("DURATION", justify="right"),
            Column("ERROR", free=True),
        ]
        grid = Grid(*columns)
        for ex in executions:
            when = local(ex.scheduled_for, view.zone(labels.zone(ex.job_id)), seconds=True)
            error = (ex.error_message or "").strip().splitlines()
            grid.add_row(
                ex.execution_id if whole_ids else labels.short(ex.execution_id),
                *([ex.job_id[:8]] if show_job else []),
                f"{when} ({relative(ex.scheduled_for, now)})" if ago else when,
                *([trigger_text(ex)] if trigger else []),
                status_text(ex.status),
                duration_text(ex),
                error[0] if error else "",
            )
        return grid

    return Fitted(
        [
            layout(whole_ids=True, ago=True, trigger=True),
            layout(whole_ids=False, ago=True, trigger=True),
            layout(whole_ids=False, ago=False, trigger=True),
            layout(whole_ids=False, ago=False, trigger=False),
        ]
    )


def execution_detail(ex: Execution, zone: str, view: View) -> RenderableType:
    """One execution in full: state, times (in its job's zone ``zone``, or UTC), result,
    error and logs."""
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold", no_wrap=True)
    info.add_column()
    shown = view.zone(zone)
    for key, value in (
        ("execution", ex.execution_id),
        ("job", ex.job_id),
        ("status", status_text(ex.status)),
        ("trigger", f"{ex.trigger.value}, attempt {ex.retry_attempt}"),
        ("times", view.times_note(zone)),
        ("scheduled", local(ex.scheduled_for, shown, seconds=True)),
        ("started", local(ex.started_at, shown, seconds=True)),
        ("finished", local(ex.finished_at, shown, seconds=True)),
        ("duration", duration_text(ex)),
        ("result", "-" if ex.result is None else json.dumps(ex.result, ensure_ascii=False)),
    ):
        info.add_row(key, value)
    parts: list[RenderableType] = [info]
    if ex.error_message:
        parts += [Text("error", style="bold red"), Text(ex.error_message)]
    if ex.logs:
        parts += [Text("logs", style="bold"), Text(ex.logs.rstrip())]
    return Group(*parts)


def logs_header(ex: Execution, zone: str, view: View) -> str:
    """The line ``dbcron logs`` writes on stderr above an execution's logs: which run,
    its state and when it started (in its job's zone ``zone``, or UTC)."""
    when = (
        f"started {local(ex.started_at, view.zone(zone), seconds=True)}"
        if ex.started_at
        else f"scheduled for {local(ex.scheduled_for, view.zone(zone), seconds=True)}"
    )
    return f"logs of execution {ex.execution_id} (job {ex.job_id[:8]}, {ex.status.value}), {when}"
