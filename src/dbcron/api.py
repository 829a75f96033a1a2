"""The specification's Python API: ``create_database_manager`` and
``DatabaseJobScheduler``, with the signatures its users already call.

```python
from dbcron import DatabaseJobScheduler, create_database_manager

db_manager = create_database_manager({"database": {"url": "sqlite:///dbcron.db"}})
scheduler = DatabaseJobScheduler(db_manager)
job_id = scheduler.create_job(name="Daily Paper Fetch", job_type="paper_fetch",
                              schedule_expression="0 9 * * *",
                              config={"keywords": ["AI", "ML", "RAG"]})
```
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbcron.clock import Clock
from dbcron.config import Settings, load_settings
from dbcron.errors import DbcronError
from dbcron.manager import JobManager, StatusReport
from dbcron.models import Execution, Job, JobStatus
from dbcron.store import Store, open_store

if TYPE_CHECKING:
    from dbcron.scheduler import Scheduler


def create_database_manager(
    config: Settings | Mapping[str, Any] | str | Path | None = None,
    *,
    create: bool = True,
) -> Store:
    """Open (and, by default, initialise) the database that ``config`` names.

    ``config`` may be a :class:`~dbcron.config.Settings`, a mapping shaped like
    ``config.yaml`` (``{"database": {"url": ...}}``), a database URL, or None for the
    effective configuration (``config.yaml``, environment, ``.env``).
    """
    settings = _settings(config)
    url = settings.database.url
    store = open_store(
        url,
        create=create,
        check_schema=not create,
        pool_size=settings.database.pool_size,
        connect_timeout=settings.database.connect_timeout_seconds,
        listen=settings.database.listen,
    )
    if create:
        store.migrate()
    return store


def _settings(config: Settings | Mapping[str, Any] | str | Path | None) -> Settings:
    if isinstance(config, Settings):
        return config
    if config is None:
        return load_settings().settings
    if isinstance(config, str | Path):
        return load_settings(flags={"database.url": str(config)}).settings
    flags: dict[str, Any] = {}
    for section, values in config.items():
        if isinstance(values, Mapping):
            for key, value in values.items():
                flags[f"{section}.{key}"] = value
        else:
            flags[str(section)] = values
    return load_settings(flags=flags, environ={}).settings


class DatabaseJobScheduler:
    """The specification's scheduler object, backed by :class:`JobManager`.

    Job management works against the database at once, whether or not a scheduler
    runs; :meth:`start` and :meth:`stop` run the engine in a background thread.
    """

    def __init__(
        self,
        db_manager: Store,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = db_manager
        self.settings = settings or Settings()
        self.manager = JobManager(db_manager, clock=clock, defaults=self.settings.job_defaults)
        self._engine: Scheduler | None = None
        self._engine_thread: threading.Thread | None = None

    def create_job(
        self,
        name: str,
        job_type: str,
        schedule_expression: str,
        config: Mapping[str, Any] | None = None,
        description: str | None = None,
        **options: Any,
    ) -> str:
        """Create a job and return its id. ``options`` are any other :class:`Job`
        fields (``timezone``, ``timeout_seconds``, ``retry_count``, ...)."""
        options.setdefault("timezone", self.manager.defaults.timezone)
        job = Job(
            name=name,
            job_type=job_type,
            schedule_expression=schedule_expression,
            config=dict(config or {}),
            description=description,
            **options,
        )
        return self.manager.create_job(job).job_id

    def get_job(self, job_id: str) -> Job:
        """The job with this id (or unique prefix)."""
        return self.manager.get_job(job_id)

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """Jobs, optionally of one status."""
        return self.manager.list_jobs(status=status)

    def update_job(self, job: Job) -> Job:
        """Store a changed job (optimistic concurrency on ``job.version``)."""
        return self.manager.update_job(job)

    def delete_job(self, job_id: str, purge: bool = False) -> Job:
        """Soft-delete (or with ``purge`` remove) a job."""
        return self.manager.delete_job(job_id, purge=purge)

    def pause_job(self, job_id: str) -> Job:
        """Pause a job's schedule."""
        return self.manager.pause_job(job_id)

    def resume_job(self, job_id: str) -> Job:
        """Resume a paused job."""
        return self.manager.resume_job(job_id)

    def trigger_job(self, job_id: str) -> Execution:
        """Run a job now: records a manual pending execution."""
        return self.manager.trigger_job(job_id)

    def start(self, *, executor: str | None = None) -> None:
        """Start the scheduling engine in a background thread of this process."""
        from dbcron.scheduler import Scheduler

        if self._engine is not None:
            raise DbcronError("the scheduler is already running")
        self._engine = Scheduler(
            self.store,
            self.settings.scheduler,
            database_url=self.settings.database.url,
            executor=executor,
        )
        self._engine_thread = self._engine.start_in_thread()
        self._engine.ready.wait(60)

    def stop(self) -> None:
        """Stop the engine gracefully (running executions get the shutdown grace period)."""
        if self._engine is None:
            return
        self._engine.stop()
        if self._engine_thread is not None:
            self._engine_thread.join()
        self._engine = None
        self._engine_thread = None

    @property
    def running(self) -> bool:
        """True while :meth:`start` has started the engine and :meth:`stop` not stopped it."""
        return self._engine is not None

    def get_status(self, window: timedelta = timedelta(hours=24)) -> StatusReport:
        """Nodes, running executions, upcoming fires and statistics."""
        return self.manager.status_report(window=window)
