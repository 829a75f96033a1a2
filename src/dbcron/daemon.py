"""Running the scheduler as a process: logging, signals, pid files, ``--daemon``.

``dbcron start`` runs in the foreground (logging to stderr and to the log file);
``dbcron start --daemon`` detaches (double fork, new session), writes a pid file and
logs to the rotating log file only; ``dbcron stop`` sends SIGTERM to the pid in the
pid file and waits for the graceful shutdown.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import logging.handlers
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from pythonjsonlogger.json import JsonFormatter

from dbcron.clock import SYSTEM_CLOCK, Clock
from dbcron.errors import DbcronError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
#: The standard fields of a JSON log record (a run's facts are added as their own fields).
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


class DaemonError(DbcronError):
    """The scheduler process cannot be started or stopped as asked."""


def setup_logging(
    level: str, log_file: str | None, *, to_stderr: bool, log_format: str = "text"
) -> None:
    """Log to a rotating file (10 MiB x 5) and, in the foreground, to stderr; as text
    lines or (``log_format="json"``) one JSON object per record, for log shippers."""
    root = logging.getLogger()
    root.setLevel(level)
    for old in list(root.handlers):
        root.removeHandler(old)
    formatter: logging.Formatter = (
        JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})
        if log_format == "json"
        else logging.Formatter(LOG_FORMAT)
    )
    if log_file:
        try:
            file_handler = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
        except OSError as exc:
            raise DaemonError(f"cannot open log file {log_file}: {exc.strerror}") from None
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    if to_stderr:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        root.addHandler(stream)


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that process is alive, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def claim_pid_file(pid_file: Path) -> None:
    """Write our pid into ``pid_file``; refuse when a live process already holds it."""
    running = read_pid(pid_file)
    if running is not None and running != os.getpid():
        raise DaemonError(
            f"a scheduler is already running with pid {running} (pid file {pid_file})"
        )
    try:
        pid_file.write_text(f"{os.getpid()}\n")
    except OSError as exc:
        raise DaemonError(f"cannot write pid file {pid_file}: {exc.strerror}") from None


def release_pid_file(pid_file: Path) -> None:
    """Remove ``pid_file`` if it still names this process."""
    with contextlib.suppress(OSError, ValueError):
        if int(pid_file.read_text().strip()) == os.getpid():
            pid_file.unlink()


def daemonize(pid_file: Path, on_started: Callable[[int | None], None] | None = None) -> None:
    """Detach from the terminal (double fork); the parent returns only to exit.

    The original process waits until the daemon holds its pid file, then calls
    ``on_started(pid)`` (the CLI says so) and exits.
    """
    running = read_pid(pid_file)
    if running is not None:
        raise DaemonError(
            f"a scheduler is already running with pid {running} (pid file {pid_file})"
        )
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        # The original process: wait until the daemon wrote its pid file (or failed).
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode()
        if message != "ok":
            raise DaemonError(message or "the daemon did not start")
        if on_started is not None:
            on_started(read_pid(pid_file))
        sys.stdout.flush()  # os._exit does not flush
        os._exit(0)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    try:
        claim_pid_file(pid_file)
    except DaemonError as exc:
        os.write(write_end, str(exc).encode())
        os._exit(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.write(write_end, b"ok")
    os.close(write_end)


def stop_process(pid_file: Path, timeout: float, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """SIGTERM the scheduler named in ``pid_file`` and wait until it is gone."""
    pid = read_pid(pid_file)
    if pid is None:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        raise DaemonError(f"no scheduler is running (no live pid in {pid_file})")
    os.kill(pid, signal.SIGTERM)
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                return pid
        time.sleep(0.1)
    raise DaemonError(f"scheduler pid {pid} did not stop within {timeout:.0f}s")


def install_signal_handlers(stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT call ``stop()``; a second SIGINT exits at once."""
    count = {"n": 0}

    def handle(signum: int, frame: FrameType | None) -> None:
        count["n"] += 1
        if signum == signal.SIGINT and count["n"] > 1:
            os._exit(130)
        logging.getLogger("dbcron.scheduler").info(
            "received %s; stopping gracefully", signal.Signals(signum).name
        )
        stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
