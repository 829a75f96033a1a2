"""Operations on a database as a whole: schema (init, migrate), the example jobs,
running one job in the foreground, and the scheduler's effective settings.

``dbcron init/migrate/seed/run/start`` and ``create_database_manager`` call these; the
adapters only parse their input and render what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbcron.config import SchedulerSettings
from dbcron.errors import ValidationError
from dbcron.eventbus import EventBus
from dbcron.handlers.imports import ImportDirs
from dbcron.manager import MAINTENANCE_JOB, JobManager
from dbcron.models import Execution, Job, JobStatus
from dbcron.store.protocol import Store

#: The jobs ``dbcron seed`` creates (each unless one of its name exists); the
#: maintenance job is :data:`dbcron.manager.MAINTENANCE_JOB`, created unless one exists.
EXAMPLE_JOBS: tuple[dict[str, Any], ...] = (
    {
        "name": "Heartbeat",
        "job_type": "shell",
        "schedule_expression": "* * * * *",
        "config": {"command": ["echo", "dbcron is alive"]},
        "description": "Example: a command every minute, so that executions appear at once.",
        "timeout_seconds": 30,
        "retry_count": 0,
    },
    {
        "name": "Daily Fetch",
        "job_type": "paper_fetch",
        "schedule_expression": "0 9 * * *",
        "config": {"keywords": ["LLM", "RAG"], "max_papers": 50},
        "description": "Example: the specification's daily arXiv fetch at 09:00.",
    },
)

EXECUTOR_MODES = ("process", "thread")


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did: the schema version, the migrations applied, the
    maintenance job created (None when one existed or none was asked for)."""

    database: str
    schema_version: int
    applied: list[int]
    maintenance_job: Job | None


@dataclass(frozen=True)
class MigrateResult:
    """What ``migrate`` did: the versions before and after, the migrations applied."""

    database: str
    before: int
    after: int
    applied: list[int]


@dataclass(frozen=True)
class SeedResult:
    """One example job: ``job`` is the job created, None when it existed already."""

    name: str
    job: Job | None


class Operations:
    """Schema, seed, foreground runs and engine settings over one store."""

    def __init__(
        self,
        store: Store,
        jobs: JobManager,
        *,
        database_url: str | None = None,
        bus: EventBus | None = None,
        import_dirs: ImportDirs | None = None,
    ) -> None:
        """``import_dirs``: where ``dbcron run`` imports a ``python`` job's module from."""
        self.store = store
        self.jobs = jobs
        self.database_url = database_url
        self.bus = bus or jobs.bus
        self.import_dirs = import_dirs

    # -- schema ------------------------------------------------------------------------

    def migrate(self) -> MigrateResult:
        """Apply the migrations this release ships that the database lacks."""
        before = self.store.schema_version()
        applied = self.store.migrate()
        after = self.store.schema_version() if applied else before
        return MigrateResult(self.store.display_url, before, after, applied)

    def init(self, *, maintenance: bool = True) -> InitResult:
        """Create or upgrade the schema (idempotent) and, with ``maintenance``, the
        daily maintenance job unless one exists."""
        applied = self.store.migrate()
        version = self.store.schema_version()
        created = self.jobs.ensure_maintenance_job() if maintenance else None
        return InitResult(self.store.display_url, version, applied, created)

    def seed(self) -> list[SeedResult]:
        """Create the example jobs, skipping any whose name exists (and the maintenance
        job when any maintenance job exists)."""
        existing = {job.name for job in self.jobs.list_jobs()}
        results: list[SeedResult] = []
        for spec in EXAMPLE_JOBS:
            name = spec["name"]
            job = None if name in existing else self.jobs.new_job(**spec)
            results.append(SeedResult(name, job))
        name = MAINTENANCE_JOB["name"]
        job = None if name in existing else self.jobs.ensure_maintenance_job()
        results.append(SeedResult(name, job))
        return results

    # -- running -----------------------------------------------------------------------

    def run_now(
        self,
        job_id: str,
        *,
        mode: str = "process",
        on_progress: Callable[[Execution, float], None] | None = None,
    ) -> Execution:
        """Run the job ``job_id`` (id or prefix) once, now, in this process, through the
        real executor; returns its finished execution. A deleted job cannot run.
        ``on_progress`` gets the running execution and its seconds so far, about once a
        second (see :func:`dbcron.runner.run_once`)."""
        from dbcron.runner import run_once

        check_executor(mode)
        job = self.jobs.get_job(job_id)
        if job.status is JobStatus.DELETED:
            raise ValidationError(f"job {job.job_id} is deleted; it cannot be run")
        return run_once(
            self.store,
            job,
            database_url=self.database_url,
            mode=mode,
            bus=self.bus,
            on_progress=on_progress,
            import_dirs=self.import_dirs,
        )


def engine_settings(
    settings: SchedulerSettings, *, workers: int | None = None, executor: str | None = None
) -> SchedulerSettings:
    """``settings`` with ``workers`` (max_workers) and ``executor`` overridden, each
    validated like the configuration file's value."""
    changes: dict[str, Any] = {}
    if workers is not None:
        if workers < 1:
            raise ValidationError("--workers must be at least 1")
        changes["max_workers"] = workers
    if executor is not None:
        changes["executor"] = check_executor(executor)
    return settings.model_copy(update=changes) if changes else settings


def check_executor(mode: str) -> str:
    """``mode`` if it is an executor mode, else ValidationError."""
    if mode not in EXECUTOR_MODES:
        raise ValidationError("--executor must be process or thread")
    return mode
