"""Job commands: ``create``, ``update``, ``pause``, ``resume``, ``trigger``, ``cancel``,
``delete``."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dbcron.cli import render
from dbcron.cli.queries import follow_to_end
from dbcron.cli.root import ExecutionId, JobId, JsonFlag, _ctx, app, err, out
from dbcron.cli.timefmt import local, relative
from dbcron.cli.view import UtcFlag, View, WideFlag, emit
from dbcron.errors import ValidationError
from dbcron.models import ExecutionStatus, JobStatus
from dbcron.serialize import to_jsonable


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

#: The options ``create`` and ``update`` share: the job field each sets, and its Typer type.
_JOB_OPTIONS: dict[str, tuple[str, Any]] = {
    "key": (
        "key",
        Annotated[
            str | None,
            typer.Option(
                "--key",
                help="A unique slug to name the job by, e.g. nightly-fetch ('' removes it).",
            ),
        ],
    ),
    "description": (
        "description",
        Annotated[str | None, typer.Option("--description", "-d", help="What the job is for.")],
    ),
    "timezone": (
        "timezone",
        Annotated[
            str | None, typer.Option("--timezone", "--tz", help="IANA time zone of the schedule.")
        ],
    ),
    "timeout": (
        "timeout_seconds",
        Annotated[int | None, typer.Option("--timeout", help="Seconds before a run is stopped.")],
    ),
    "retries": (
        "retry_count",
        Annotated[int | None, typer.Option("--retries", help="Retries after a failed run.")],
    ),
    "retry_delay": (
        "retry_delay_seconds",
        Annotated[int | None, typer.Option("--retry-delay", help="Seconds between retries.")],
    ),
    "backoff": (
        "retry_backoff",
        Annotated[str | None, typer.Option("--backoff", help="fixed or exponential.")],
    ),
    "misfire": (
        "misfire_policy",
        Annotated[str | None, typer.Option("--misfire", help="run_once, run_all or skip.")],
    ),
    "catchup_window": (
        "catchup_window_seconds",
        Annotated[
            int | None,
            typer.Option("--catchup-window", help="Seconds of missed fires to catch up."),
        ],
    ),
    "max_concurrency": (
        "max_concurrency",
        Annotated[int | None, typer.Option("--max-concurrency", help="Runs of this job at once.")],
    ),
    "overlap": (
        "overlap_policy",
        Annotated[str | None, typer.Option("--overlap", help="skip, queue or allow.")],
    ),
    "keep_last": (
        "keep_last",
        Annotated[
            int | None,
            typer.Option("--keep-last", help="Retention: keep this job's newest N runs."),
        ],
    ),
    "retention_days": (
        "retention_days",
        Annotated[
            int | None,
            typer.Option("--retention-days", help="Retention: keep this job's runs N days."),
        ],
    ),
    "priority": (
        "priority",
        Annotated[int | None, typer.Option("--priority", help="Higher runs first (-1000..1000).")],
    ),
}

_Command = TypeVar("_Command", bound=Callable[..., None])


def with_job_options(command: _Command) -> _Command:
    """Add the shared job options to a command that takes them as ``**job_options``.

    Typer reads a command's parameters from its signature; the options are appended to it
    (keyword-only, default ``None``, before the command's own ``**`` catch-all), so that
    ``create`` and ``update`` declare them once.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    shared = [
        inspect.Parameter(option, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for option, (_field, kind) in _JOB_OPTIONS.items()
    ]
    command.__signature__ = signature.replace(parameters=own + shared)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in own + shared} | {
        "return": signature.return_annotation
    }
    return command


def _options(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _job_fields(job_options: dict[str, Any]) -> dict[str, Any]:
    """The job fields the shared options give (those given), by field name."""
    return _options(**{field: job_options.get(opt) for opt, (field, _) in _JOB_OPTIONS.items()})


@app.command()
@with_job_options
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Job name.", metavar="NAME")],
    job_type: Annotated[str, typer.Argument(help="Job type (see `dbcron types`).", metavar="TYPE")],
    schedule: Annotated[
        str | None,
        typer.Argument(
            help="Cron, macro or '@every 1h' (default: every scheduler.interval_hours).",
            metavar="CRON",
        ),
    ] = None,
    config: ConfigOpt = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    as_json: JsonFlag = False,
    **job_options: Any,
) -> None:
    """Create a job, e.g. dbcron create "Daily Fetch" paper_fetch "0 9 * * *"."""
    manager = _ctx(ctx).manager
    created = manager.new_job(
        name,
        job_type,
        schedule,
        _parse_config(config),
        status=JobStatus.PAUSED if paused else JobStatus.ACTIVE,
        **_job_fields(job_options),
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
    default = (
        f", {created.schedule_expression} (scheduler.interval_hours)" if schedule is None else ""
    )
    out.print(f"Created job {created.job_id} ({created.name}){default}; {when}.")


@app.command()
@with_job_options
def update(
    ctx: typer.Context,
    job_id: JobId,
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    job_type: Annotated[str | None, typer.Option("--type", help="New job type.")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", "--cron", help="New schedule.")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonFlag = False,
    **job_options: Any,
) -> None:
    """Change some fields of a job (the others stay as they are)."""
    changes = _options(
        name=name,
        job_type=job_type,
        schedule_expression=schedule,
        config=_parse_config(config),
        **_job_fields(job_options),
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
def trigger(
    ctx: typer.Context,
    job_id: JobId,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Wait for the run to end; print it; exit 1 unless success."),
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Stream the run's logs until it ends; exit 1 unless success."
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="With --wait or --follow: give up after SECONDS."),
    ] = None,
    as_json: JsonFlag = False,
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Run a job now: records a manual execution that a running scheduler starts."""
    state = _ctx(ctx)
    execution = state.manager.trigger_job(job_id)
    if not state.queries.live_nodes():
        err.print(
            "warning: no scheduler is running on this database: the run waits until one "
            "starts (dbcron start)",
            style="yellow",
        )
    if follow and not as_json:
        err.print(f"Following execution {execution.execution_id} ...", style="dim")
        follow_to_end(state.queries, execution.execution_id, timeout)
        return
    if not wait:
        if as_json:
            render.print_json(out, to_jsonable(execution))
        else:
            out.print(
                f"Triggered job {execution.job_id}: execution {execution.execution_id} is pending."
            )
        return
    if not as_json:
        err.print(f"Waiting for execution {execution.execution_id} ...", style="dim")
    ended = state.queries.wait_for_execution(execution.execution_id, timeout=timeout)
    if as_json:
        render.print_json(out, to_jsonable(ended))
    else:
        view = View(wide, utc)
        zone = state.queries.execution_labels([ended], short_ids=False).zone(ended.job_id)
        emit(out, render.execution_detail(ended, zone, view), view)
    if not ended.status.is_final:
        err.print(
            f"error: gave up after {timeout:g} s: the execution is still {ended.status.value}"
        )
        raise typer.Exit(2)
    if ended.status is not ExecutionStatus.SUCCESS:
        raise typer.Exit(1)


@app.command()
def cancel(
    ctx: typer.Context,
    execution_id: ExecutionId,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept with the execution.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancel an execution: a pending one never runs, a running one is stopped; no retry."""
    before = _ctx(ctx).queries.execution(execution_id)
    cancelled = _ctx(ctx).manager.cancel_execution(before.execution_id, by=_who(), reason=reason)
    if as_json:
        render.print_json(out, to_jsonable(cancelled))
    elif before.status is ExecutionStatus.CANCELLED:
        out.print(f"Execution {cancelled.execution_id} was already cancelled.")
    elif before.status is ExecutionStatus.RUNNING:
        out.print(
            f"Cancelled execution {cancelled.execution_id} of job {cancelled.job_id}; "
            "its scheduler stops the run within a second or so."
        )
    else:
        out.print(
            f"Cancelled execution {cancelled.execution_id} of job {cancelled.job_id}; "
            "it will not run."
        )


def _who() -> str:
    """``user@host`` of whoever runs this command, recorded with a cancellation."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


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
