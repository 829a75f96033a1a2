"""Rich renderings of jobs, a job's detail, status and schedules for the terminal.

Tables fit the terminal (:mod:`dbcron.cli.tables`); times are in each job's time zone
or, with ``--utc``, in UTC, and the column titles say which (:class:`View`). Executions
are rendered by :mod:`dbcron.cli.render_runs`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dbcron.cli.render_runs import (
    execution_detail,
    executions_table,
    logs_header,
    status_text,
)
from dbcron.cli.tables import Column, Fitted, Grid
from dbcron.cli.timefmt import local, local_and_relative, relative
from dbcron.cli.view import View
from dbcron.models import Execution, Job, JobStatus

if TYPE_CHECKING:
    from dbcron.cron.preview import FirePreview
    from dbcron.manager import StatusReport
    from dbcron.service.checks import Check
    from dbcron.service.jobfiles import Plan
    from dbcron.service.labels import ExecutionLabels

__all__ = [
    "config_table",
    "execution_detail",
    "executions_table",
    "fires_view",
    "job_detail",
    "jobs_table",
    "logs_header",
    "print_json",
    "schema_fields",
    "status_view",
]


def jobs_table(
    jobs: list[Job],
    now: datetime,
    last: Mapping[str, Execution] | None = None,
    empty: str = "",
    view: View = View(),
) -> RenderableType:
    """One row per job: short id, name, type, schedule, its zone, status, next fire and
    its last result (``last``: the newest ended execution by job id). Where the terminal
    is too narrow, the rows give up, in turn: relative times beside absolute ones, the
    zone column, the last result, the next fire's absolute time (for "in 5 min").
    ``empty`` says what was asked for when there is none."""
    if not jobs:
        return Text(
            empty or "No jobs. Create one with: dbcron create NAME TYPE 'CRON'", style="dim"
        )
    last = last or {}

    def layout(ago: bool, zone: bool, result: bool, absolute: bool) -> Grid:
        grid = Grid(
            Column("ID"),
            Column("NAME", free=True),
            Column("TYPE"),
            Column("SCHEDULE"),
            *([Column("TZ")] if zone else []),
            Column("STATUS"),
            Column(f"NEXT RUN ({view.zone_title})" if absolute else "NEXT RUN"),
            *([Column("LAST RESULT")] if result else []),
        )
        for job in jobs:
            nxt = job.next_execution
            if nxt is None:
                when = "-"
            elif not absolute:
                when = relative(nxt, now)
            else:
                when = local(nxt, view.zone(job.timezone))
                when += f" ({relative(nxt, now)})" if ago else ""
            grid.add_row(
                job.job_id[:8],
                job.name,
                job.job_type,
                job.schedule_expression,
                *([job.timezone] if zone else []),
                status_text(job.status),
                when,
                *([_last_result(last.get(job.job_id), now, ago)] if result else []),
            )
        return grid

    return Fitted(
        [
            layout(ago=True, zone=True, result=True, absolute=True),
            layout(ago=False, zone=True, result=True, absolute=True),
            layout(ago=False, zone=False, result=True, absolute=True),
            layout(ago=False, zone=False, result=False, absolute=True),
            layout(ago=False, zone=False, result=False, absolute=False),
        ]
    )


def _last_result(execution: Execution | None, now: datetime, ago: bool) -> Text:
    if execution is None:
        return Text("-")
    ended = execution.finished_at or execution.started_at or execution.created_at
    text = status_text(execution.status)
    if ended is not None and ago:
        text.append(f" {relative(ended, now)}", style="")
    return text


def _retention(job: Job) -> str:
    """A job's own retention, or that the maintenance job's policy applies."""
    if job.keep_last is None and job.retention_days is None:
        return "the maintenance job's policy"
    parts = []
    if job.retention_days is not None:
        parts.append(f"{job.retention_days} days")
    if job.keep_last is not None:
        parts.append(f"newest {job.keep_last} kept")
    return ", ".join(parts) + " (the rest: the maintenance job's policy)"


def job_detail(
    job: Job,
    fires: list[datetime],
    executions: list[Execution],
    now: datetime,
    labels: ExecutionLabels,
    view: View = View(),
) -> RenderableType:
    """Every field of a job, its next fires and its recent executions (``labels``: their
    short ids), times in the job's zone or UTC."""
    zone = view.zone(job.timezone)
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold", no_wrap=True)
    info.add_column()
    rows: list[tuple[str, RenderableType]] = [
        ("id", job.job_id),
        ("key", job.key or "-"),
        ("name", job.name),
        ("type", job.job_type),
        (
            "schedule",
            Text(f"{job.schedule_expression}  ({job.timezone})", no_wrap=True, overflow="ellipsis"),
        ),
        ("status", status_text(job.status)),
        ("description", job.description or "-"),
        ("config", json.dumps(job.config, ensure_ascii=False)),
        ("timeout", "-" if job.timeout_seconds is None else f"{job.timeout_seconds}s"),
        (
            "retries",
            f"{job.retry_count}, {job.retry_delay_seconds}s apart ({job.retry_backoff.value})",
        ),
        ("misfire", f"{job.misfire_policy.value}, catch-up window {job.catchup_window_seconds}s"),
        ("overlap", f"{job.overlap_policy.value}, at most {job.max_concurrency} at once"),
        ("priority", str(job.priority)),
        ("retention", _retention(job)),
        ("times", view.times_note(job.timezone)),
        ("next run", local_and_relative(job.next_execution, zone, now)),
        ("last run", local_and_relative(job.last_execution, zone, now)),
        ("created", local_and_relative(job.created_at, zone, now)),
        ("updated", local_and_relative(job.updated_at, zone, now)),
        ("version", str(job.version)),
    ]
    for key, value in rows:
        info.add_row(key, value)
    upcoming = Grid(
        Column(f"FIRE ({view.zone_title})"),
        *([] if view.utc else [Column("UTC")]),
        Column("WHEN"),
    )
    for fire in fires:
        upcoming.add_row(
            local(fire, zone),
            *([] if view.utc else [local(fire, "UTC")]),
            relative(fire, now),
        )
    paused = "" if job.status is JobStatus.ACTIVE else f" (if resumed; job is {job.status.value})"
    return Group(
        Panel(info, title=f"job {job.job_id[:8]}", title_align="left", expand=False),
        Text(f"Next fires{paused}", style="bold"),
        Fitted([upcoming]) if fires else Text("none", style="dim"),
        Text("Last executions", style="bold"),
        executions_table(executions, now, labels, view, show_job=False),
    )


