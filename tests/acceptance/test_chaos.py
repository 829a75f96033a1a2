"""Chaos: three ``dbcron start`` processes on one PostgreSQL, killed with -9 (alone, or
with their worker processes, as a lost host), stopped with SIGTERM and restarted, and
their database connections terminated, for ``DBCRON_CHAOS_SECONDS`` (30 by default;
``make chaos DURATION=600`` for a long run). The actions come from a seeded
``random.Random``: the seed is printed, and ``DBCRON_CHAOS_SEED`` replays the sequence.

Afterwards, with every fire of the window settled and every scheduler stopped
gracefully, the ledger of real handler starts and the executions table must show:
no (job, fire, attempt) started twice and no fire's work done twice unless the earlier
start ran in a process killed with -9; no fire succeeded twice; nothing left running;
every due fire of the window recorded and settled (a success, a failure with no retries
left, or missed with a reason); no completion thrown away as stale.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import psycopg
import pytest

from dbcron.manager import JobManager
from dbcron.models import ExecutionStatus, Job, OverlapPolicy
from dbcron.store import open_store
from tests.acceptance.conftest import Cli, make_env
from tests.acceptance.test_scheduler_processes import scheduler_env
from tests.support import exactly_once as once
from tests.support.processes import alive, descendants, kill_all
from tests.support.waiting import wait_for

CHAOS_SECONDS = float(os.environ.get("DBCRON_CHAOS_SECONDS", "30"))
NODES = 3
WORKERS = 4
LEASE_SECONDS = 3
#: Longer than any run: a graceful stop waits for every run it has, never kills one.
GRACE_SECONDS = 20
#: Seconds between two chaos actions (uniform).
PACE = (1.0, 3.0)


@dataclass(frozen=True)
class Kind:
    """A kind of job: ``@every <every>s``, its handler runs ``seconds`` and fails its
    first ``fail_attempts`` attempts."""

    name: str
    every: int
    seconds: float = 0.0
    fail_attempts: int = 0
    retry_count: int = 1
    retry_delay: int = 0
    overlap: OverlapPolicy = OverlapPolicy.SKIP


KINDS = [
    Kind("quick-a", 1),
    Kind("quick-b", 1),
    Kind("quick-c", 1),
    Kind("quick-flaky", 1, fail_attempts=1, retry_count=2),
    Kind("second-queued", 2, 1.0, retry_count=2, overlap=OverlapPolicy.QUEUE),
    Kind("second-flaky", 2, 1.0, fail_attempts=1, retry_count=2, retry_delay=1),
    # longer than the lease: its renewal is what keeps them from being rescued
    Kind("five", 3, 5.0),
    Kind("four-flaky", 5, 4.0, fail_attempts=1, retry_count=2),
    Kind("four-overlapping", 2, 4.0, overlap=OverlapPolicy.ALLOW),
]


@dataclass
class Node:
    """One ``dbcron start`` process."""

    number: int
    proc: subprocess.Popen[bytes]
    executor: str
    out: Path
    sink: IO[bytes]
    fate: str = "running"  # running | stopping | killed | host lost

    @property
    def started(self) -> bool:
        """Its log says it is registered and running."""
        return " started (" in self.out.read_text(errors="replace")


@dataclass
class Chaos:
    """The cluster under test, and what was done to it."""

    url: str
    home: Path
    admin_url: str
    seed: int
    nodes: list[Node] = field(default_factory=list)
    killed_pids: set[int] = field(default_factory=set)
    events: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)
    #: Actions still owed: each kind comes once, in random order, before random picks.
    deck: list[str] = field(default_factory=lambda: ["cut", "kill", "host", "term"])

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.rng.shuffle(self.deck)

    def note(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self.t0:6.1f}s {what}")

    def live(self) -> list[Node]:
        return [n for n in self.nodes if n.fate == "running"]

    def start_node(self) -> Node:
        number = len(self.nodes)
        executor = self.rng.choice(["thread", "process"])
        out = self.home / f"node-{number}.out"
        sink = open(out, "wb")  # noqa: SIM115 (closed in stop_all)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dbcron",
                "--db",
                self.url,
                "start",
                "--executor",
                executor,
                "--workers",
                str(WORKERS),
                "--pid-file",
                str(self.home / f"node-{number}.pid"),
                "--log-file",
                str(self.home / f"node-{number}.log"),
            ],
            cwd=self.home,
            env=scheduler_env(
                self.home, lease_seconds=LEASE_SECONDS, shutdown_grace_seconds=GRACE_SECONDS
            ),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        node = Node(number, proc, executor, out, sink)
        self.nodes.append(node)
        self.note(f"start node {number} (pid {proc.pid}, {executor} executor)")
        return node

    def kill(self, node: Node, host: bool) -> None:
        """kill -9 the scheduler; with ``host``, its worker processes as well (a lost
        host). Otherwise they outlive it and finish the handler they run."""
        workers = descendants(node.proc.pid)
        self.killed_pids |= {node.proc.pid, *workers}
        node.proc.send_signal(signal.SIGKILL)
        if host:
            kill_all(workers)
        node.fate = "host lost" if host else "killed"
        node.proc.wait(10)
        node.sink.close()
        self.note(
            f"kill -9 node {node.number} (pid {node.proc.pid}, {node.executor}, "
            f"{'and' if host else 'not'} its workers {workers})"
        )

    def terminate(self, node: Node) -> None:
        node.proc.send_signal(signal.SIGTERM)
        node.fate = "stopping"
        self.note(f"SIGTERM node {node.number} (pid {node.proc.pid})")

    def cut_connections(self) -> None:
        name = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            ).fetchone()
        self.note(f"pg_terminate_backend: {row[0] if row else 0} connections")

    def act(self) -> None:
        """One action (random, once the deck is played); a node killed or stopped is
        replaced."""
        up = [n for n in self.live() if n.started]
        if self.deck and (up or self.deck[-1] == "cut"):
            action = self.deck.pop()
        else:
            action = self.rng.choices(["cut", "kill", "host", "term"], [25, 25, 15, 35])[0]
        if action == "cut" or not up:
            self.cut_connections()
            return
        victim = self.rng.choice(up)
        if action == "term":
            self.terminate(victim)
        else:
            self.kill(victim, host=action == "host")

    def run(self, seconds: float) -> None:
        """Act at random for ``seconds``, keeping NODES schedulers (mostly) running."""
        end = time.monotonic() + seconds
        restarts: list[float] = []
        for _ in range(NODES):
            self.start_node()
        next_act = time.monotonic() + self.rng.uniform(*PACE)
        while True:
            now = time.monotonic()
            for node in self.nodes:
                if node.fate == "stopping" and node.proc.poll() is not None:
                    node.sink.close()
            for due in [t for t in restarts if t <= now]:
                restarts.remove(due)
                self.start_node()
            if now >= end:
                break
            if now >= next_act:
                before = len(self.live())
                self.act()
                # a replacement comes up at once or after a gap (downtime, for misfires)
                restarts += [now + self.rng.choice([0.0, 0.0, 1.0, 3.0])] * (
                    before - len(self.live())
                )
                next_act = now + self.rng.uniform(*PACE)
            # the chaos's own pacing, not a synchronisation: wake for the next action
            time.sleep(max(0.0, min([next_act, end, *restarts]) - time.monotonic()))
        for _ in restarts:
            self.start_node()

    def stop_all(self) -> None:
        """SIGTERM every scheduler still running and wait for each to exit."""
        for node in self.live():
            self.terminate(node)
        for node in self.nodes:
            try:
                node.proc.wait(GRACE_SECONDS + 15)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
                self.note(f"node {node.number} did not stop within the grace; killed")
            node.sink.close()

    def outputs(self, graceful_only: bool = False) -> dict[int, str]:
        return {
            n.number: n.out.read_text(errors="replace")
            for n in self.nodes
            if not graceful_only or n.fate == "stopping"
        }


def settled(url: str, before: datetime) -> bool:
    """Every fire due by ``before`` is claimed and no run of it is pending or running."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM job_executions WHERE status IN ('pending', 'running') "
            "AND scheduled_for <= %s), (SELECT count(*) FROM jobs WHERE next_execution <= %s)",
            [before, before],
        ).fetchone()
    return row is not None and row == (0, 0)


