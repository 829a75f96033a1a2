"""The scheduler: turns due schedules into executions and gets them run.

One :class:`Scheduler` is one node. Its loop, each turn:

1. **claims** due fires (``Store.claim_due``): one transaction turns due schedules into
   pending (or missed) execution rows and moves each job's ``next_execution`` on;
2. **acquires** as many runnable executions as it has free worker slots
   (``Store.acquire``), each with a lease and a fencing token, and hands them to the
   executor;
3. **completes** finished executions in batches (``Store.complete``), inserting retries;
4. keeps its leases alive, sends heartbeats, and **rescues** executions whose node died.

Each step publishes its events (:mod:`dbcron.events`) on the node's bus once the store
call that recorded them returned: ExecutionStarted after a claim or an acquire,
ExecutionFinished for completions accepted (never for rejected ones), ExecutionRescued
after a rescue, ExecutionMissed for the missed rows a claim planned (best effort),
NodeStarted and NodeStopped. A subscriber's exception never reaches the loop.

Then it sleeps until the earliest due time (or until woken by a finished execution, a
change notification, or ``check_interval_seconds`` at most). Any number of schedulers
can share one database: the row locks and the UNIQUE fire key make every fire run once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from dbcron.backoff import Backoff
from dbcron.clock import Clock
from dbcron.config import SchedulerSettings
from dbcron.engine.database_clock import clock_for
from dbcron.engine.node import _Timer
from dbcron.engine.shutdown import Shutdown
from dbcron.engine.wakeup import CHANGE_POLL_SECONDS, POOLER_POLL_SECONDS
from dbcron.errors import DataRefusedError, DbcronError, StoreError
from dbcron.events import (
    EventBus,
    ExecutionMissed,
    ExecutionStarted,
    FiresClaimed,
    NodeStarted,
)
from dbcron.execution import Executor, Work, make_executor
from dbcron.handlers.imports import ImportDirs
from dbcron.models import (
    ClaimSummary,
    Execution,
    Job,
    JobStatus,
    Outcome,
    SchedulerNode,
    Trigger,
    new_id,
)
from dbcron.store.protocol import Store
from dbcron.version import __version__

log = logging.getLogger("dbcron.scheduler")

#: Jobs claimed per transaction: small enough that the first fires of a large burst
#: start within milliseconds, large enough to amortise the transaction.
CLAIM_BATCH = 128
#: Due fires that no worker slot could take for this long are recorded as pending
#: executions (any node may run them; they keep their place in line). Until then they
#: wait in the jobs table, so that most fires cost one row insert and one update.
#: Well below the misfire grace, so that waiting for a slot never makes a fire "late".
QUEUE_AFTER_SECONDS = 2.0


#: How often a node with runs in flight looks for those cancelled (or taken over by
#: another node) to stop them, and stores the logs that grew: one primary-key read (and
#: one update if logs grew), only while something runs.
FLIGHT_CHECK_SECONDS = 1.0

#: The longest the scheduler waits between retries while the database is down.
MAX_BACKOFF_SECONDS = 2.0


class Scheduler(Shutdown):
    """One scheduler node over one database."""

    def __init__(
        self,
        store: Store,
        settings: SchedulerSettings | None = None,
        *,
        clock: Clock | None = None,
        database_url: str | None = None,
        executor: str | None = None,
        rng: random.Random | None = None,
        bus: EventBus | None = None,
        import_dirs: ImportDirs | None = None,
    ) -> None:
        self.store = store
        self.import_dirs = import_dirs
        self.bus = bus or EventBus()
        self.settings = settings or SchedulerSettings()
        self.clock: Clock = clock if clock is not None else clock_for(store)
        self.database_url = database_url
        self.node_id = (
            f"{self.settings.node_name or socket.gethostname()}-{os.getpid()}-{new_id()[:8]}"
        )
        self.executor: Executor = make_executor(
            executor or self.settings.executor, self.settings.max_workers, self._on_done
        )
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._done: list[Outcome] = []
        self._done_lock = threading.Lock()
        self._started_at: datetime | None = None
        self._first_of_cluster = False
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._db_ok = True
        self._stop_listener: Callable[[], None] | None = None
        capabilities = store.capabilities()
        self._change_feed = capabilities.change_feed
        self._commit_counter = capabilities.commit_counter
        lease = float(self.settings.lease_seconds)
        self._lease = timedelta(seconds=lease)
        self._lease_timer = _Timer(max(0.5, lease / 3))
        self._heartbeat_timer = _Timer(max(0.5, min(15.0, lease / 2)))
        self._rescue_timer = _Timer(max(0.5, lease / 3))
        self._flight_timer = _Timer(FLIGHT_CHECK_SECONDS)
        self._data_version: int | None = None
        self._woken = True
        self._next_turn = 0.0
        self._overdue_check_at: float | None = None  # monotonic; None while slots suffice
        # The last claim filled every slot with due jobs still left: more work is due.
        self._more_due = False
        # Completions recorded this turn may have freed a job's slot for queued work.
        self._freed = False
        # After the database comes back, rescue waits a lease period (monotonic): every
        # node must first get the chance to renew the leases of the runs it still has.
        self._rescue_not_before = 0.0
        self.stats = {"claimed": 0, "missed": 0, "started": 0, "completed": 0, "rejected": 0}

    # -- public control ----------------------------------------------------------------

    @property
    def ready(self) -> threading.Event:
        """Set once the node is registered and the workers are up."""
        return self._ready

    def stop(self) -> None:
        """Ask the loop to stop (safe from any thread and from signal handlers)."""
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        """Run until :meth:`stop` is called; then shut down gracefully."""
        self._startup()
        try:
            self._loop()
        finally:
            self._shutdown()

    def start_in_thread(self) -> threading.Thread:
        """Run in a background thread (for the Python API); returns the thread."""
        thread = threading.Thread(target=self.run, name="dbcron-scheduler", daemon=True)
        thread.start()
        return thread

    # -- life cycle ----------------------------------------------------------------------

    def _startup(self) -> None:
        self.executor.start()
        self._retrying(self._register, "registering the scheduler node")
        self._stop_listener = self._listen()
        if self.settings.run_on_startup:
            self._retrying(self._run_on_startup, "queueing run_on_startup executions")
        log.info(
            "scheduler %s started (%s executor, %d workers, database %s)",
            self.node_id,
            self.executor.mode,
            self.settings.max_workers,
            self.store.display_url,
        )
        self._ready.set()

    def _register(self) -> None:
        now = self.clock.now()
        self._started_at = now
        self._first_of_cluster = self.store.register_node(
            SchedulerNode(
                node_id=self.node_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                version=__version__,
                started_at=now,
                last_heartbeat=now,
            ),
            live_after=now - timedelta(seconds=max(5.0, 2 * self._heartbeat_timer.every)),
        )
        self.bus.publish(NodeStarted(self.node_id))

    def _run_on_startup(self) -> None:
        """Queue one run of every active job, once per cluster start: only the node that
        registered first, with no other live node (registrations are serialised), queues
        them; a node joining a running cluster queues none."""
        if not self._first_of_cluster:
            log.info("run_on_startup: other schedulers are running; no startup runs queued")
            return
        now = self.clock.now()
        started = self._started_at or now
        self.store.insert_executions(  # a fire already recorded (a retried call) is skipped
            [
                Execution(
                    job_id=job.job_id,
                    scheduled_for=started,
                    run_after=now,
                    created_at=now,
                    trigger=Trigger.MANUAL,
                    priority=job.priority,
                    logs="queued by scheduler.run_on_startup",
                )
                for job in self.store.list_jobs(status=JobStatus.ACTIVE)
            ]
        )

    def _retrying(self, action: Callable[[], None], what: str) -> None:
        backoff = self._backoff()
        while True:
            try:
                action()
                self._database_back()
                return
            except StoreError as exc:
                self._database_down(exc, what)
                if backoff.wait():
                    raise

    def _backoff(self) -> Backoff:
        """Delays between attempts while the database is down: 0.2 s, doubling, at most
        MAX_BACKOFF_SECONDS (so the node resumes within seconds of the database); a
        wait ends early when the node is asked to stop."""
        return Backoff(
            0.2, 2.0, MAX_BACKOFF_SECONDS, wait=self._stop.wait, monotonic=self.clock.monotonic
        )

    def _database_down(self, exc: DbcronError, what: str) -> None:
        if self._db_ok:
            log.warning("database problem while %s: %s; retrying until it answers", what, exc)
        self._db_ok = False

    def _database_back(self) -> None:
        if not self._db_ok:
            log.warning("database answers again; resuming")
            self._rescue_not_before = self.clock.monotonic() + self._lease.total_seconds()
        self._db_ok = True

    def _loop(self) -> None:
        backoff = self._backoff()  # the loop waits on its own, for next_delay()
        next_turn = 0.0  # monotonic time of the next full turn
        while not self._stop.is_set():
            mono = self.clock.monotonic()
            try:
                self._maintenance(mono)
                if self._woken or mono >= next_turn or self._changed_elsewhere():
                    next_turn = mono + self._turn()
                self._database_back()
                backoff.reset()
            except StoreError as exc:
                self._database_down(exc, "scheduling")
                next_turn = mono + backoff.next_delay()
            self._next_turn = next_turn
            wait = max(0.0, next_turn - self.clock.monotonic())
            wait = min(wait, *(t.remaining(self.clock.monotonic()) for t in self._timers()))
            if self._stop_listener is None:
                poll = (
                    CHANGE_POLL_SECONDS if self._commit_counter is not None else POOLER_POLL_SECONDS
                )
                wait = min(wait, poll)
            self._woken = self._wake.wait(wait) if wait > 0 else True
            self._wake.clear()

    def _turn(self) -> float:
        """Start recorded work, claim due fires, write completions; returns seconds
        until the next turn is needed."""
        self._note_data_version()
        self._freed = False
        now = self.clock.now()
        # 1. Work already recorded and waiting (retries, triggers, queued fires) first:
        #    it is older than anything claimed below.
        self._dispatch(now)
        # 2. Due fires this node has room for: claimed and started in one transaction
        #    (one row insert and one completion update per execution), which also
        #    writes the completions that came in meanwhile.
        saturated = self._claim_and_start(now)
        # 3. Due fires that no slot could take for QUEUE_AFTER_SECONDS are recorded as
        #    pending executions, on time: any node may then run them, in order. Only
        #    looked for once the slots have been short that long, then once a second.
        mono = self.clock.monotonic()
        if not saturated:
            self._overdue_check_at = None
        elif self._overdue_check_at is None:
            self._overdue_check_at = mono + QUEUE_AFTER_SECONDS
        elif mono >= self._overdue_check_at and not self._stop.is_set():
            self._queue_overdue(now)
            self._overdue_check_at = mono + 1.0
        self._flush()  # completions no claim took along
        if self._freed and not self._stop.is_set():
            # A completion recorded above may have made room for work queued behind its
            # job's max_concurrency: start it now rather than at the next planned turn.
            self._dispatch(self.clock.now())
        return self._sleep_time()

    def _claim_and_start(self, now: datetime) -> bool:
        """Claim as many due jobs as there are free slots and start their fires; True
        when the slots ran out before the due jobs did."""
        self._more_due = False
        claimed_full_batch = False
        while not self._stop.is_set():
            free = self.executor.free_slots()
            if free <= 0:
                self._more_due = claimed_full_batch
                return True
            limit = min(CLAIM_BATCH, free)
            # Each batch reads the clock again: it is the recorded started_at.
            now = self.clock.now()
            lease_until = now + self._lease
            missed: dict[tuple[str, datetime], Execution] = {}
            planner = self._planner(now, missed)
            # Completions that came in meanwhile ride along: one commit for both.
            batch = self._take_done()
            began = self.clock.monotonic()
            try:
                summary = self.store.claim_due(
                    now,
                    planner,
                    limit=limit,
                    node_id=self.node_id,
                    lease_until=lease_until,
                    start_limit=free,
                    outcomes=batch,
                )
            except DataRefusedError:
                if not batch:
                    raise
                # One of the completions cannot be stored: write them one by one, then
                # claim again without them.
                self._give_back(batch)
                self._flush()
                continue
            except BaseException:
                self._give_back(batch)
                raise
            self._record_completed(batch, summary.completed)
            self._count_claim(summary, missed)
            if summary.jobs:
                took = self.clock.monotonic() - began
                started = len(summary.started)
                self.bus.publish(FiresClaimed(self.node_id, summary.jobs, started, took))
            if summary.jobs < limit:
                return False
            claimed_full_batch = True
        return False

    def _queue_overdue(self, now: datetime) -> None:
        cutoff = now - timedelta(seconds=QUEUE_AFTER_SECONDS)
        while not self._stop.is_set():
            missed: dict[tuple[str, datetime], Execution] = {}
            planner = self._planner(now, missed)
            summary = self.store.claim_due(now, planner, limit=CLAIM_BATCH, due_before=cutoff)
            self._count_claim(summary, missed)
            if summary.jobs < CLAIM_BATCH:
                return

    def _count_claim(
        self, summary: ClaimSummary, missed: dict[tuple[str, datetime], Execution]
    ) -> None:
        """Start what a committed claim started; publish the missed rows it planned
        (best effort: a row the fire key dropped as a duplicate may be among them)."""
        self._submit(summary.started)
        self.stats["claimed"] += summary.pending
        self.stats["missed"] += summary.missed
        if summary.missed:
            self.bus.publish_all([ExecutionMissed(e) for e in missed.values()])

    def _submit(self, started: Sequence[tuple[Execution, Job]]) -> None:
        """Hand executions started in the database to the executor."""
        for execution, job in started:
            self.executor.submit(Work(execution, job, self.database_url, self.import_dirs))
        self.stats["started"] += len(started)
        if self.bus.wants(ExecutionStarted):
            self.bus.publish_all([ExecutionStarted(e, job) for e, job in started])

    def _dispatch(self, now: datetime) -> None:
        free = self.executor.free_slots()
        while free > 0 and not self._stop.is_set():
            started = self.store.acquire(now, self.node_id, now + self._lease, free)
            self._submit(started)
            if len(started) < free:
                break
            free = self.executor.free_slots()
