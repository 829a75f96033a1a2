"""Thread mode: handlers run in a pool of threads, a watchdog notices overruns."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from dbcron.clock import SYSTEM_CLOCK, Clock
from dbcron.execution.capture import BoundedLog
from dbcron.execution.invoke import kill_process_groups, run_work
from dbcron.execution.work import (
    KILL_GRACE_SECONDS,
    PREFETCH_PER_WORKER,
    WATCHDOG_RESOLUTION,
    OnDone,
    Report,
    Work,
)
from dbcron.models import ExecutionStatus

log = logging.getLogger("dbcron.executor")


@dataclass(slots=True)
class _Task:
    """One execution handed to the thread pool, from submit until its thread ends."""

    work: Work
    started: float | None = None  # None while queued
    deadline: float | None = None
    overdue: bool = False  # its deadline passed while it ran
    groups_killed: bool = False
    handed_back: bool = False  # returned by stop(kill=True): the caller reports it
    cancelled: str | None = None  # why it was cancelled while running
    sink: BoundedLog = field(default_factory=BoundedLog)  # its logs, as they are written
    logs_seen: int = 0  # the sink's version that live_logs() last passed on
    groups: list[int] = field(default_factory=list)


class ThreadExecutor:
    """Runs handlers in a pool of threads; a watchdog notices the runs that overrun.

    A thread cannot be stopped, so a run past its deadline keeps its slot and stays in
    flight until its handler returns; it is then reported ``timeout`` (its result
    discarded). The process groups it reported are killed once it is
    ``KILL_GRACE_SECONDS`` past its deadline.
    """

    mode = "thread"

    def __init__(self, workers: int, on_done: OnDone, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.workers = workers
        self._clock = clock
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
                task.started = self._clock.monotonic()  # the timeout counts from here
                if work.timeout is not None:
                    task.deadline = task.started + work.timeout
                    self._next_deadline = min(self._next_deadline, task.deadline)
            report = run_work(
                work, on_process_group=self._group_of(task), clock=self._clock, sink=task.sink
            )
            took = round(self._clock.monotonic() - task.started, 6)
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
            if task.cancelled is not None:
                report = Report(
                    ExecutionStatus.CANCELLED, took, error_message=task.cancelled, logs=report.logs
                )
            elif task.overdue:
                report = Report(
                    ExecutionStatus.TIMEOUT,
                    took,
                    error_message=_overrun_message(work, took, report),
                    logs=report.logs,
                )
            self._on_done(work, report)

    def _group_of(self, task: _Task) -> Callable[[int], None]:
        """What a handler calls with each process group it starts: kept to be killed at
        a timeout or a cancel, killed at once if the run was cancelled meanwhile."""

        def started(pgid: int) -> None:
            with self._lock:
                task.groups.append(pgid)
                cancelled = task.cancelled is not None
            if cancelled:
                kill_process_groups([pgid])

        return started

    def _watchdog(self) -> None:
        while not self._finished.wait(self._watch_interval()):
            now = self._clock.monotonic()
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
            wait = self._next_deadline - self._clock.monotonic()
        return min(1.0, max(WATCHDOG_RESOLUTION, wait))

    def live_logs(self) -> dict[str, str]:
        """The logs so far of the running executions whose logs grew since the last call."""
        live: dict[str, str] = {}
        with self._lock:
            for key, task in self._tasks.items():
                if task.started is not None and task.sink.version != task.logs_seen:
                    task.logs_seen = task.sink.version
                    text = task.sink.getvalue()
                    if text is not None:
                        live[key] = text
        return live

    def cancel(self, execution_id: str, message: str) -> bool:
        """Stop ``execution_id``: a queued one never starts and is reported at once; a
        running one has the process groups its handler started killed (a shell command
        ends) and is reported ``cancelled`` when its thread returns (a Python handler's
        thread cannot be stopped). False when it is not in flight."""
        with self._lock:
            task = self._tasks.get(execution_id)
            if task is None or task.handed_back:
                return False
            if task.started is None:
                del self._tasks[execution_id]  # its thread skips it when dequeued
                self._busy -= 1
                doomed: list[int] = []
            else:
                task.cancelled = message
                doomed = list(task.groups)
        if task.started is None:
            self._on_done(task.work, Report(ExecutionStatus.CANCELLED, 0.0, error_message=message))
        kill_process_groups(doomed)
        return True

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
