"""The ``shell`` job type: run a command; exit status 0 is success.

The command is an argument list (no shell involved) unless ``shell: true`` asks for a
string run through ``/bin/sh``. It runs in a session (and process group) of its own,
so that a timeout kills the command and everything it started: at the deadline the
handler sends the group SIGTERM, then SIGKILL after ``KILL_GRACE_SECONDS``. The group is
also reported to the executor, which kills it if the run is stopped before the handler
could (a worker killed for overrunning, at shutdown). Its stdout and stderr go to the
execution's logs; the result holds the exit status and the time taken.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import IO, Any

from dbcron.handlers.configs import ShellConfig
from dbcron.handlers.context import HandlerContext, HandlerFailed, HandlerTimedOut

#: Seconds between SIGTERM and SIGKILL when a command overruns: half the executor's
#: grace (``dbcron.execution.KILL_GRACE_SECONDS``), so that the handler kills the
#: command and reports the timeout itself before the executor has to kill its worker.
KILL_GRACE_SECONDS = 0.25


def run(ctx: HandlerContext) -> dict[str, Any]:
    """Run the configured command under the job's deadline."""
    config = ShellConfig.model_validate(ctx.config)
    env = {
        **os.environ,
        **run_environment(ctx),
        **{k: str(ctx.resolve(_plain(v))) for k, v in config.env.items()},
    }
    if config.shell:
        argv: list[str] | str = (
            config.command if isinstance(config.command, str) else " ".join(config.command)
        )
    else:
        argv = [config.command] if isinstance(config.command, str) else list(config.command)
    started = ctx.clock.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            shell=config.shell,
            cwd=config.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        raise HandlerFailed(f"cannot start command: {exc}") from None
    ctx.track_process_group(proc.pid)  # start_new_session: the pid is its group's id
    readers = [
        threading.Thread(target=_pump, args=(proc.stdout, ctx, "stdout"), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, ctx, "stderr"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        code = proc.wait(timeout=ctx.remaining())
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        for reader in readers:
            reader.join(timeout=1)
        elapsed = ctx.clock.monotonic() - started
        raise HandlerTimedOut(
            f"command still running after {elapsed:.1f}s; its process group was killed"
        ) from None
    for reader in readers:
        reader.join(timeout=5)
    duration = round(ctx.clock.monotonic() - started, 6)
    if code != 0:
        how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise HandlerFailed(f"command {how}")
    return {"exit_code": code, "duration_seconds": duration}


def run_environment(ctx: HandlerContext) -> dict[str, str]:
    """What a command learns about its run: ``DBCRON_JOB_ID``, ``DBCRON_JOB_NAME``,
    ``DBCRON_EXECUTION_ID``, ``DBCRON_SCHEDULED_FOR`` (ISO 8601, UTC) and
    ``DBCRON_ATTEMPT`` (0 for the first try). The job's own ``env`` may override them."""
    execution = ctx.execution
    return {
        "DBCRON_JOB_ID": ctx.job.job_id,
        "DBCRON_JOB_NAME": ctx.job.name,
        "DBCRON_EXECUTION_ID": execution.execution_id,
        "DBCRON_SCHEDULED_FOR": execution.scheduled_for.isoformat().replace("+00:00", "Z"),
        "DBCRON_ATTEMPT": str(execution.retry_attempt),
    }


def _plain(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def _pump(stream: IO[bytes] | None, ctx: HandlerContext, name: str) -> None:
    if stream is None:
        return
    with stream:
        for raw in stream:
            ctx.logger.info("[%s] %s", name, raw.decode("utf-8", "replace").rstrip("\n"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
