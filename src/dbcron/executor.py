"""The executor: runs one execution of a job's handler and reports how it ended.

Two modes:

- ``process`` (default): each worker slot owns a worker process, forked from a fork
  server that imported dbcron and its handlers once (:mod:`dbcron.forkserver`): the
  workers share those pages, and never import the application's ``__main__`` module. A
  handler that overruns its timeout is stopped for real: the worker (and its process
  group) is killed, the execution is recorded ``timeout``, and a fresh worker takes the
  slot.
- ``thread``: handlers run in threads of the scheduler process, for light and trusted
  handlers. A thread cannot be killed: one that overruns its timeout keeps its slot and
  stays in flight (its row ``running``, its lease renewed) until its handler returns;
  only then is it reported ``timeout``, its result discarded.

Either way, the process groups (sessions) a handler reports through
``ctx.track_process_group`` (the shell handler does) are killed with SIGKILL when its run
is stopped: at its timeout (process mode, or thread mode once the handler is past its
grace), when its worker dies, and when a stop kills what still runs.

Either way the handler's logging (and, in process mode, its stdout and stderr) is
captured into the execution's ``logs``, bounded in size with the truncation marked.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import logging
import multiprocessing.connection
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from dbcron.forkserver import Child, ForkServer
from dbcron.handlers.context import (
    HandlerContext,
    HandlerFailed,
    HandlerTimedOut,
    RetryRequested,
)
from dbcron.handlers.registry import default_registry, load_plugins
from dbcron.models import Execution, ExecutionStatus, Job

log = logging.getLogger("dbcron.executor")

#: Largest ``logs`` kept per execution; beyond it the middle is dropped and marked.
MAX_LOG_BYTES = 64 * 1024
#: Why an execution that was still running at shutdown failed.
SHUTDOWN_MESSAGE = (
    "the scheduler stopped before the execution finished (shutdown grace period over)"
)
#: Executions a worker slot may have queued behind the running one: the scheduler hands
#: work over in larger batches (fewer transactions per execution) without idling slots.
PREFETCH_PER_WORKER = 1
#: How late (at most) the thread-mode watchdog notices a deadline.
WATCHDOG_RESOLUTION = 0.05
#: How long past its timeout a handler may take before its worker process (thread mode:
#: the process groups it reported) is killed. Longer than the shell handler's SIGTERM
#: grace, so that a command is stopped and reported by its own handler first.
KILL_GRACE_SECONDS = 0.5
#: How long to wait for the fork server to fork a worker (it may be booting).
FORK_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Work:
    """Everything a worker needs to run one execution (picklable)."""

    execution: Execution
    job: Job
    database_url: str | None = None

    @property
    def timeout(self) -> float | None:
        """The job's timeout in seconds, or None."""
        return None if self.job.timeout_seconds is None else float(self.job.timeout_seconds)

    def __getstate__(self) -> tuple[Execution, Job, str | None]:
        return (self.execution, self.job, self.database_url)

    def __setstate__(self, state: tuple[Execution, Job, str | None]) -> None:
        for name, value in zip(("execution", "job", "database_url"), state, strict=True):
            object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class Report:
    """How one run of a handler ended (picklable)."""

    status: ExecutionStatus
    duration_seconds: float
    result: Any = None
    error_message: str | None = None
    logs: str | None = None
    retry_delay: float | None = None


