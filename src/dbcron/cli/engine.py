"""Engine commands: ``start`` (the scheduler), ``stop``, ``run`` (one job in the foreground)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dbcron.cli import render
from dbcron.cli.root import HostOption, JobId, JsonFlag, PortOption, _ctx, app, err, out
from dbcron.cli.view import UtcFlag, View, WideFlag, emit
from dbcron.models import Execution, ExecutionStatus
from dbcron.serialize import to_jsonable

if TYPE_CHECKING:
    from dbcron.runtime import Runtime
    from dbcron.web.server import WebServer


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
    web: Annotated[
        bool, typer.Option("--web", help="Also serve the dashboard and the REST API.")
    ] = False,
    host: HostOption = None,
    port: PortOption = None,
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
    web_server = _web_server(runtime, host, port) if web else None
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
    setup_logging(
        settings.logging.level,
        log_path,
        to_stderr=not daemon,
        log_format=settings.logging.format,
    )
    stopping = threading.Event()
    install_signal_handlers(stopping.set)
    try:
        scheduler = runtime.engine(sched, stopping=stopping)
        if scheduler is None:
            return
        install_signal_handlers(scheduler.stop)
        if stopping.is_set():
            return
        if web_server is not None:
            web_server.start()
            logging.getLogger("dbcron.web").info("dashboard at %s", web_server.url)
        scheduler.run()
    finally:
        if web_server is not None:
            web_server.stop()
        release_pid_file(pid_path)


def _web_server(runtime: Runtime, host: str | None, port: int | None) -> WebServer:
    """The dashboard server of ``start --web``, checked before the scheduler starts (a
    refused address or a taken port is a one-line error, not a scheduler without web)."""
    from dbcron.web.server import WebServer, web_settings

    return WebServer(runtime, web_settings(runtime.settings.web, host=host, port=port))


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
    wide: WideFlag = False,
    utc: UtcFlag = False,
) -> None:
    """Run one job once, now, in the foreground, and record it (trigger manual)."""
    state = _ctx(ctx)
    execution = state.operations.run_now(job_id, mode=executor, on_progress=_Progress())
    if as_json:
        render.print_json(out, to_jsonable(execution))
    else:
        view = View(wide, utc)
        zone = state.queries.execution_labels([execution], short_ids=False).zone(execution.job_id)
        emit(out, render.execution_detail(execution, zone, view), view)
    if execution.status is not ExecutionStatus.SUCCESS:
        raise typer.Exit(1)


#: How often ``dbcron run`` says that a long run is still going.
PROGRESS_EVERY_SECONDS = 10


class _Progress:
    """``dbcron run``'s progress on stderr: the execution when it starts (with how to
    follow or cancel it from elsewhere), then a line every ``PROGRESS_EVERY_SECONDS``."""

    def __init__(self) -> None:
        self.next_at = float(PROGRESS_EVERY_SECONDS)

    def __call__(self, execution: Execution, elapsed: float) -> None:
        if elapsed == 0:
            short = execution.execution_id[:13]
            err.print(
                f"Running execution {execution.execution_id} of job {execution.job_id} "
                f"(dbcron logs -f {short} follows it; dbcron cancel {short} stops it) ...",
                style="dim",
                markup=False,
            )
        elif elapsed >= self.next_at:
            err.print(f"... still running after {int(elapsed)} s", style="dim", markup=False)
            self.next_at += PROGRESS_EVERY_SECONDS