def status_view(
    report: StatusReport, labels: ExecutionLabels, view: View = View()
) -> RenderableType:
    """``dbcron status``: nodes, running work (``labels``: its jobs' zones and short
    ids), upcoming fires and statistics."""
    now = report.generated_at
    parts: list[RenderableType] = [Text(f"database: {report.database}", style="bold")]
    jobs = ", ".join(f"{n} {s}" for s, n in sorted(report.jobs_by_status.items())) or "none"
    parts.append(Text(f"jobs: {jobs}"))
    if report.nodes:
        nodes = Grid(
            Column("NODE"),
            Column("HOST", free=True),
            Column("PID", justify="right"),
            Column("VERSION"),
            Column("UP"),
            Column("HEARTBEAT"),
            Column("STATE"),
        )
        styles = {"running": "green", "stopped": "dim", "dead": "bold red"}
        for node in report.nodes:
            state = report.node_states.get(node.node_id, "running")
            nodes.add_row(
                node.node_id[:12],
                node.host,
                str(node.pid),
                node.version,
                relative(node.started_at, now).replace(" ago", ""),
                relative(node.last_heartbeat, now),
                Text(state, style=styles.get(state, "")),
            )
        parts += [Text("Scheduler nodes", style="bold"), Fitted([nodes])]
    else:
        parts.append(Text("scheduler nodes: none has ever run on this database", style="yellow"))
    if "running" not in report.node_states.values():
        waiting = (
            f"{report.pending:,} pending executions wait" if report.pending else "nothing runs"
        )
        parts.append(
            Text(
                f"no scheduler is running: {waiting} until one starts (dbcron start)",
                style="bold yellow",
            )
        )
    parts.append(Text(f"running now: {report.running_count}, pending: {report.pending}"))
    if report.running:
        parts.append(executions_table(report.running, now, labels, view))
    parts.append(Text("Next fires", style="bold"))
    parts.append(_upcoming(report, view) if report.upcoming else Text("none", style="dim"))
    hours = report.window.total_seconds() / 3600
    parts.append(
        Text(
            f"Executions in the last {hours:g} h: the jobs with the most failures and timeouts",
            style="bold",
        )
    )
    parts.append(_stats(report))
    return Group(*parts)


def _upcoming(report: StatusReport, view: View) -> RenderableType:
    now = report.generated_at

    def layout(ago: bool) -> Grid:
        grid = Grid(Column(f"WHEN ({view.zone_title})"), Column("JOB"), Column("NAME", free=True))
        for job, fire in report.upcoming:
            when = local(fire, view.zone(job.timezone))
            when = f"{when} ({relative(fire, now)})" if ago else when
            grid.add_row(when, job.job_id[:8], job.name)
        return grid

    return Fitted([layout(ago=True), layout(ago=False)])


def _stats(report: StatusReport) -> RenderableType:
    grid = Grid(
        Column("JOB", free=True),
        *(
            Column(title, justify="right")
            for title in ("RUNS", "OK %", "FAILED", "TIMEOUT", "MISSED", "MEAN", "P95")
        ),
    )
    rows = [(job.name, s) for job, s in report.per_job]
    rows.append((f"all jobs ({report.jobs_fired:,} fired)", report.overall))
    for name, s in rows:
        grid.add_row(
            name,
            str(s.runs),
            "-" if s.success_rate is None else f"{100 * s.success_rate:.1f}",
            str(s.failed),
            str(s.timeout),
            str(s.missed),
            "-" if s.mean_duration is None else f"{s.mean_duration:.3f}s",
            "-" if s.p95_duration is None else f"{s.p95_duration:.3f}s",
        )
    return Fitted([grid])


