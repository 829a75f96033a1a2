"""Shared plumbing for the benchmarks: throw-away databases, bulk job creation,
execution checks, process-tree accounting, statement counting and the environment."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import open_store
from dbcron.store.protocol import Store
from dbcron.store.sqlite import SQLiteStore

#: The repository root (so that worker processes can import ``benchmarks.handlers``).
REPO = Path(__file__).resolve().parents[1]
#: The interpreter of the virtual environment the benchmarks run in.
PYTHON = sys.executable
#: An administrative PostgreSQL URL; each benchmark creates and drops its own database.
PG_ADMIN_URL = os.environ.get(
    "DBCRON_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: A schedule that fires once a year: jobs made due by hand fire exactly once.
YEARLY = "0 0 1 1 *"
#: The far-future ``next_execution`` of jobs that must not be due yet.
FAR_FUTURE = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)
NOOP = "benchmarks.handlers:noop"
STAMP = "benchmarks.handlers:stamp"


# -- databases --------------------------------------------------------------------------


@dataclass
class BenchDB:
    """One throw-away database: its URL, backend and a scratch folder."""

    backend: str
    url: str
    workdir: Path
    pg_name: str | None = None


def _pg_url_for(database: str) -> str:
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


@contextlib.contextmanager
def bench_database(backend: str, *, migrate: bool = True) -> Iterator[BenchDB]:
    """A fresh database for one run (``sqlite``: a temp file; ``postgresql``: a new
    database on the server), migrated unless ``migrate`` is false; dropped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="dbcron-bench-"))
    try:
        if backend == "sqlite":
            db = BenchDB(backend, f"sqlite:///{workdir / 'bench.db'}", workdir)
            if migrate:
                _migrate(db.url, create=True)
            yield db
            return
        name = f"dbcron_bench_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            db = BenchDB(backend, _pg_url_for(name), workdir, pg_name=name)
            if migrate:
                _migrate(db.url, create=False)
            yield db
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _migrate(url: str, *, create: bool) -> None:
    store = open_store(url, create=create, check_schema=False)
    try:
        store.migrate()
    finally:
        store.close()


