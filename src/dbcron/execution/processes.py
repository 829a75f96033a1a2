"""Process mode: one worker process per slot, forked from the fork server; overruns killed."""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from dbcron.clock import SYSTEM_CLOCK, Clock
from dbcron.execution.capture import BoundedLog
from dbcron.execution.forkserver import Child, ForkServer
from dbcron.execution.invoke import kill_process_groups, run_work
from dbcron.execution.work import (
    FORK_TIMEOUT,
    KILL_GRACE_SECONDS,
    LIVE_LOG_SECONDS,
    PREFETCH_PER_WORKER,
    SHUTDOWN_MESSAGE,
    OnDone,
    Report,
    Work,
)
from dbcron.handlers.registry import default_registry, load_plugins
from dbcron.models import ExecutionStatus

log = logging.getLogger("dbcron.executor")


@dataclass(frozen=True, slots=True)
class _Spawned:
    """A worker's message to the pool: its handler started process group ``pgid``."""

    pgid: int


@dataclass(frozen=True, slots=True)
class _LiveLogs:
    """A worker's message to the pool: the logs of ``execution_id`` so far."""

    execution_id: str
    text: str


class _LogPump:
    """In a worker process: sends the running execution's logs to the pool every
    ``LIVE_LOG_SECONDS`` while they grow (one daemon thread for the worker's life)."""

    def __init__(self, send: Callable[[object], None]) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._current: tuple[str, BoundedLog] | None = None
        self._seen = 0
        self._tick = threading.Event()  # never set: its wait is the pump's pace
        threading.Thread(target=self._pump, name="dbcron-log-pump", daemon=True).start()

    def watch(self, execution_id: str | None, sink: BoundedLog | None = None) -> None:
        """Follow ``sink`` as the logs of ``execution_id`` (None: nothing runs)."""
        with self._lock:
            self._current = None if execution_id is None or sink is None else (execution_id, sink)
            self._seen = 0

    def _pump(self) -> None:
        while True:
            self._tick.wait(LIVE_LOG_SECONDS)
            with self._lock:
                current = self._current
                if current is None or current[1].version == self._seen:
                    continue
                self._seen = current[1].version
                text = current[1].getvalue()
                if text is not None:
                    # under the lock: once watch(None) returned, nothing of that run is sent
                    self._send(_LiveLogs(current[0], text))


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

    def send(message: object) -> None:
        with sending, contextlib.suppress(OSError):
            conn.send(message)

    def spawned(pgid: int) -> None:
        send(_Spawned(pgid))

    pump = _LogPump(send)
    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return
        if work is None:
            return
        sink = BoundedLog()
        pump.watch(work.execution.execution_id, sink)
        try:
            report = run_work(work, capture_stdio=True, on_process_group=spawned, sink=sink)
        finally:
            pump.watch(None)
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

    def __init__(self, workers: int, on_done: OnDone, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.workers = workers
        self._on_done = on_done
        self._clock = clock
        self._server = ForkServer(
            preload=("dbcron.execution.processes:_preload",),
            target="dbcron.execution.processes:_child_main",
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
        self._cancels: dict[str, str] = {}  # execution id -> message, for the dispatcher
        self._live: dict[str, str] = {}  # execution id -> logs so far, not yet taken

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

    def live_logs(self) -> dict[str, str]:
        """The logs so far of the running executions whose logs grew since the last
        call (their workers send them every ``LIVE_LOG_SECONDS``)."""
        with self._lock:
            live, self._live = self._live, {}
        return live

    def cancel(self, execution_id: str, message: str) -> bool:
        """Stop ``execution_id``: a queued one is dropped, a running one's worker is
        killed (with every process group its handler started) and replaced; either is
        reported ``cancelled`` with ``message``. False when it is not in flight."""
        with self._lock:
            if execution_id not in self._inflight:
                return False
            self._cancels[execution_id] = message
        self._poke()
        return True

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
        self._stop_cancelled()
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
        now = self._clock.monotonic()
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
            if isinstance(report, _LiveLogs):
                with self._lock:
                    if report.execution_id in self._inflight:
                        self._live[report.execution_id] = report.text
                continue
            running = self._running.pop(slot)
            with self._lock:
                self._idle.append(slot)
            self._report(running.work, report)
        now = self._clock.monotonic()
        for slot, running in list(self._running.items()):
            if running.deadline is not None and now >= running.deadline:
                self._lost(
                    slot,
                    f"timed out after {running.work.timeout:g}s; "
                    "the worker process was killed and replaced",
                    ExecutionStatus.TIMEOUT,
                )
        return True

    def _stop_cancelled(self) -> None:
        """Drop the cancelled executions still queued and kill the workers running the
        others (dispatcher thread only: it owns the slots)."""
        with self._lock:
            if not self._cancels:
                return
            cancels, self._cancels = self._cancels, {}
            dropped = [w for w in self._pending if w.execution.execution_id in cancels]
            for work in dropped:
                self._pending.remove(work)
        for work in dropped:
            message = cancels[work.execution.execution_id]
            self._report(work, Report(ExecutionStatus.CANCELLED, 0.0, error_message=message))
        for slot, running in list(self._running.items()):
            key = running.work.execution.execution_id
            if key in cancels:
                self._lost(slot, cancels[key], ExecutionStatus.CANCELLED)

    def _send(self, slot: _Slot, work: Work) -> None:
        started = self._clock.monotonic()
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
        took = round(self._clock.monotonic() - running.started, 6)
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
            self._live.pop(work.execution.execution_id, None)
            self._busy -= 1
        try:
            self._on_done(work, report)
        except Exception:  # the dispatcher must outlive a failing callback
            log.exception("reporting execution %s failed", work.execution.execution_id)
