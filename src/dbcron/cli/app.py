"""The ``dbcron`` command: every command of the specification, and more.

Commands are thin: they parse arguments, call one method of the service layer (built
by :mod:`dbcron.runtime`, reached through :class:`CliContext`) and render the result.
Errors that a user caused print one line on stderr and exit with 2 (bad input) or 1
(runtime: missing job, unreachable database); nothing is written then.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperOption

from dbcron.cli import render
from dbcron.cli.context import CliContext
from dbcron.cli.timefmt import local, relative
from dbcron.cron import parse_schedule, preview, validate_timezone
from dbcron.errors import DbcronError, ValidationError
from dbcron.models import ExecutionStatus, JobStatus
from dbcron.serialize import to_jsonable
from dbcron.version import __version__

app = typer.Typer(
    name="dbcron",
    help="Cron that lives in a database: persistent, exactly-once job scheduling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Rich assumes 80 columns when output is not a terminal; tables of jobs need more.
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
JobId = Annotated[str, typer.Argument(help="Job id or a unique prefix of it.")]


def _ctx(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj


def _version(value: bool) -> None:
    if value:
        out.print(f"dbcron {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (sqlite:///file.db or postgresql://...).", metavar="URL"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Configuration file (YAML).", metavar="FILE")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Cron that lives in a database."""
    state = CliContext(db_flag=db, config_flag=config)
    ctx.obj = state
    ctx.call_on_close(state.close)


# -- schema ------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    maintenance: Annotated[
        bool,
        typer.Option(
            "--maintenance/--no-maintenance",
            help="Create the daily maintenance job unless one exists (default: yes).",
        ),
    ] = True,
) -> None:
    """Create dbcron's tables (idempotent; safe while schedulers run)."""
    result = _ctx(ctx).runtime.schema_operations(create=True).init(maintenance=maintenance)
    applied = result.applied
    what = f"applied migrations {applied}" if applied else "already up to date"
    out.print(f"Initialised {result.database}: schema version {result.schema_version} ({what}).")
    if result.maintenance_job is not None:
        out.print(f"Created the daily maintenance job {result.maintenance_job.job_id[:8]} (03:00).")


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Upgrade an existing database's schema to this version of dbcron."""
    result = _ctx(ctx).runtime.schema_operations().migrate()
    if result.applied:
        out.print(f"Migrated {result.database} from version {result.before} to {result.after}.")
    else:
        out.print(f"{result.database} is up to date (schema version {result.before}).")


@app.command()
def schema(
    supabase: Annotated[
        bool, typer.Option("--supabase", help="For Supabase: also revoke anon/authenticated.")
    ] = False,
    sqlite: Annotated[bool, typer.Option("--sqlite", help="The SQLite schema instead.")] = False,
) -> None:
    """Print the whole schema as one plain, idempotent SQL script."""
    from dbcron.schema_export import schema_sql

    if supabase and sqlite:
        raise ValidationError("--supabase and --sqlite exclude each other")
    out.file.write(schema_sql("sqlite" if sqlite else "postgres", supabase=supabase))


@app.command()
def seed(ctx: typer.Context) -> None:
    """Create the example jobs (skipping any whose name already exists)."""
    for result in _ctx(ctx).operations.seed():
        if result.job is None:
            out.print(f"exists   {result.name}")
        else:
            out.print(f"created  {result.job.name} ({result.job.job_id[:8]})")