def fires_view(
    expression: str,
    tz: str,
    description: str,
    fires: list[FirePreview],
    now: datetime,
    view: View = View(),
) -> RenderableType:
    """``dbcron next``: the schedule, its next fires in its zone ``tz`` and in UTC (only
    UTC with ``--utc``), and below them what daylight saving time did to any of them."""
    grid = Grid(
        *([] if view.utc else [Column(f"LOCAL ({tz})")]),
        Column("UTC"),
        Column("WHEN"),
    )
    notes: list[RenderableType] = []
    for f in fires:
        grid.add_row(
            *([] if view.utc else [local(f.local, tz, seconds=True)]),
            local(f.utc, "UTC", seconds=True),
            relative(f.utc, now),
        )
        if f.note:
            notes.append(Text(f"! {local(f.utc, view.zone(tz), seconds=True)}: {f.note}"))
    return Group(Text(f"{expression} ({tz}): {description}"), Fitted([grid]), *notes)


def config_table(rows: list[tuple[str, Any, str]]) -> RenderableType:
    """``dbcron config``: each key, its effective value and where the value came from."""
    grid = Grid(Column("KEY"), Column("VALUE", free=True, minimum=20), Column("SOURCE", free=True))
    for key, value, source in rows:
        grid.add_row(key, value if isinstance(value, str) else json.dumps(value), source)
    return Fitted([grid])


def schema_fields(schema: Mapping[str, Any]) -> list[str]:
    """One line per field of a config's JSON schema: name, type, required or its
    default, and its description."""
    required = set(schema.get("required", []))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        kinds = (
            [prop.get("type")]
            if "type" in prop
            else [alt.get("type", "object") for alt in prop.get("anyOf", [])]
        )
        kind = " or ".join(k for k in kinds if k and k != "null") or "object"
        if name in required:
            need = "required"
        elif "default" in prop:
            need = f"default {json.dumps(prop['default'])}"
        else:
            need = "optional"
        about = f": {prop['description']}" if prop.get("description") else ""
        lines.append(f"{name} ({kind}, {need}){about}")
    return lines


def print_json(console: Console, value: object) -> None:
    """Print a JSON document exactly (no wrapping, no markup)."""
    console.file.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def ended_line(ex: Execution) -> str:
    """One line on how an execution ended: its id, status, duration and the error's
    first line (what ``logs --follow`` and ``trigger --follow`` print last)."""
    took = "" if ex.duration_seconds is None else f" after {ex.duration_seconds:.3f}s"
    error = f": {ex.error_message.splitlines()[0]}" if ex.error_message else ""
    return f"execution {ex.execution_id} {ex.status.value}{took}{error}"


def doctor_report(checks: list[Check]) -> RenderableType:
    """``dbcron doctor``: one line per check, its status, its name and why."""
    from dbcron.service.checks import CheckStatus  # with the doctor, not with the CLI

    styles = {
        CheckStatus.OK: "green",
        CheckStatus.WARN: "bold yellow",
        CheckStatus.FAIL: "bold red",
        CheckStatus.SKIP: "dim",
    }
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        line = Text(f"{check.status.value:<4}", style=styles[check.status])
        line.append(f"  {check.name:<{width}}  {check.detail}")
        lines.append(line)
    return Text("\n").join(lines)


def plan_view(plan: Plan) -> RenderableType:
    """What applying a jobs file does: each job created, updated (a line per field:
    ``field: old -> new``) or deleted, how many stay unchanged, and the totals."""
    from dbcron.service.jobfiles import Action  # with the files commands, not with the CLI

    marks = {
        Action.CREATE: ("+", "green"),
        Action.UPDATE: ("~", "yellow"),
        Action.DELETE: ("-", "red"),
    }
    lines: list[RenderableType] = [Text(f"Plan for {plan.source}:", style="bold")]
    for item in plan.items:
        if item.action is Action.UNCHANGED:
            continue
        mark, style = marks[item.action]
        lines.append(Text(f"  {mark} {item.action.value:<7} {item.key} ({item.name})", style=style))
        lines += [
            Text(f"      {change.field}: {_plan_value(change.old)} -> {_plan_value(change.new)}")
            for change in item.fields
        ]
    counts = {action: len(plan.of(action)) for action in Action}
    if counts[Action.UNCHANGED]:
        lines.append(Text(f"  = {counts[Action.UNCHANGED]} unchanged", style="dim"))
    lines.append(
        Text(
            f"{counts[Action.CREATE]} to create, {counts[Action.UPDATE]} to update, "
            f"{counts[Action.DELETE]} to delete, {counts[Action.UNCHANGED]} unchanged."
        )
    )
    return Group(*lines)


def _plan_value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)
