"""Job commands: ``create``, ``update``, ``pause``, ``resume``, ``trigger``, ``delete``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dbcron.cli import render
from dbcron.cli.root import JobId, JsonFlag, _ctx, app, out
from dbcron.cli.timefmt import local, relative
from dbcron.errors import ValidationError
from dbcron.models import JobStatus
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
