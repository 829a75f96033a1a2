"""Running one :class:`~dbcron.execution.work.Work` in this process: resolve the handler, call it
under its context, turn the outcome into a :class:`~dbcron.execution.work.Report`."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable

from dbcron.clock import SYSTEM_CLOCK, Clock
from dbcron.execution.capture import BoundedLog, _capture_router, _SinkHandler, ensure_capture_level
from dbcron.execution.work import Report, Work
from dbcron.handlers.context import (
    HandlerContext,
    HandlerFailed,
    HandlerTimedOut,
    RetryRequested,
)
from dbcron.handlers.registry import default_registry
from dbcron.models import ExecutionStatus


def kill_process_groups(groups: Iterable[int]) -> None:
    """Send SIGKILL to each process group in ``groups`` (those already gone are skipped;
    never this process's own group, whatever a handler reported)."""
    own = os.getpgrp()
    for pgid in groups:
        if pgid > 1 and pgid != own:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)


def run_work(
    work: Work,
    *,
    capture_stdio: bool = False,
    on_process_group: Callable[[int], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    sink: BoundedLog | None = None,
) -> Report:
    """Run the handler of ``work`` here and now; never raises (except BaseExceptions).

    ``capture_stdio`` (process mode, one execution per process) also captures stdout,
    stderr and every thread's logging; otherwise only the calling thread's logging and
    ``ctx.logger`` (from any thread) are captured. ``on_process_group`` receives each
    process group the handler reports through ``ctx.track_process_group``. ``clock`` times
    the run and is the handler's ``ctx.clock``. ``sink`` (new if not given) receives the
    logs as they are written, for whoever streams them while the handler runs.
    """
    router = _capture_router()
    ensure_capture_level()
    sink = sink if sink is not None else BoundedLog()
    # ctx.logger: a private logger (not kept in logging's registry) that captures what
    # the handler logs from any thread it starts, e.g. the shell handler's output pumps.
    job_logger = logging.Logger(f"dbcron.job.{work.job.job_type}", logging.INFO)
    job_logger.propagate = False
    job_logger.handlers = [_SinkHandler(sink)]  # not addHandler: no global lock needed
    thread_id = threading.get_ident()
    if capture_stdio:
        router.whole_process = sink
    else:
        router.by_thread[thread_id] = sink
    started = clock.monotonic()
    deadline = None if work.timeout is None else started + work.timeout
    ctx = HandlerContext(
        job=work.job,
        execution=work.execution,
        config=dict(work.job.config),
        logger=job_logger,
        deadline=deadline,
        database_url=work.database_url,
        on_process_group=on_process_group,
        clock=clock,
        import_dirs=work.import_dirs,
    )
    try:
        if capture_stdio:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                report = _call(ctx, started)
        else:
            report = _call(ctx, started)
    finally:
        if capture_stdio:
            router.whole_process = None
        else:
            router.by_thread.pop(thread_id, None)
    logs = sink.getvalue()
    if logs is None:
        return report
    return Report(
        report.status,
        report.duration_seconds,
        report.result,
        report.error_message,
        logs,
        report.retry_delay,
    )


def _call(ctx: HandlerContext, started: float) -> Report:
    def took() -> float:
        return round(ctx.clock.monotonic() - started, 6)

    try:
        func = default_registry.get(ctx.job.job_type).resolve()
        result = func(ctx)
        json.dumps(result, allow_nan=False)
    except HandlerTimedOut as exc:
        return Report(ExecutionStatus.TIMEOUT, took(), error_message=str(exc))
    except RetryRequested as exc:
        return Report(
            ExecutionStatus.FAILED, took(), error_message=str(exc), retry_delay=exc.delay_seconds
        )
    except HandlerFailed as exc:
        return Report(ExecutionStatus.FAILED, took(), error_message=str(exc) or type(exc).__name__)
    except (TypeError, ValueError) as exc:
        if "JSON" in str(exc) or "serializable" in str(exc):
            return Report(
                ExecutionStatus.FAILED,
                took(),
                error_message=f"the handler's result is not JSON-serialisable: {exc}",
            )
        return Report(ExecutionStatus.FAILED, took(), error_message=_describe(exc))
    except Exception as exc:
        return Report(ExecutionStatus.FAILED, took(), error_message=_describe(exc))
    return Report(ExecutionStatus.SUCCESS, took(), result=result)


def _describe(exc: BaseException) -> str:
    summary = f"{type(exc).__name__}: {exc}"
    return summary + "\n" + "".join(traceback.format_exception(exc)).rstrip()