# -- reading -----------------------------------------------------------------------


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="active, inactive, paused or deleted.")
    ] = None,
    job_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Only jobs of this type.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List jobs (all but deleted ones, unless --status says otherwise)."""
    state = _ctx(ctx)
    jobs = state.manager.list_jobs(status=status, job_type=job_type)
    if as_json:
        render.print_json(out, to_jsonable(jobs))
    else:
        out.print(render.jobs_table(jobs, state.manager.clock.now()))


@app.command()
def show(ctx: typer.Context, job_id: JobId, as_json: JsonFlag = False) -> None:
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
        out.print(render.job_detail(job, fires, executions, queries.clock.now()))


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
    as_json: JsonFlag = False,
) -> None:
    """Show executions, newest first."""
    queries = _ctx(ctx).queries
    executions = queries.history(job_id, status=status, limit=limit)
    if as_json:
        render.print_json(out, to_jsonable(executions))
    else:
        out.print(render.executions_table(executions, queries.clock.now()))


@app.command()
def status(
    ctx: typer.Context,
    window_hours: Annotated[
        float, typer.Option("--window", help="Statistics window in hours.")
    ] = 24.0,
    as_json: JsonFlag = False,
) -> None:
    """Scheduler nodes, running executions, the next fires and statistics."""
    report = _ctx(ctx).queries.status_report(window=timedelta(hours=window_hours))
    if as_json:
        render.print_json(out, to_jsonable(report))
    else:
        out.print(render.status_view(report))


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
) -> None:
    """Preview the next fire times of a schedule, in local time and UTC."""
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
    out.print(f"{schedule.expression} ({tz}): {schedule.describe()}")
    now = clock.now().astimezone(zone)
    for f in fires:
        flag = f"  ! {f.note}" if f.note else ""
        when = f"{local(f.local, tz, seconds=True)}   {local(f.utc, 'UTC', seconds=True)}"
        out.print(f"  {when}   {relative(f.utc, now)}{flag}", markup=False)


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
        out.print(f"  example config: {json.dumps(t.example)}")


@app.command("config")
def show_config(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Print the effective configuration and where each value came from."""
    loaded = _ctx(ctx).loaded
    rows = loaded.effective()
    if as_json:
        render.print_json(out, [{"key": k, "value": v, "source": s} for k, v, s in rows])
        return
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for column in ("KEY", "VALUE", "SOURCE"):
        table.add_column(column, overflow="fold")
    for key, value, source in rows:
        table.add_row(key, json.dumps(value) if not isinstance(value, str) else value, source)
    out.print(table)


# -- writing -----------------------------------------------------------------------


def _parse_config(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    source = "--config"
    if text.startswith("@"):
        path = Path(text[1:])
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise ValidationError(f"{source} must be a JSON object like '{{\"key\": 1}}'")
    return value


ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="Job config: a JSON object or @file.json.", metavar="JSON"),
]
DescriptionOpt = Annotated[
    str | None, typer.Option("--description", "-d", help="What the job is for.")
]
TimezoneOpt = Annotated[
    str | None, typer.Option("--timezone", "--tz", help="IANA time zone of the schedule.")
]
TimeoutOpt = Annotated[
    int | None, typer.Option("--timeout", help="Seconds before a run is stopped.")
]
RetriesOpt = Annotated[int | None, typer.Option("--retries", help="Retries after a failed run.")]
RetryDelayOpt = Annotated[
    int | None, typer.Option("--retry-delay", help="Seconds between retries.")
]
BackoffOpt = Annotated[str | None, typer.Option("--backoff", help="fixed or exponential.")]
MisfireOpt = Annotated[str | None, typer.Option("--misfire", help="run_once, run_all or skip.")]
CatchupOpt = Annotated[
    int | None, typer.Option("--catchup-window", help="Seconds of missed fires to catch up.")
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--max-concurrency", help="Runs of this job at once.")
]
OverlapOpt = Annotated[str | None, typer.Option("--overlap", help="skip, queue or allow.")]
PriorityOpt = Annotated[
    int | None, typer.Option("--priority", help="Higher runs first (-1000..1000).")
]