class BoundedLog(io.TextIOBase):
    """A text sink that keeps the first and last parts of what is written to it."""

    def __init__(self, limit: int = MAX_LOG_BYTES) -> None:
        self._head: list[str] = []
        self._head_size = 0
        self._tail: list[str] = []
        self._tail_size = 0
        self._dropped = 0
        self._limit = limit
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Append ``text``."""
        with self._lock:
            if self._head_size < self._limit * 3 // 4:
                self._head.append(text)
                self._head_size += len(text)
                return len(text)
            self._tail.append(text)
            self._tail_size += len(text)
            while self._tail_size > self._limit // 4 and len(self._tail) > 1:
                dropped = self._tail.pop(0)
                self._tail_size -= len(dropped)
                self._dropped += len(dropped)
            return len(text)

    def getvalue(self) -> str | None:
        """Everything kept, with a marker where the middle was dropped; None if empty."""
        with self._lock:
            head, tail = "".join(self._head), "".join(self._tail)
            if self._dropped:
                head += f"\n[... {self._dropped} characters of log output truncated ...]\n"
            text = head + tail
            return text or None


_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


class _SinkHandler(logging.Handler):
    """Writes records into one execution's :class:`BoundedLog`.

    It lives for one execution only, so it skips ``logging.Handler.__init__``, which
    takes logging's global lock twice (at-fork registration and the shutdown list): with
    many executions a second in thread mode that lock was the workers' main contention.
    """

    def __init__(self, sink: BoundedLog) -> None:
        logging.Filterer.__init__(self)
        self._name = None
        self.level = logging.NOTSET
        self.formatter = _FORMAT
        self._closed = False
        self.lock = threading.RLock()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        """Append the formatted record."""
        try:
            self.sink.write(self.format(record) + "\n")
        except Exception:  # a broken record must not break the execution
            self.handleError(record)


class _CaptureRouter(logging.Handler):
    """The one root handler that routes records of other loggers to the capture of the
    execution that logged them: by thread in thread mode, every record in a worker
    process (where one execution runs at a time). Installed once, never per execution."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_FORMAT)
        self.by_thread: dict[int, BoundedLog] = {}
        self.whole_process: BoundedLog | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Append the record to the sink of its thread (or of the process), if any."""
        sink = self.whole_process or self.by_thread.get(record.thread or 0)
        if sink is None:
            return
        try:
            sink.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


_router: _CaptureRouter | None = None
_router_lock = threading.Lock()


def _capture_router() -> _CaptureRouter:
    """The root logger's capture router, installed on first use."""
    global _router
    if _router is None:
        with _router_lock:
            if _router is None:
                router = _CaptureRouter()
                logging.getLogger().addHandler(router)
                _router = router
    return _router


