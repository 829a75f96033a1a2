"""The specification's Python API: ``create_database_manager`` and
``DatabaseJobScheduler``, with the signatures its users already call.

```python
from dbcron import DatabaseJobScheduler, create_database_manager

db_manager = create_database_manager({"database": {"url": "sqlite:///dbcron.db"}})
# or create_database_manager(config) with the application's whole config dict, or
# create_database_manager("config.yaml")
scheduler = DatabaseJobScheduler(db_manager)
job_id = scheduler.create_job(name="Daily Paper Fetch", job_type="paper_fetch",
                              schedule_expression="0 9 * * *",
                              config={"keywords": ["AI", "ML", "RAG"]})
```
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbcron.clock import Clock
from dbcron.config import Settings
from dbcron.errors import DbcronError
from dbcron.eventbus import EventBus
from dbcron.manager import JobManager, StatusReport
from dbcron.models import Execution, Job, JobStatus
from dbcron.runtime import Runtime, settings_from
from dbcron.store import Store

if TYPE_CHECKING:
    from dbcron.runtime import Engine

#: The settings each store of :func:`create_database_manager` was opened with, for the
#: :class:`DatabaseJobScheduler` made over it.
_SETTINGS: weakref.WeakKeyDictionary[Store, Settings] = weakref.WeakKeyDictionary()


def create_database_manager(
    config: Settings | Mapping[str, Any] | str | Path | None = None,
    *,
    create: bool = True,
) -> Store:
    """Open (and, by default, initialise) the database that ``config`` names.

    ``config`` may be:

    - the application's config dict, shaped like ``config.yaml``
      (``{"database": {"url": ...}, "scheduler": {...}, "paper_fetch": {...}}``): dbcron's
      sections are validated, the sections that job types or handlers own
      (``paper_fetch``, ``arxiv``) by their owner, and any other top-level key is a
      ConfigError naming it; it wins over ``.env`` and the environment, and no config
      file is read;
    - the path of a config file (a :class:`~pathlib.Path`, or a string that is not a
      database URL): the configuration ``dbcron --config FILE`` would use;
    - a database URL (``sqlite:///jobs.db``, ``postgresql://...``);
    - a :class:`~dbcron.config.Settings`, or None for the effective configuration
      (``./config.yaml``, ``.env``, environment).

    A :class:`DatabaseJobScheduler` made over the returned store uses these settings
    (scheduler, job defaults, ``handlers.paths``) unless it is given its own.
    """
    settings = settings_from(config)
    runtime = Runtime(settings)
    store = runtime.open_store(create=create, check_schema=not create)
    if create:
        runtime.operations.migrate()
    _SETTINGS[store] = settings
    return store


class DatabaseJobScheduler:
    """The specification's scheduler object, backed by :class:`JobManager`.

    Job management works against the database at once, whether or not a scheduler
    runs; :meth:`start` and :meth:`stop` run the engine in a background thread. Every
    object comes from one :class:`~dbcron.runtime.Runtime` over ``db_manager``; its
    :attr:`events` bus publishes what the jobs and the engine did (docs/events.md).
    """

    def __init__(
        self,
        db_manager: Store,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = db_manager
        self.settings = settings or _SETTINGS.get(db_manager) or Settings()
        self.runtime = Runtime(self.settings, store=db_manager, clock=clock)
        self.manager: JobManager = self.runtime.jobs
        self._engine: Engine | None = None
        self._engine_thread: threading.Thread | None = None

    def create_job(
        self,
        name: str,
        job_type: str,
        schedule_expression: str | None = None,
        config: Mapping[str, Any] | None = None,
        description: str | None = None,
        **options: Any,
    ) -> str:
        """Create a job and return its id. ``options`` are any other :class:`Job`
        fields (``timezone``, ``timeout_seconds``, ``retry_count``, ...). Without a
        schedule the job runs every ``scheduler.interval_hours`` (``@every 2h``)."""
        return self.manager.new_job(
            name, job_type, schedule_expression, dict(config or {}), description, **options
        ).job_id

    def get_job(self, job_id: str) -> Job:
        """The job with this id, key, exact name or unique id prefix."""
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
        if self._engine is not None:
            raise DbcronError("the scheduler is already running")
        engine = self.runtime.engine(self.runtime.engine_settings(executor=executor))
        assert engine is not None  # only a stop request ends the wait early
        self._engine = engine
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

    @property
    def events(self) -> EventBus:
        """The bus the jobs and the engine publish on: ``events.subscribe(JobCreated, f)``."""
        return self.runtime.bus

    def get_status(self, window: timedelta = timedelta(hours=24)) -> StatusReport:
        """Nodes, running executions, upcoming fires and statistics."""
        return self.runtime.queries.status_report(window=window)
