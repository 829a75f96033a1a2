"""Reading commands: ``list``, ``show``, ``history``, ``status``, ``next``, ``types``,
``config``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperOption

from dbcron.cli import render
from dbcron.cli.root import ExecutionId, JobId, JsonFlag, _ctx, app, err, out
from dbcron.cli.view import UtcFlag, View, WideFlag, emit
from dbcron.errors import ValidationError
from dbcron.models import ExecutionStatus
from dbcron.serialize import status_document, to_jsonable
from dbcron.service.queries import PAGE_SIZE

if TYPE_CHECKING:
    from dbcron.service.queries import Queries
    from dbcron.service.reports import Page


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="active, inactive, paused or deleted.")
    ] = None,
    job_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Only jobs of this type.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Jobs per page.")] = PAGE_SIZE,
    after: Annotated[
        str | None, typer.Option("--after", help="Start after this job (the next page).")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Every job, no paging.")] = False,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """List jobs, oldest first, a page at a time (all but deleted ones unless --status)."""
    state = _ctx(ctx)
    page = state.manager.jobs_page(
        status=status, job_type=job_type, limit=None if show_all else limit, after=after
    )
    if as_json:
        render.print_json(out, to_jsonable(page.items))
    else:
        last = state.queries.last_results(page.items)
        empty = ""
        if status or job_type or after:
            what = " ".join(w for w in (status, job_type) if w)
            empty = f"No {what + ' ' if what else ''}jobs" + (f" after {after}." if after else ".")
        view = View(wide, utc)
        emit(out, render.jobs_table(page.items, state.manager.clock.now(), last, empty, view), view)
    _more(page, "jobs", f"dbcron list --after {page.next_cursor} (or --all)", to_stderr=as_json)


def _more(page: Page[Any], what: str, command: str, *, to_stderr: bool) -> None:
    """Say that the listing goes on, and how to read on (on stderr beside JSON)."""
    if page.next_cursor is None:
        return
    count = "more" if page.remaining is None else f"{page.remaining:,} more"
    (err if to_stderr else out).print(f"{count} {what}: {command}", style="dim")


@app.command()
def show(
    ctx: typer.Context,
    job_id: JobId,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Show a job: every field, its next five fires and its last ten executions."""
    queries = _ctx(ctx).queries
    detail = queries.job_detail(job_id, fires=5, executions=10)
    job, fires, executions = detail.job, detail.next_fires, detail.executions
    if as_json:
        render.print_json(
            out,
            {
                "job": to_jsonable(job),
                "next_fires": to_jsonable(fires),
                "executions": to_jsonable(executions),
            },
        )
    else:
        view = View(wide, utc)
        labels = queries.execution_labels(executions, short_ids=not wide)
        now = queries.clock.now()
        emit(out, render.job_detail(job, fires, executions, now, labels, view), view)


@app.command()
def history(
    ctx: typer.Context,
    job_id: Annotated[str | None, typer.Argument(help="Only this job (id or prefix).")] = None,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="Only executions in this state.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most this many, newest first.")
    ] = 20,
    before: Annotated[
        str | None,
        typer.Option("--before", help="Start below this execution id (the next page)."),
    ] = None,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Show executions, newest first, a page at a time."""
    queries = _ctx(ctx).queries
    page = queries.history_page(job_id, status, limit=limit, before=before)
    cursor = page.next_cursor
    if as_json:
        render.print_json(out, to_jsonable(page.items))
    else:
        view = View(wide, utc)
        labels = queries.execution_labels(page.items, short_ids=not wide)
        cursor = None if cursor is None else labels.short(cursor)
        empty = ""
        if job_id or status or before:
            kind = f"{status} executions" if status else "executions"
            of = f" of job {job_id}" if job_id else ""
            below = f" before {before}" if before else ""
            empty = f"No {kind}{of}{below}."
        table = render.executions_table(
            page.items, queries.clock.now(), labels, view, show_job=not job_id, empty=empty
        )
        emit(out, table, view)
    words = ["dbcron history", *([job_id] if job_id else []), *(["-s", status] if status else [])]
    next_page = " ".join([*words, "-n", str(limit), "--before", str(cursor)])
    _more(page, "executions", next_page, to_stderr=as_json)


@app.command()
def execution(
    ctx: typer.Context,
    execution_id: ExecutionId,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Show one execution: status, timings, result, error (with traceback) and logs."""
    queries = _ctx(ctx).queries
    found = queries.execution(execution_id)
    if as_json:
        render.print_json(out, to_jsonable(found))
    else:
        view = View(wide, utc)
        zone = queries.execution_labels([found], short_ids=False).zone(found.job_id)
        emit(out, render.execution_detail(found, zone, view), view)


@app.command()
def logs(
    ctx: typer.Context,
    execution_id: ExecutionId,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Stream a running execution's logs until it ends."),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="With --follow: give up after SECONDS.")
    ] = None,
    utc: UtcFlag = False,
) -> None:
    """Print the logs of one execution (--follow streams a running one to its end).

    Which run they are from, and when it started, goes to stderr."""
    queries = _ctx(ctx).queries
    found = queries.execution(execution_id)
    zone = queries.execution_labels([found], short_ids=False).zone(found.job_id)
    err.print(render.logs_header(found, zone, View(utc=utc)), style="dim", markup=False)
    if follow:
        follow_to_end(queries, found.execution_id, timeout)
        return
    if found.logs:
        out.file.write(found.logs if found.logs.endswith("\n") else found.logs + "\n")
    elif not found.status.is_final:
        err.print(
            f"execution {found.execution_id} is {found.status.value} and has logged nothing "
            "yet (dbcron logs --follow streams it to its end)"
        )
    else:
        err.print(f"execution {found.execution_id} ({found.status.value}) recorded no logs")