def run_cli(db: BenchDB, *args: str, timeout: float = 60.0) -> str:
    """Run ``python -m dbcron --db URL ARGS`` in the run's scratch folder; its stdout."""
    done = subprocess.run(
        [PYTHON, "-m", "dbcron", "--db", db.url, *args],
        cwd=db.workdir,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbcron {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def child_env() -> dict[str, str]:
    """The environment for scheduler subprocesses: no dbcron settings leak in, and
    ``benchmarks.handlers`` is importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBCRON_")}
    for key in ("DATABASE_URL", "SUPABASE_DB_URL"):
        env.pop(key, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def sql(store: Store, text: str) -> str:
    """A query written with ``:name`` parameters in the store's parameter style."""
    if store.backend == "postgresql":
        return re.sub(r"(?<!:):([A-Za-z_]\w*)", r"%(\1)s", text)
    return text


# -- jobs and executions ----------------------------------------------------------------


def make_jobs(
    count: int,
    *,
    schedule: str = YEARLY,
    callable_path: str = NOOP,
    next_execution: datetime = FAR_FUTURE,
    prefix: str = "bench",
) -> list[Job]:
    """``count`` active ``python`` jobs running ``callable_path``."""
    now = datetime.now(UTC)
    return [
        Job(
            name=f"{prefix}-{i:05d}",
            job_type="python",
            schedule_expression=schedule,
            config={"callable": callable_path},
            timeout_seconds=60,
            retry_count=0,
            retry_delay_seconds=0,
            created_at=now,
            updated_at=now,
            next_execution=next_execution,
            version=1,
        )
        for i in range(count)
    ]


def bulk_insert_jobs(store: Store, jobs: Sequence[Job]) -> float:
    """Insert ``jobs`` in one transaction with the store's own ``insert_job`` query (what
    ``store.insert_job`` runs, minus one transaction and one NOTIFY per job); seconds."""
    started = time.perf_counter()
    params = [store._job_params(job) for job in jobs]  # type: ignore[attr-defined]
    with store.transaction() as cur:  # type: ignore[attr-defined]
        cur.executemany(store.sql("insert_job"), params)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def make_all_due(store: Store, at: datetime | None = None) -> datetime:
    """Make every job due at ``at`` (now by default) in one transaction; on PostgreSQL
    the same transaction sends dbcron's wake-up NOTIFY. Returns the due time."""
    due = at or datetime.now(UTC)
    with store.transaction() as cur:  # type: ignore[attr-defined]
        cur.execute(
            sql(store, "UPDATE jobs SET next_execution = :due"),
            {"due": store._encode_ts(due)},  # type: ignore[attr-defined]
        )
        if store.backend == "postgresql":
            cur.execute("SELECT pg_notify('dbcron_wakeup', '')")
    return due


def all_executions(store: Store) -> list[Execution]:
    """Every execution row."""
    return store.list_executions(limit=10_000_000)


@dataclass
class Verdict:
    """What the execution table says after a burst."""

    rows: int
    by_status: dict[str, int]
    distinct_jobs_success: int
    duplicate_fires: int
    jobs_with_several_rows: int
    ok: bool
    expected: int

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return dict(self.__dict__)


def verify_once_each(executions: Sequence[Execution], expected: int) -> Verdict:
    """Check that ``expected`` jobs each ran exactly once, successfully."""
    by_status = Counter(e.status.value for e in executions)
    success = [e for e in executions if e.status is ExecutionStatus.SUCCESS]
    fires = Counter((e.job_id, e.scheduled_for, e.retry_attempt) for e in executions)
    per_job = Counter(e.job_id for e in executions)
    duplicates = sum(n - 1 for n in fires.values() if n > 1)
    several = sum(1 for n in per_job.values() if n > 1)
    distinct = len({e.job_id for e in success})
    ok = (
        len(executions) == expected
        and len(success) == expected
        and distinct == expected
        and duplicates == 0
        and several == 0
    )
    return Verdict(len(executions), dict(by_status), distinct, duplicates, several, ok, expected)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """The median."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# -- statement and commit counting ------------------------------------------------------


@dataclass
class StatementCounter:
    """Counts statements as the database sees them (one per parameter set of an
    ``executemany``), driver calls, and commits."""

    statements: int = 0
    driver_calls: int = 0
    commits: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enabled: bool = False

    def reset(self) -> None:
        """Zero the counts and start counting."""
        with self.lock:
            self.statements = self.driver_calls = self.commits = 0
            self.kinds = Counter()
            self.enabled = True

    def stop(self) -> None:
        """Stop counting."""
        self.enabled = False

    def add(self, query: Any, rows: int, *, call: bool) -> None:
        """Record ``rows`` executions of ``query``."""
        if not self.enabled:
            return
        text = query if isinstance(query, str) else str(query)
        word = text.lstrip().split(None, 1)[0].upper() if text.strip() else "?"
        with self.lock:
            if call:
                self.driver_calls += 1
            if word in ("BEGIN", "COMMIT", "ROLLBACK"):
                if word == "COMMIT":
                    self.commits += 1
                self.kinds[word] += rows
                return
            self.statements += rows
            self.kinds[word] += rows

    def as_dict(self) -> dict[str, Any]:
        """For the JSON results."""
        return {
            "statements": self.statements,
            "driver_calls": self.driver_calls,
            "commits": self.commits,
            "by_kind": dict(self.kinds),
        }


class TracingSQLiteStore(SQLiteStore):
    """A SQLite store whose connections report every statement SQLite starts (through
    ``set_trace_callback``: one call per execution, ``executemany`` rows included)."""

    counter: StatementCounter

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn  # type: ignore[no-any-return]
        conn = super()._connect()
        counter = self.counter
        conn.set_trace_callback(lambda text: counter.add(text, 1, call=False))
        return conn


def tracing_sqlite_store(url: str, counter: StatementCounter) -> TracingSQLiteStore:
    """A :class:`TracingSQLiteStore` for a ``sqlite:///`` URL."""
    TracingSQLiteStore.counter = counter
    return TracingSQLiteStore(url[len("sqlite:///") :])


@contextlib.contextmanager
def count_psycopg(counter: StatementCounter) -> Iterator[None]:
    """Count psycopg cursor ``execute``/``executemany`` calls (and their parameter sets)
    and connection commits, in this process only, while the block runs."""
    cursor_cls = psycopg.Cursor
    conn_cls = psycopg.Connection
    original_execute = cursor_cls.execute
    original_many = cursor_cls.executemany
    original_commit = conn_cls.commit

    def execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        counter.add(_query_text(query), 1, call=True)
        return original_execute(self, query, params, **kwargs)

    def executemany(self: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        params_seq = list(params_seq)
        counter.add(_query_text(query), len(params_seq), call=True)
        return original_many(self, query, params_seq, **kwargs)

    def commit(self: Any) -> None:
        if counter.enabled:
            with counter.lock:
                counter.commits += 1
        original_commit(self)

    cursor_cls.execute = execute  # type: ignore[method-assign]
    cursor_cls.executemany = executemany  # type: ignore[method-assign]
    conn_cls.commit = commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        cursor_cls.execute = original_execute  # type: ignore[method-assign]
        cursor_cls.executemany = original_many  # type: ignore[method-assign]
        conn_cls.commit = original_commit  # type: ignore[method-assign]


def _query_text(query: Any) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode(errors="replace")
    return str(getattr(query, "_obj", query))


def pg_xact_commits(db: BenchDB) -> int:
    """``pg_stat_database.xact_commit`` of the run's database (read from another one)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (db.pg_name,)
        ).fetchone()
    return int(row[0]) if row else 0


def pg_stat_statements_available(db: BenchDB) -> tuple[bool, str]:
    """Whether ``pg_stat_statements`` can be used on the run's database, and why not."""
    try:
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
    except psycopg.Error as exc:
        return False, str(exc).strip().splitlines()[0]
    return True, "available"


def pg_stat_statements_calls(db: BenchDB) -> int:
    """Statements executed in the run's database according to ``pg_stat_statements``."""
    with psycopg.connect(db.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def pg_stat_statements_reset(db: BenchDB) -> None:
    """Forget what ``pg_stat_statements`` counted so far."""
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


# -- processes --------------------------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from ``/proc/<pid>/task/*/children``)."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                kids.extend(int(x) for x in text.split())
    return kids


def proc_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(proc_children(current))
    return out


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds used so far by ``pid`` (None if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def proc_status_kib(pid: int, key: str = "VmRSS") -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (VmRSS by default)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_pss_kib(pid: int) -> int | None:
    """Proportional set size (shared pages divided among sharers), from smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cmdline(pid: int) -> str:
    """The command line of ``pid``."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of every live process in ``pid``'s tree."""
    out: dict[int, float] = {}
    for p in proc_tree(pid):
        value = cpu_seconds(p)
        if value is not None:
            out[p] = value
    return out


# -- environment ------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    """The machine, the interpreter, the databases and the dbcron commit."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = proc_meminfo("MemTotal")
    pg_version = "unavailable"
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn,
    ):
        row = conn.execute("SHOW server_version").fetchone()
        pg_version = str(row[0]) if row else "?"
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src")
    diff = _git("diff", "HEAD", "--", "src") + dirty
    import dbcron

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "psycopg": psycopg.__version__,
        "dbcron_version": dbcron.__version__,
        "dbcron_commit": commit,
        "src_dirty": bool(dirty),
        "src_changes_sha256": hashlib.sha256(diff.encode()).hexdigest()[:16] if dirty else None,
    }


def proc_meminfo(key: str) -> int | None:
    """A ``kB`` field of ``/proc/meminfo``."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def wait_quiet(
    pid: int, *, window: float = 0.5, threshold: float = 0.05, timeout: float = 90.0
) -> float:
    """Wait until ``pid``'s process tree uses less than ``threshold`` CPU seconds over
    ``window`` seconds (e.g. freshly spawned workers have finished importing); returns
    the seconds waited."""
    started = time.monotonic()
    before = sum(tree_cpu(pid).values())
    while time.monotonic() - started < timeout:
        time.sleep(window)
        after = sum(tree_cpu(pid).values())
        if after - before < threshold:
            break
        before = after
    return time.monotonic() - started


def wait_until(predicate: Any, timeout: float, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