def add_jobs(url: str, ledger: Path) -> dict[str, tuple[Job, Kind]]:
    store = open_store(url)
    try:
        manager = JobManager(store)
        jobs = {}
        for kind in KINDS:
            job = manager.create_job(
                Job(
                    name=kind.name,
                    job_type="python",
                    schedule_expression=f"@every {kind.every}s",
                    config=once.ledger_config(ledger, kind.seconds, kind.fail_attempts),
                    timeout_seconds=120,
                    retry_count=kind.retry_count,
                    retry_delay_seconds=kind.retry_delay,
                    overlap_policy=kind.overlap,
                    max_concurrency=1,
                )
            )
            jobs[job.job_id] = (job, kind)
        return jobs
    finally:
        store.close()


@pytest.fixture
def chaos(
    make_pg_database: Callable[[], str], tmp_path: Path, pg_admin_url: str
) -> Iterator[Chaos]:
    seed = int(os.environ.get("DBCRON_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"chaos seed {seed} (replay the actions with DBCRON_CHAOS_SEED={seed})")
    url = make_pg_database()
    cluster = Chaos(url, tmp_path, pg_admin_url, seed)
    try:
        yield cluster
    finally:
        for node in cluster.nodes:
            if node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()
        kill_all(cluster.killed_pids)  # orphaned workers of killed schedulers, if any
        print("\n".join(cluster.events))


@pytest.mark.timeout(CHAOS_SECONDS + 240)
def test_chaos_every_fire_runs_once(chaos: Chaos) -> None:
    ledger = chaos.home / "ledger"
    Cli(chaos.url, chaos.home, make_env(chaos.home)).ok("init", "--no-maintenance")
    jobs = add_jobs(chaos.url, ledger)

    chaos.t0 = time.monotonic()
    chaos.run(CHAOS_SECONDS)
    window_end = datetime.now(UTC)
    chaos.note("chaos over: waiting for the window's fires to settle")
    try:
        wait_for(lambda: settled(chaos.url, window_end), 90, interval=0.2, what="settled")
        chaos.note("settled")
    except AssertionError as exc:  # the checks below say what is left
        chaos.note(f"not settled: {exc}")
    chaos.stop_all()
    chaos.note("every scheduler stopped")
    # orphaned workers of schedulers killed alone finish their handler, then exit
    wait_for(lambda: not any(alive(pid) for pid in chaos.killed_pids), 30, what="orphans")

    rows = once.executions(chaos.url)
    starts = once.starts(ledger)
    killed = chaos.killed_pids
    expected = {
        job_id: (job, once.every_fires(job.next_execution, window_end, kind.every))
        for job_id, (job, kind) in jobs.items()
        if job.next_execution is not None
    }
    checks: dict[str, list[str]] = {
        "a (job, fire, attempt) started twice": once.repeated_starts(starts, killed),
        "a fire's work done twice": once.fires_run_twice(starts, rows, killed),
        "a fire succeeded twice": once.double_successes(rows),
        "a live node's run rescued": once.rescued_from_live_nodes(rows, killed),
        "a failure other than on purpose or by kill -9": once.unexpected_failures(rows, killed),
        "a success without a handler start": once.successes_without_a_start(rows, starts),
        "a completion rejected": once.rejected_completions(chaos.outputs().values()),
        "a run left running": [
            f"{e.execution_id} (job {e.job_id}, fire {e.scheduled_for.isoformat()}) on {e.node_id}"
            for e in rows
            if e.status is ExecutionStatus.RUNNING
        ],
        "a due fire not accounted for": once.unaccounted_fires(rows, expected),
        "a fire off the schedule": once.unexpected_fires(rows, expected),
        "a graceful stop that did not exit 0": [
            f"node {n.number} (pid {n.proc.pid}) exited {n.proc.returncode}"
            for n in chaos.nodes
            if n.fate == "stopping" and n.proc.returncode != 0
        ],
        "a traceback or error in a scheduler's output": [
            f"node {number}: {line}"
            for number, text in chaos.outputs(graceful_only=True).items()
            for line in text.splitlines()
            if "Traceback" in line or " ERROR " in line
        ],
    }
    failed = {name: problems for name, problems in checks.items() if problems}
    summary = (
        f"{len(starts)} handler starts, {len(rows)} executions, "
        f"{sum(1 for e in rows if e.status is ExecutionStatus.SUCCESS)} successes, "
        f"{len(chaos.nodes)} scheduler processes, {len(killed)} killed pids"
    )
    chaos.note(summary)
    report = "\n".join(
        f"{name} ({len(problems)}):\n    " + "\n    ".join(problems[:10])
        for name, problems in failed.items()
    )
    assert not failed, f"chaos seed {chaos.seed}; {summary}\n{report}"
    assert len(starts) > 4 * CHAOS_SECONDS  # the jobs did run