@app.command()
def status(
    ctx: typer.Context,
    window_hours: Annotated[
        float, typer.Option("--window", help="Statistics window in hours.")
    ] = 24.0,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Scheduler nodes, running executions, the next fires and statistics."""
    queries = _ctx(ctx).queries
    report = queries.status_report(window=timedelta(hours=window_hours))
    if as_json:
        render.print_json(out, status_document(report))
    else:
        view = View(wide, utc)
        labels = queries.execution_labels(report.running, short_ids=not wide)
        emit(out, render.status_view(report, labels, view), view)


class _NextCommand(TyperCommand):
    """``dbcron next``, where an expression starting with '-' is still the expression.

    Click reads any argument starting with '-' as an option, so ``-1 * * * *`` would
    fail with "No such option" instead of the cron message. An argument of one '-'
    followed by anything but a letter cannot be one of this command's options; it is
    moved after ``--`` so that Click takes it as the expression.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Move dash-led expressions after ``--``, then parse as usual."""
        value_options = {
            name
            for param in self.params
            if isinstance(param, TyperOption) and not param.is_flag
            for name in param.opts
        }
        end = args.index("--") if "--" in args else len(args)
        kept: list[str] = []
        moved: list[str] = []
        takes_value = False
        for arg in args[:end]:
            # "-n", "--tz" or "-h" are options; "-1 * * * *" or "-5" can only be an expression
            if not takes_value and re.match(r"-[^-a-zA-Z]", arg):
                moved.append(arg)
                continue
            kept.append(arg)
            takes_value = not takes_value and arg in value_options
        if moved:
            args = [*kept, "--", *moved, *args[end + 1 :]]
        return super().parse_args(ctx, args)


@app.command("next", cls=_NextCommand)
def next_fires(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="Cron expression, macro or '@every 30s'.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone of the expression.")] = "UTC",
    count: Annotated[int, typer.Option("-n", "--count", help="How many fires.")] = 5,
    after: Annotated[
        str | None, typer.Option("--after", help="Start after this local time (ISO 8601) in --tz.")
    ] = None,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Preview the next fire times of a schedule, in local time and UTC."""
    from dbcron.cron import parse_schedule, preview, validate_timezone

    if count < 1 or count > 1000:
        raise ValidationError("-n must be between 1 and 1000")
    zone = validate_timezone(tz)
    schedule = parse_schedule(expression, tz)
    clock = _ctx(ctx).clock
    start = _parse_local_time(after, zone) if after else clock.now().astimezone(zone)
    fires = preview(schedule, start, count)
    if as_json:
        render.print_json(
            out,
            {
                "expression": schedule.expression,
                "timezone": tz,
                "description": schedule.describe(),
                "after": start.isoformat(),
                "fires": [
                    {
                        "local": f.local.isoformat(),
                        "utc": f.utc.isoformat(),
                        "dst_shifted": f.dst_shifted,
                        "note": f.note,
                    }
                    for f in fires
                ],
            },
        )
        return
    view = View(wide, utc)
    now = clock.now()
    shown = render.fires_view(schedule.expression, tz, schedule.describe(), fires, now, view)
    emit(out, shown, view)


def _parse_local_time(text: str, zone: Any) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"--after {text!r} is not an ISO 8601 time like 2026-03-08T01:30"
        ) from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


@app.command("types")
def job_types(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the job types with their config schema and an example."""
    from dbcron.handlers.registry import default_registry

    types = default_registry.types()
    if as_json:
        render.print_json(
            out,
            [
                {
                    "name": t.name,
                    "description": t.description,
                    "schema": t.json_schema(),
                    "example": t.example,
                }
                for t in types
            ],
        )
        return
    for t in types:
        out.print(f"[bold]{t.name}[/bold]  {t.description}")
        for line in render.schema_fields(t.json_schema()):
            out.print(f"  {line}", markup=False)
        out.print(f"  example config: {json.dumps(t.example)}", markup=False)


@app.command("config")
def show_config(ctx: typer.Context, as_json: JsonFlag = False, wide: WideFlag = False) -> None:
    """Print the effective configuration and where each value came from."""
    loaded = _ctx(ctx).loaded
    rows = loaded.effective()
    if as_json:
        render.print_json(out, [{"key": k, "value": v, "source": s} for k, v, s in rows])
        return
    view = View(wide=wide)
    emit(out, render.config_table(rows), view)


def follow_to_end(queries: Queries, execution_id: str, timeout: float | None) -> None:
    """Stream an execution's logs to stdout until it ends, then its status line on
    stderr; exit 1 unless it succeeded, 2 when ``timeout`` passed first."""
    last = None
    for text, execution in queries.follow_logs(execution_id, timeout=timeout):
        last = execution
        if text:
            out.file.write(text)
            out.file.flush()
    assert last is not None
    if not last.status.is_final:
        err.print(f"error: gave up after {timeout:g} s: the execution is still {last.status.value}")
        raise typer.Exit(2)
    err.print(render.ended_line(last), markup=False)
    if last.status is not ExecutionStatus.SUCCESS:
        raise typer.Exit(1)
