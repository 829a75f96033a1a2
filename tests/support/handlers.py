"""Handlers for engine tests, called through the ``python`` job type by dotted path."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from dbcron.handlers.context import RetryRequested

log = logging.getLogger("tests.handlers")


def noop() -> dict[str, Any]:
    """Do nothing, quickly."""
    return {"ok": True}


def echo(**kwargs: Any) -> dict[str, Any]:
    """Return the keyword arguments and log a line and print one."""
    log.info("echo handler ran with %s", sorted(kwargs))
    print("printed by echo")
    return kwargs


def sleep(seconds: float = 3600.0, marker: str | None = None) -> dict[str, Any]:
    """Sleep (forever by default); touch ``marker`` first so tests can wait on it."""
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return {"slept": seconds}


def fail(message: str = "boom") -> None:
    """Raise an ordinary exception."""
    raise RuntimeError(message)


def retry_soon(delay: float = 0.0) -> None:
    """Ask for a retry after ``delay`` seconds."""
    raise RetryRequested("not yet", delay_seconds=delay)


def count(path: str) -> int:
    """Append a line to ``path`` and return how many lines it has (a run counter)."""
    with open(path, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    return len(Path(path).read_text().splitlines())


def sleep_first_attempt(seconds: float, ctx: Any) -> dict[str, Any]:
    """Sleep on the first attempt only (retries return at once)."""
    if ctx.execution.retry_attempt == 0:
        time.sleep(seconds)
    return {"attempt": ctx.execution.retry_attempt}


def custom_greet(ctx: Any) -> dict[str, Any]:
    """A custom handler named by dotted path: greets whom its config says."""
    ctx.logger.info("greeting %s", ctx.config.get("who"))
    return {"greeting": f"hello {ctx.config.get('who', 'world')}"}


def log_from_threads(ctx: Any) -> str:
    """Logs through ctx.logger and the root logger, from this thread and from another."""
    import logging
    import threading

    ctx.logger.info("ctx logger, handler thread")
    logging.getLogger("tests.own").info("root logging, handler thread")

    def other() -> None:
        ctx.logger.info("ctx logger, helper thread")
        logging.getLogger("tests.other").info("root logging, helper thread")

    helper = threading.Thread(target=other)
    helper.start()
    helper.join()
    print("printed to stdout")
    return "ok"


def exit_process(code: int = 3) -> None:
    """End the worker process abruptly, as a crash or the OOM killer would."""
    os._exit(code)


def ledger(path: str, ctx: Any, seconds: float = 0.0, fail_attempts: int = 0) -> dict[str, Any]:
    """Record a real handler start in the ledger file ``path`` before doing anything else
    (one line: ``job_id scheduled_for retry_attempt execution_id pid``), then sleep
    ``seconds``, then fail while ``retry_attempt < fail_attempts``.

    The ledger is what exactly-once tests count: a handler start is written there whether
    or not its outcome ever reaches the database. Read it with :func:`read_ledger`.
    """
    execution = ctx.execution
    line = (
        f"{execution.job_id} {execution.scheduled_for.isoformat()} {execution.retry_attempt} "
        f"{execution.execution_id} {os.getpid()}\n"
    )
    with open(path, "a") as handle:  # one short append: atomic for concurrent writers
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    if seconds:
        time.sleep(seconds)
    if execution.retry_attempt < fail_attempts:
        raise RuntimeError(f"failing attempt {execution.retry_attempt} on purpose")
    return {"attempt": execution.retry_attempt}


def read_ledger(path: str | Path) -> list[tuple[str, str, int, str, int]]:
    """The handler starts recorded by :func:`ledger`:
    ``(job_id, scheduled_for, retry_attempt, execution_id, pid)`` each."""
    target = Path(path)
    if not target.exists():
        return []
    entries = []
    for line in target.read_text().splitlines():
        job_id, fire, attempt, execution_id, pid = line.split()
        entries.append((job_id, fire, int(attempt), execution_id, int(pid)))
    return entries
