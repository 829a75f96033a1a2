"""Rich renderings of jobs, executions and status for the terminal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dbcron.cli.timefmt import local, local_and_relative, relative
from dbcron.manager import StatusReport
from dbcron.models import Execution, ExecutionStatus, Job, JobStatus
from dbcron.service.checks import Check, CheckStatus
from dbcron.service.jobfiles import Action, Plan

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


def _status(value: JobStatus | ExecutionStatus) -> Text:
    return Text(value.value, style=STATUS_STYLE.get(value, ""))


def jobs_table(
    jobs: list[Job], now: datetime, last: Mapping[str, Execution] | None = None, empty: str = ""
) -> RenderableType:
    """One row per job: short id, name, type, schedule, status, next fire, and its last
    result (``last``: the newest ended execution by job id); ``empty`` says what was
    asked for when there is none."""
    if not jobs:
        return Text(
            empty or "No jobs. Create one with: dbcron create NAME TYPE 'CRON'", style="dim"
        )
    table = Table(show_edge=False, header_style="bold")
    last = last or {}
    for column in ("ID", "NAME", "TYPE", "SCHEDULE", "TZ", "STATUS", "NEXT RUN", "LAST RESULT"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(
            job.job_id[:8],
            job.name,
            job.job_type,
            job.schedule_expression,
            job.timezone,
            _status(job.status),
            local_and_relative(job.next_execution, job.timezone, now),
            _last_result(last.get(job.job_id), now),
        )
    return table


def _last_result(execution: Execution | None, now: datetime) -> RenderableType:
    if execution is None:
        return "-"
    ended = execution.finished_at or execution.started_at or execution.created_at
    text = _status(execution.status)
    if ended is not None:
        text.append(f" {relative(ended, now)}", style="")
    return text


def executions_table(
    executions: list[Execution], now: datetime, zone: str = "UTC", empty: str = ""
) -> RenderableType:
    """One row per execution, newest first; ``empty`` says what was asked for when there
    is none."""
    if not executions:
        return Text(empty or "No executions yet.", style="dim")
    table = Table(show_edge=False, header_style="bold")
    for column in (
        "EXECUTION",
        "JOB",
        "SCHEDULED",
        "TRIGGER",
        "TRY",
        "STATUS",
        "DURATION",
        "ERROR",
    ):
        table.add_column(column, overflow="fold")
    for ex in executions:
        duration = "-" if ex.duration_seconds is None else f"{ex.duration_seconds:.3f}s"
        error = (ex.error_message or "").strip().splitlines()
        table.add_row(
            # The whole id: it is what `dbcron execution` and `logs` take (its start is a
            # timestamp that the executions of one claim share, so no short form is unique).
            ex.execution_id,
            ex.job_id[:8],
            f"{local(ex.scheduled_for, zone, seconds=True)} ({relative(ex.scheduled_for, now)})",
            ex.trigger.value,
            str(ex.retry_attempt),
            _status(ex.status),
            duration,
            error[0][:80] if error else "",
        )
    return table


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
    job: Job, fires: list[datetime], executions: list[Execution], now: datetime
) -> RenderableType:
    """Every field of a job, its next fires and its recent executions."""
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    rows: list[tuple[str, RenderableType]] = [
        ("id", job.job_id),
        ("key", job.key or "-"),
        ("name", job.name),
        ("type", job.job_type),
        ("schedule", f"{job.schedule_expression}  ({job.timezone})"),
        ("status", _status(job.status)),
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
        ("next run", local_and_relative(job.next_execution, job.timezone, now)),
        ("last run", local_and_relative(job.last_execution, job.timezone, now)),
        ("created", local_and_relative(job.created_at, job.timezone, now)),
        ("updated", local_and_relative(job.updated_at, job.timezone, now)),
        ("version", str(job.version)),
    ]
    for key, value in rows:
        info.add_row(key, value)
    upcoming = Table.grid(padding=(0, 2))
    for fire in fires:
        upcoming.add_row(local(fire, job.timezone), local(fire, "UTC"), relative(fire, now))
    parts: list[RenderableType] = [
        Panel(info, title=f"job {job.job_id[:8]}", title_align="left", expand=False),
        Text(
            "Next fires"
            + (
                ""
                if job.status is JobStatus.ACTIVE
                else f" (if resumed; job is {job.status.value})"
            ),
            style="bold",
        ),
        upcoming if fires else Text("none", style="dim"),
        Text("Last executions", style="bold"),
        executions_table(executions, now, job.timezone),
    ]
    return Group(*parts)


def status_view(report: StatusReport) -> RenderableType:
    """``dbcron status``: nodes, running work, upcoming fires and statistics."""
    now = report.generated_at
    parts: list[RenderableType] = [Text(f"database: {report.database}", style="bold")]
    jobs = ", ".join(f"{n} {s}" for s, n in sorted(report.jobs_by_status.items())) or "none"
    parts.append(Text(f"jobs: {jobs}"))
    if report.nodes:
        nodes = Table(
            title="Scheduler nodes", show_edge=False, header_style="bold", title_justify="left"
        )
        for column in ("NODE", "HOST", "PID", "VERSION", "UP", "HEARTBEAT", "STATE"):
            nodes.add_column(column)
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
        parts.append(nodes)
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
        parts.append(executions_table(report.running, now))
    upcoming = Table(title="Next fires", show_edge=False, header_style="bold", title_justify="left")
    for column in ("WHEN", "JOB", "NAME"):
        upcoming.add_column(column)
    for job, fire in report.upcoming:
        upcoming.add_row(local_and_relative(fire, job.timezone, now), job.job_id[:8], job.name)
    parts.append(upcoming if report.upcoming else Text("no upcoming fires", style="dim"))
    hours = report.window.total_seconds() / 3600
    stats = Table(
        title=f"Executions in the last {hours:g} h: the jobs with the most failures and timeouts",
        show_edge=False,
        header_style="bold",
        title_justify="left",
    )
    for column in ("JOB", "RUNS", "OK %", "FAILED", "TIMEOUT", "MISSED", "MEAN", "P95"):
        stats.add_column(column)
    rows = [(job.name, s) for job, s in report.per_job]
    rows.append((f"all jobs ({report.jobs_fired:,} fired)", report.overall))
    for name, s in rows:
        stats.add_row(
            name,
            str(s.runs),
            "-" if s.success_rate is None else f"{100 * s.success_rate:.1f}",
            str(s.failed),
            str(s.timeout),
            str(s.missed),
            "-" if s.mean_duration is None else f"{s.mean_duration:.3f}s",
            "-" if s.p95_duration is None else f"{s.p95_duration:.3f}s",
        )
    parts.append(stats)
    return Group(*parts)


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


def execution_detail(ex: Execution) -> RenderableType:
    """One execution in full: state, timing, result, error and logs."""
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    duration = "-" if ex.duration_seconds is None else f"{ex.duration_seconds:.3f}s"
    for key, value in (
        ("execution", ex.execution_id),
        ("job", ex.job_id),
        ("status", _status(ex.status)),
        ("trigger", f"{ex.trigger.value}, attempt {ex.retry_attempt}"),
        ("scheduled", local(ex.scheduled_for, "UTC", seconds=True)),
        ("started", local(ex.started_at, "UTC", seconds=True)),
        ("finished", local(ex.finished_at, "UTC", seconds=True)),
        ("duration", duration),
        ("result", "-" if ex.result is None else json.dumps(ex.result, ensure_ascii=False)),
    ):
        info.add_row(key, value)
    parts: list[RenderableType] = [info]
    if ex.error_message:
        parts += [Text("error", style="bold red"), Text(ex.error_message)]
    if ex.logs:
        parts += [Text("logs", style="bold"), Text(ex.logs.rstrip())]
    return Group(*parts)


def ended_line(ex: Execution) -> str:
    """One line on how an execution ended: its id, status, duration and the error's
    first line (what ``logs --follow`` and ``trigger --follow`` print last)."""
    took = "" if ex.duration_seconds is None else f" after {ex.duration_seconds:.3f}s"
    error = f": {ex.error_message.splitlines()[0]}" if ex.error_message else ""
    return f"execution {ex.execution_id} {ex.status.value}{took}{error}"


CHECK_STYLE = {
    CheckStatus.OK: "green",
    CheckStatus.WARN: "bold yellow",
    CheckStatus.FAIL: "bold red",
    CheckStatus.SKIP: "dim",
}


def doctor_report(checks: list[Check]) -> RenderableType:
    """``dbcron doctor``: one line per check, its status, its name and why."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        line = Text(f"{check.status.value:<4}", style=CHECK_STYLE[check.status])
        line.append(f"  {check.name:<{width}}  {check.detail}")
        lines.append(line)
    return Text("\n").join(lines)


_PLAN_MARK = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.DELETE: ("-", "red"),
}


def plan_view(plan: Plan) -> RenderableType:
    """What applying a jobs file does: each job created, updated (a line per field:
    ``field: old -> new``) or deleted, how many stay unchanged, and the totals."""
    lines: list[RenderableType] = [Text(f"Plan for {plan.source}:", style="bold")]
    for item in plan.items:
        if item.action is Action.UNCHANGED:
            continue
        mark, style = _PLAN_MARK[item.action]
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