def ensure_capture_level(level: int = logging.INFO) -> None:
    """Let INFO records of any logger reach the per-execution capture.

    Lowers the root logger to ``level`` if it is higher, while raising the existing root
    handlers to the old level, so that what they print does not change.
    """
    root = logging.getLogger()
    previous = root.getEffectiveLevel()
    if previous <= level:
        return
    for handler in root.handlers:
        if handler.level < previous and not isinstance(handler, _CaptureRouter):
            handler.setLevel(previous)
    root.setLevel(level)


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
) -> Report:
    """Run the handler of ``work`` here and now; never raises (except BaseExceptions).

    ``capture_stdio`` (process mode, one execution per process) also captures stdout,
    stderr and every thread's logging; otherwise only the calling thread's logging and
    ``ctx.logger`` (from any thread) are captured. ``on_process_group`` receives each
    process group the handler reports through ``ctx.track_process_group``.
    """
    router = _capture_router()
    ensure_capture_level()
    sink = BoundedLog()
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
    started = time.monotonic()
    deadline = None if work.timeout is None else started + work.timeout
    ctx = HandlerContext(
        job=work.job,
        execution=work.execution,
        config=dict(work.job.config),
        logger=job_logger,
        deadline=deadline,
        database_url=work.database_url,
        on_process_group=on_process_group,
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
        return round(time.monotonic() - started, 6)

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


OnDone = Callable[[Work, Report], None]


@dataclass(slots=True)
class _Task:
    """One execution handed to the thread pool, from submit until its thread ends."""

    work: Work
    started: float | None = None  # None while queued
    deadline: float | None = None
    overdue: bool = False  # its deadline passed while it ran
    groups_killed: bool = False
    handed_back: bool = False  # returned by stop(kill=True): the caller reports it
    groups: list[int] = field(default_factory=list)


class ThreadExecutor:
    """Runs handlers in a pool of threads; a watchdog notices the runs that overrun.

    A thread cannot be stopped, so a run past its deadline keeps its slot and stays in
    flight until its handler returns; it is then reported ``timeout`` (its result
    discarded). The process groups it reported are killed once it is
    ``KILL_GRACE_SECONDS`` past its deadline.
    """

    mode = "thread"

    def __init__(self, workers: int, on_done: OnDone) -> None:
        self.workers = workers
        self._on_done = on_done
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._busy = 0
        self._tasks: dict[str, _Task] = {}
        self._next_deadline = float("inf")  # earliest time the watchdog has work
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._finished = threading.Event()  # stopped, and every thread's run has ended

    def start(self) -> None:
        """Start the worker threads and the watchdog."""
        for n in range(self.workers):
            thread = threading.Thread(target=self._worker, name=f"dbcron-run-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        threading.Thread(target=self._watchdog, name="dbcron-watchdog", daemon=True).start()

    def free_slots(self) -> int:
        """How many more executions can be handed over now (running or queued); a run
        past its timeout holds its slot until its thread ends."""
        with self._lock:
            return self.workers * (1 + PREFETCH_PER_WORKER) - self._busy

    def in_flight(self) -> list[Work]:
        """Executions handed over whose threads have not ended (running, past their
        timeout, or queued)."""
        with self._lock:
            return [task.work for task in self._tasks.values()]

    def submit(self, work: Work) -> None:
        """Queue ``work`` for the next free thread."""
        with self._lock:
            self._busy += 1
            self._tasks[work.execution.execution_id] = _Task(work)
        self._queue.put(work)

    def _worker(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            key = work.execution.execution_id
            with self._lock:
                task = self._tasks.get(key)
                if task is None or task.handed_back:
                    continue  # taken back by stop(kill=True): it must never start
                task.started = time.monotonic()  # the timeout counts from here
                if work.timeout is not None:
                    task.deadline = task.started + work.timeout
                    self._next_deadline = min(self._next_deadline, task.deadline)
            report = run_work(work, on_process_group=task.groups.append)
            took = round(time.monotonic() - task.started, 6)
            with self._lock:
                del self._tasks[key]
                self._busy -= 1
                if self._stopping and not self._tasks:
                    self._finished.set()
            if task.handed_back:
                log.warning(
                    "execution %s ended after the stop handed it back (%s); not reported again",
                    key,
                    report.status.value,
                )
                continue
            if task.overdue:
                report = Report(
                    ExecutionStatus.TIMEOUT,
                    took,
                    error_message=_overrun_message(work, took, report),
                    logs=report.logs,
                )
            self._on_done(work, report)

    def _watchdog(self) -> None:
        while not self._finished.wait(self._watch_interval()):
            now = time.monotonic()
            late: list[_Task] = []
            doomed: list[int] = []
            with self._lock:
                if now < self._next_deadline:
                    continue
                upcoming = float("inf")
                for task in self._tasks.values():
                    if task.deadline is None or task.groups_killed:
                        continue
                    if not task.overdue:
                        if now < task.deadline:
                            upcoming = min(upcoming, task.deadline)
                            continue
                        task.overdue = True
                        late.append(task)
                    kill_at = task.deadline + KILL_GRACE_SECONDS
                    if now >= kill_at:
                        task.groups_killed = True
                        doomed += task.groups
                    else:
                        upcoming = min(upcoming, kill_at)
                self._next_deadline = upcoming
            for task in late:
                log.warning(
                    "execution %s exceeded its timeout of %g s; thread mode cannot stop it, "
                    "its slot stays taken until it returns",
                    task.work.execution.execution_id,
                    task.work.timeout,
                )
            kill_process_groups(doomed)

    def _watch_interval(self) -> float:
        """Sleep until the earliest deadline (checked at least every second, at most
        every 50 ms): the watchdog costs nothing while no handler is near its timeout."""
        with self._lock:
            wait = self._next_deadline - time.monotonic()
        return min(1.0, max(WATCHDOG_RESOLUTION, wait))

    def stop(self, kill: bool = False) -> list[Work]:
        """Stop taking work and return what has not finished.

        Without ``kill``, the threads still run what was handed over (queued work
        included) and report it. With ``kill``, every queued run is taken out and will
        never start, the process groups of the running ones are killed, and none of the
        returned works is reported by the executor afterwards: the caller reports them.
        A thread still running keeps them in :meth:`in_flight` until it ends.
        """
        doomed: list[int] = []
        with self._lock:
            self._stopping = True
            unfinished = [task.work for task in self._tasks.values()]
            if kill:
                for key, task in list(self._tasks.items()):
                    task.handed_back = True
                    if task.started is None:
                        del self._tasks[key]
                        self._busy -= 1
                    else:
                        doomed += task.groups
            if not self._tasks:
                self._finished.set()
        kill_process_groups(doomed)
        for _ in self._threads:
            self._queue.put(None)
        return unfinished


def _overrun_message(work: Work, took: float, report: Report) -> str:
    message = (
        f"exceeded its timeout of {work.timeout:g} s; thread mode cannot stop a handler "
        f"(it ran for {took:.1f} s)"
    )
    if report.status is not ExecutionStatus.SUCCESS and report.error_message:
        message += f"; it ended with: {report.error_message.splitlines()[0]}"
    return message


@dataclass(frozen=True, slots=True)
class _Spawned:
    """A worker's message to the pool: its handler started process group ``pgid``."""

    pgid: int


def _preload() -> None:
    """What the fork server imports once for all its workers: every built-in handler
    (those that cannot be imported fail in the worker, where they are reported) and the
    handler plugins."""
    for spec in default_registry.types():
        if spec.builtin:
            with contextlib.suppress(Exception):
                spec.resolve()
    load_plugins()


def _child_main(conn: Connection) -> None:
    """A process-mode worker: run works received on ``conn`` one at a time."""
    with contextlib.suppress(OSError):
        os.setpgrp()  # so that a kill of this worker reaches what its handler started
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    load_plugins()
    sending = threading.Lock()  # a handler may report a group from any of its threads

    def spawned(pgid: int) -> None:
        with sending, contextlib.suppress(OSError):
            conn.send(_Spawned(pgid))

    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return
        if work is None:
            return
        report = run_work(work, capture_stdio=True, on_process_group=spawned)
        with sending:
            conn.send(report)


def _child_groups(pid: int) -> set[int]:
    """The process groups of the children of process ``pid`` other than its own (Linux
    only; empty elsewhere): sessions its handler started and did not report."""
    groups: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return groups
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as listing:
                children = listing.read().split()
        except OSError:
            continue
        for child in children:
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(int(child)))
    groups.discard(pid)
    return groups


class _Slot:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, server: ForkServer) -> None:
        self._server = server
        self.worker: Child | None = None
        self.conn: Connection | None = None
        self.spawn()

    def spawn(self) -> None:
        """Ask the fork server for a fresh worker (work may be sent to it at once)."""
        self.conn, self.worker = self._server.fork()

    def pid(self, timeout: float = 0.0) -> int | None:
        """The worker's pid, waiting up to ``timeout`` for it to be forked."""
        return None if self.worker is None else self.worker.wait_pid(timeout)

    def kill(self, groups: Iterable[int] = ()) -> None:
        """Kill the worker, its process group, ``groups`` and every other process group
        its handler started (reported on the pipe, or found among its children)."""
        worker = self.worker
        if worker is None:
            return
        doomed = set(groups)
        pid = worker.wait_pid(FORK_TIMEOUT)
        if pid is not None:
            if not worker.exited.is_set():
                doomed |= _child_groups(pid)  # while they are still its children
            # not reaped before release(): neither id can belong to another process yet
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            worker.exited.wait(5)
        if self.conn is not None:
            with contextlib.suppress(EOFError, OSError, ValueError):
                while self.conn.poll(0):  # groups reported just before the kill
                    message = self.conn.recv()
                    if type(message) is _Spawned:
                        doomed.add(message.pgid)
        kill_process_groups(doomed)
        self._forget()

    def ask_to_stop(self) -> None:
        """Tell an idle worker to exit."""
        if self.conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)

    def close(self) -> None:
        """Stop an idle worker: ask, then kill it if it has not exited within 2 s."""
        self.ask_to_stop()
        if self.worker is None:
            return
        if self.worker.exited.wait(2):
            self._forget()
        else:
            self.kill()

    def _forget(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
            self.conn = None
        if self.worker is not None:
            self.worker.release(5)
            self.worker = None


def _died(slot: _Slot) -> str:
    """Why a worker's pipe closed mid-execution: its exit code or the signal that ended it."""
    code = None
    if slot.worker is not None and slot.worker.exited.wait(1):
        code = slot.worker.returncode
    if code is None:
        how = "its pipe closed"
    elif code < 0:
        try:
            how = f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return f"worker process died while running the handler ({how})"


@dataclass(slots=True)
class _Running:
    """What a busy slot is doing: the work, when it was sent, when it must be killed,
    and the process groups its handler reported."""

    work: Work
    started: float
    deadline: float | None
    groups: list[int] = field(default_factory=list)


class ProcessExecutor:
    """Runs handlers in worker processes; a timeout kills and replaces the worker.

    One dispatcher thread feeds every worker: it hands queued work to idle workers,
    waits on all their pipes at once (and on a wake-up pipe for new work), reports
    each result as it comes, and kills a worker whose handler overran its deadline.
    One thread instead of one per worker keeps the scheduler process's threads from
    competing for the interpreter lock on every completion.
    """

    mode = "process"

    def __init__(self, workers: int, on_done: OnDone) -> None:
        self.workers = workers
        self._on_done = on_done
        self._server = ForkServer(
            preload=("dbcron.executor:_preload",), target="dbcron.executor:_child_main"
        )
        self._lock = threading.Lock()
        self._busy = 0
        self._inflight: dict[str, Work] = {}
        self._pending: collections.deque[Work] = collections.deque()
        self._slots: list[_Slot] = []
        self._idle: list[_Slot] = []
        self._running: dict[_Slot, _Running] = {}
        self._respawning = 0
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._kill = False

    def start(self) -> None:
        """Start the fork server, ask it for the workers, and start the dispatcher thread
        (the workers boot in the background; work handed over meanwhile waits for them)."""
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._server.start()
        for _ in range(self.workers):
            slot = _Slot(self._server)
            self._slots.append(slot)
            self._idle.append(slot)
        self._thread = threading.Thread(
            target=self._dispatch, name="dbcron-process-pool", daemon=True
        )
        self._thread.start()

    def pids(self) -> list[int]:
        """Process ids of the current workers (waiting for those still being forked)."""
        found = (slot.pid(FORK_TIMEOUT) for slot in list(self._slots))
        return [pid for pid in found if pid is not None]

    def free_slots(self) -> int:
        """How many more executions can be handed over now (running or queued)."""
        with self._lock:
            return self.workers * (1 + PREFETCH_PER_WORKER) - self._busy

    def in_flight(self) -> list[Work]:
        """Executions handed over and not yet reported (running or queued)."""
        with self._lock:
            return list(self._inflight.values())

    def submit(self, work: Work) -> None:
        """Run ``work`` on the next free worker."""
        with self._lock:
            self._busy += 1
            self._inflight[work.execution.execution_id] = work
            self._pending.append(work)
        self._poke()

    def stop(self, kill: bool = False) -> list[Work]:
        """Stop the workers (killing busy ones when ``kill``, else letting them finish
        what was handed over); return the works not finished when called. Each of
        them is still reported through ``on_done`` (failed, when killed)."""
        unfinished = self.in_flight()
        with self._lock:
            self._stopping = True
            self._kill = self._kill or kill
        self._poke()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return unfinished

    def _poke(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")  # a full pipe wakes the dispatcher as well

    # -- the dispatcher thread ----------------------------------------------------------

    def _dispatch(self) -> None:
        try:
            while self._dispatch_once():
                pass
        finally:
            for slot in self._idle:
                slot.ask_to_stop()
            for slot in self._idle:
                slot.close()
            self._idle.clear()
            self._server.close()
            with contextlib.suppress(OSError):
                os.close(self._wake_r)
            with contextlib.suppress(OSError):
                os.close(self._wake_w)

    def _dispatch_once(self) -> bool:
        """Hand out, wait, collect; False once stopped and nothing is left to report."""
        with self._lock:
            stopping, kill = self._stopping, self._kill
            if kill:
                dropped = list(self._pending)
                self._pending.clear()
                pairs: list[tuple[_Slot, Work]] = []
            else:
                dropped = []
                pairs = []
                while self._idle and self._pending:
                    pairs.append((self._idle.pop(), self._pending.popleft()))
        for work in dropped:
            self._report(work, Report(ExecutionStatus.FAILED, 0.0, error_message=SHUTDOWN_MESSAGE))
        if kill:
            for slot in list(self._running):
                self._lost(slot, "")
        for slot, work in pairs:
            self._send(slot, work)
        with self._lock:
            if stopping and not self._running and not self._pending and not self._respawning:
                return False
        now = time.monotonic()
        deadlines = [r.deadline for r in self._running.values() if r.deadline is not None]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        by_conn = {slot.conn: slot for slot in self._running if slot.conn is not None}
        ready = multiprocessing.connection.wait([*by_conn, self._wake_r], timeout)
        for obj in ready:
            if obj == self._wake_r:
                with contextlib.suppress(BlockingIOError, OSError):
                    os.read(self._wake_r, 4096)
                continue
            slot = by_conn[obj]  # type: ignore[index]
            try:
                report: Report | _Spawned = slot.conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError, ValueError):
                self._lost(slot, _died(slot))
                continue
            if isinstance(report, _Spawned):
                self._running[slot].groups.append(report.pgid)
                continue
            running = self._running.pop(slot)
            with self._lock:
                self._idle.append(slot)
            self._report(running.work, report)
        now = time.monotonic()
        for slot, running in list(self._running.items()):
            if running.deadline is not None and now >= running.deadline:
                self._lost(
                    slot,
                    f"timed out after {running.work.timeout:g}s; "
                    "the worker process was killed and replaced",
                    ExecutionStatus.TIMEOUT,
                )
        return True

    def _send(self, slot: _Slot, work: Work) -> None:
        started = time.monotonic()
        limit = None if work.timeout is None else started + work.timeout + KILL_GRACE_SECONDS
        self._running[slot] = _Running(work, started, limit)
        try:
            if slot.conn is None:
                raise EOFError("the worker was stopped")
            slot.conn.send(work)
        except (EOFError, OSError, ValueError) as exc:
            self._lost(slot, f"could not hand the execution to its worker process: {exc}")

    def _lost(
        self, slot: _Slot, message: str, status: ExecutionStatus = ExecutionStatus.FAILED
    ) -> None:
        """Kill the slot's worker, report its execution, and (unless stopping) replace
        the worker in the background so that the others are not held up meanwhile."""
        running = self._running.pop(slot)
        slot.kill(running.groups)
        took = round(time.monotonic() - running.started, 6)
        with self._lock:
            stopping, killed = self._stopping, self._kill
            if not stopping:
                self._respawning += 1
        if killed:
            report = Report(ExecutionStatus.FAILED, took, error_message=SHUTDOWN_MESSAGE)
        else:
            report = Report(status, took, error_message=message)
        if not stopping:
            threading.Thread(
                target=self._respawn, args=(slot,), name="dbcron-respawn", daemon=True
            ).start()
        self._report(running.work, report)

    def _respawn(self, slot: _Slot) -> None:
        try:
            slot.spawn()
            if slot.pid(FORK_TIMEOUT) is None:
                slot.kill()
                raise OSError("the fork server did not fork it")
        except Exception:
            log.exception("could not start a replacement worker process")
            with self._lock:
                self._respawning -= 1
                self._slots.remove(slot)
                self.workers -= 1  # one slot fewer, so that no work waits for it
            self._poke()
            return
        with self._lock:
            self._respawning -= 1
            if self._stopping:
                closing = True
            else:
                closing = False
                self._idle.append(slot)
        if closing:
            slot.close()
        self._poke()

    def _report(self, work: Work, report: Report) -> None:
        with self._lock:
            self._inflight.pop(work.execution.execution_id, None)
            self._busy -= 1
        try:
            self._on_done(work, report)
        except Exception:  # the dispatcher must outlive a failing callback
            log.exception("reporting execution %s failed", work.execution.execution_id)


Executor = ThreadExecutor | ProcessExecutor


def make_executor(mode: str, workers: int, on_done: OnDone) -> Executor:
    """A ``thread`` or ``process`` executor with ``workers`` slots."""
    if mode == "thread":
        return ThreadExecutor(workers, on_done)
    if mode == "process":
        return ProcessExecutor(workers, on_done)
    raise ValueError(f"unknown executor mode {mode!r} (thread or process)")