def _options(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


#: The job field each option shared by ``create`` and ``update`` sets.
_JOB_FIELD_OF_OPTION = {
    "description": "description",
    "timezone": "timezone",
    "timeout": "timeout_seconds",
    "retries": "retry_count",
    "retry_delay": "retry_delay_seconds",
    "backoff": "retry_backoff",
    "misfire": "misfire_policy",
    "catchup_window": "catchup_window_seconds",
    "max_concurrency": "max_concurrency",
    "overlap": "overlap_policy",
    "priority": "priority",
}


def _job_fields(ctx: typer.Context) -> dict[str, Any]:
    """The job fields the command's shared options give (those given), by field name."""
    return _options(**{field: ctx.params.get(opt) for opt, field in _JOB_FIELD_OF_OPTION.items()})


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Job name.", metavar="NAME")],
    job_type: Annotated[str, typer.Argument(help="Job type (see `dbcron types`).", metavar="TYPE")],
    schedule: Annotated[
        str, typer.Argument(help="Cron expression, macro or '@every 1h'.", metavar="CRON")
    ],
    config: ConfigOpt = None,
    description: DescriptionOpt = None,
    timezone: TimezoneOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    retry_delay: RetryDelayOpt = None,
    backoff: BackoffOpt = None,
    misfire: MisfireOpt = None,
    catchup_window: CatchupOpt = None,
    max_concurrency: ConcurrencyOpt = None,
    overlap: OverlapOpt = None,
    priority: PriorityOpt = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a job, e.g. dbcron create "Daily Fetch" paper_fetch "0 9 * * *"."""
    manager = _ctx(ctx).manager
    created = manager.new_job(
        name,
        job_type,
        schedule,
        _parse_config(config),
        status=JobStatus.PAUSED if paused else JobStatus.ACTIVE,
        **_job_fields(ctx),
    )
    if as_json:
        render.print_json(out, to_jsonable(created))
        return
    now = manager.clock.now()
    nxt = created.next_execution
    when = (
        f"next run {local(nxt, created.timezone)} ({relative(nxt, now)})"
        if nxt
        else created.status.value
    )
    out.print(f"Created job {created.job_id} ({created.name}); {when}.")


@app.command()
def update(
    ctx: typer.Context,
    job_id: JobId,
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    job_type: Annotated[str | None, typer.Option("--type", help="New job type.")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", "--cron", help="New schedule.")
    ] = None,
    config: ConfigOpt = None,
    description: DescriptionOpt = None,
    timezone: TimezoneOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    retry_delay: RetryDelayOpt = None,
    backoff: BackoffOpt = None,
    misfire: MisfireOpt = None,
    catchup_window: CatchupOpt = None,
    max_concurrency: ConcurrencyOpt = None,
    overlap: OverlapOpt = None,
    priority: PriorityOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Change some fields of a job (the others stay as they are)."""
    changes = _options(
        name=name,
        job_type=job_type,
        schedule_expression=schedule,
        config=_parse_config(config),
        **_job_fields(ctx),
    )
    if not changes:
        raise ValidationError(
            "nothing to change: give at least one option (see dbcron update --help)"
        )
    job = _ctx(ctx).manager.update_fields(job_id, **changes)
    if as_json:
        render.print_json(out, to_jsonable(job))
    else:
        out.print(f"Updated job {job.job_id} ({job.name}), version {job.version}.")


@app.command()
def pause(ctx: typer.Context, job_id: JobId) -> None:
    """Pause a job: its schedule stops firing until it is resumed."""
    job = _ctx(ctx).manager.pause_job(job_id)
    out.print(f"Paused job {job.job_id} ({job.name}).")


@app.command()
def resume(ctx: typer.Context, job_id: JobId) -> None:
    """Resume a paused job; its next fire counts from now."""
    manager = _ctx(ctx).manager
    job = manager.resume_job(job_id)
    nxt = job.next_execution
    when = f"{local(nxt, job.timezone)} ({relative(nxt, manager.clock.now())})" if nxt else "-"
    out.print(f"Resumed job {job.job_id} ({job.name}); next run {when}.")


@app.command()
def trigger(ctx: typer.Context, job_id: JobId, as_json: JsonFlag = False) -> None:
    """Run a job now: records a manual execution that a running scheduler starts."""
    execution = _ctx(ctx).manager.trigger_job(job_id)
    if as_json:
        render.print_json(out, to_jsonable(execution))
    else:
        out.print(
            f"Triggered job {execution.job_id}: execution {execution.execution_id} is pending."
        )


@app.command()
def delete(
    ctx: typer.Context,
    job_id: JobId,
    purge: Annotated[
        bool, typer.Option("--purge", help="Remove the job and its history for good.")
    ] = False,
) -> None:
    """Delete a job (soft: status deleted, history kept; --purge removes everything)."""
    job = _ctx(ctx).manager.delete_job(job_id, purge=purge)
    if purge:
        out.print(f"Purged job {job.job_id} ({job.name}) and its history.")
    else:
        out.print(f"Deleted job {job.job_id} ({job.name}); its history is kept.")


@app.command()
def start(
    ctx: typer.Context,
    daemon: Annotated[
        bool, typer.Option("--daemon", "-d", help="Detach and run in the background.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Concurrent executions (max_workers).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="process (hard timeouts) or thread.")
    ] = None,
    pid_file: Annotated[
        Path | None, typer.Option("--pid-file", help="Pid file (scheduler.pid_file).")
    ] = None,
    log_file: Annotated[
        str | None, typer.Option("--log-file", help="Log file (logging.file).")
    ] = None,
) -> None:
    """Start the scheduler (in the foreground, or detached with --daemon)."""
    from dbcron.daemon import (
        claim_pid_file,
        daemonize,
        install_signal_handlers,
        release_pid_file,
        setup_logging,
    )

    runtime = _ctx(ctx).runtime
    settings = runtime.settings
    sched = runtime.engine_settings(workers=workers, executor=executor)
    pid_path = (pid_file or Path(sched.pid_file)).absolute()
    log_name = log_file or settings.logging.file
    log_path = str(Path(log_name).absolute()) if log_name else None
    if daemon:
        daemonize(
            pid_path,
            lambda pid: out.print(
                f"dbcron scheduler started in the background (pid {pid})", markup=False
            ),
        )
    else:
        claim_pid_file(pid_path)
    setup_logging(settings.logging.level, log_path, to_stderr=not daemon)
    stopping = threading.Event()
    install_signal_handlers(stopping.set)
    try:
        scheduler = runtime.engine(sched, stopping=stopping)
        if scheduler is None:
            return
        install_signal_handlers(scheduler.stop)
        if stopping.is_set():
            return
        scheduler.run()
    finally:
        release_pid_file(pid_path)


@app.command()
def stop(
    ctx: typer.Context,
    pid_file: Annotated[
        Path | None, typer.Option("--pid-file", help="Pid file of the scheduler.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to wait for it to stop.")
    ] = None,
) -> None:
    """Stop a scheduler started with --daemon (gracefully: SIGTERM, then wait)."""
    from dbcron.daemon import stop_process

    settings = _ctx(ctx).settings
    path = (pid_file or Path(settings.scheduler.pid_file)).absolute()
    wait = timeout if timeout is not None else settings.scheduler.shutdown_grace_seconds + 15
    pid = stop_process(path, wait)
    out.print(f"Stopped the scheduler (pid {pid}).")


@app.command("run")
def run_job(
    ctx: typer.Context,
    job_id: JobId,
    executor: Annotated[
        str, typer.Option("--executor", help="process (hard timeout) or thread.")
    ] = "process",
    as_json: JsonFlag = False,
) -> None:
    """Run one job once, now, in the foreground, and record it (trigger manual)."""
    execution = _ctx(ctx).operations.run_now(job_id, mode=executor)
    if as_json:
        render.print_json(out, to_jsonable(execution))
    else:
        out.print(render.execution_detail(execution))
    if execution.status is not ExecutionStatus.SUCCESS:
        raise typer.Exit(1)


@app.command()
def shell(ctx: typer.Context) -> None:
    """The interactive job manager (list, show, status, trigger, pause, resume, ...)."""
    from dbcron.cli.shell import JobShell

    JobShell(_ctx(ctx).manager, out).cmdloop()


def _register_extensions() -> None:
    from dbcron.cli import papers

    papers.register(app)


_register_extensions()


# -- entry point -------------------------------------------------------------------


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    err.print(f"error: {message}", markup=False, soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line on stderr and an exit code."""
    # Typer reports usage errors itself (exit 2); dbcron's own errors surface here.
    try:
        app(args=argv, prog_name="dbcron")
    except DbcronError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
