"""The one composition root: settings -> store -> services -> event bus -> engine.

The CLI (:mod:`dbcron.cli.context`), the Python API (:mod:`dbcron.api`) and the web app
get every object from a :class:`Runtime`; nothing else opens a store or builds a
scheduler. One runtime holds one settings object, opens its store once, builds the
services over it (all publishing on one :class:`~dbcron.events.EventBus`) and builds
the engine, waiting for the database with backoff when it is down.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from dbcron.backoff import Backoff
from dbcron.clock import Clock
from dbcron.config import LoadedSettings, SchedulerSettings, Settings, load_settings
from dbcron.errors import ConfigError, DatabaseUnavailableError
from dbcron.eventbus import EventBus
from dbcron.manager import JobManager
from dbcron.service.queries import Queries
from dbcron.store import Store, open_store

if TYPE_CHECKING:
    # The engine, the job files and the operations are imported when first built: the
    # CLI's reading commands need none of them (and start faster without).
    from dbcron.engine.run_log import RunLog
    from dbcron.engine.scheduler import Scheduler
    from dbcron.handlers.imports import ImportDirs
    from dbcron.service.jobfiles import JobFiles
    from dbcron.service.operations import Operations

__all__ = ["Engine", "Runtime", "loaded_from", "settings_from"]

#: The scheduling engine (one node) a runtime builds.
Engine: TypeAlias = "Scheduler"

log = logging.getLogger("dbcron.scheduler")


def settings_from(config: Settings | Mapping[str, Any] | str | Path | None) -> Settings:
    """Settings from what the Python API accepts; see :func:`loaded_from`."""
    if isinstance(config, Settings):
        return config
    return loaded_from(config).settings


def loaded_from(config: Mapping[str, Any] | str | Path | None) -> LoadedSettings:
    """The configuration the Python API was given:

    - a mapping shaped like ``config.yaml`` (the application's whole config dict: its
      sections that job types or handlers own are validated by them): it wins over
      ``.env`` and the environment for the keys it sets, and no config file is read;
    - a database URL (a string with ``://``, or ``sqlite:...``): the effective
      configuration with that URL, as ``dbcron --db URL`` sees it;
    - a path to a config file (any other string, or a :class:`~pathlib.Path`): the
      effective configuration with that file, as ``dbcron --config FILE`` sees it;
    - None: the effective configuration (``./config.yaml``, ``.env``, environment).
    """
    if config is None:
        return load_settings()
    if isinstance(config, Path):
        return load_settings(config_path=config)
    if isinstance(config, str):
        if _looks_like_url(config):
            return load_settings(flags={"database.url": config})
        return load_settings(config_path=config)
    if not isinstance(config, Mapping):
        raise ConfigError(
            "config must be a dict shaped like config.yaml, a database URL or the path of a "
            f"config file, not {type(config).__name__}"
        )
    return load_settings(document=config)


def _looks_like_url(text: str) -> bool:
    """True for a database URL (rather than the path of a config file)."""
    stripped = text.strip()
    return "://" in stripped or stripped.lower().startswith(("sqlite:", "postgres:", "postgresql:"))


class Runtime:
    """Settings, the store, the services, the event bus and the engine of one process."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        loaded: LoadedSettings | None = None,
        store: Store | None = None,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        max_pool_size: int | None = None,
    ) -> None:
        """``store`` is an already open store to use (the Python API's
        ``db_manager``); ``clock`` the services' clock (by default the one the
        schedulers compare with); ``max_pool_size`` caps the connection pool (the CLI
        needs few connections)."""
        if settings is None:
            loaded = loaded or load_settings()
            settings = loaded.settings
        self.loaded = loaded
        self.settings: Settings = settings
        self.bus = bus or EventBus()
        self._run_log: RunLog | None = None
        self._clock = clock
        self._max_pool_size = max_pool_size
        self._store = store
        self._jobs: JobManager | None = None
        self._operations: Operations | None = None

    @classmethod
    def from_flags(
        cls, *, database_url: str | None = None, config_path: Path | None = None, **kwargs: Any
    ) -> Runtime:
        """The effective configuration (file, environment, ``.env``) with the command
        line's ``--db`` and ``--config``."""
        flags = {"database.url": database_url} if database_url else {}
        return cls(loaded=load_settings(config_path=config_path, flags=flags), **kwargs)

    # -- the store -----------------------------------------------------------------------

    def open_store(self, *, create: bool = False, check_schema: bool = True) -> Store:
        """Open the configured database (once; later calls return the same store).

        ``create`` lets ``init`` create a missing SQLite file; ``check_schema`` refuses
        a database whose schema is missing or not current."""
        if self._store is None:
            db = self.settings.database
            pool = (
                db.pool_size
                if self._max_pool_size is None
                else min(db.pool_size, self._max_pool_size)
            )
            self._store = open_store(
                db.url,
                create=create,
                check_schema=check_schema,
                pool_size=pool,
                connect_timeout=db.connect_timeout_seconds,
                listen=db.listen,
            )
        return self._store

    @property
    def store(self) -> Store:
        """The store (opened with the schema checked on first use)."""
        return self.open_store()

    def wait_for_store(self, stopping: threading.Event | None = None) -> Store | None:
        """Open the database, waiting with backoff (and saying so once) while it is down;
        None when ``stopping`` was set while waiting.

        A scheduler often starts before its database (a container starting, a reboot); it
        waits instead of dying. A missing schema or a bad URL still fails at once, and so
        does a missing SQLite file (it is not going to appear by waiting).
        """
        stop = stopping or threading.Event()
        # Resumes within seconds of the database: 0.5 s, doubling, at most 2 s.
        backoff, warned = Backoff(0.5, 2.0, 2.0, wait=stop.wait), False
        while True:
            try:
                return self.open_store()
            except DatabaseUnavailableError as exc:
                if self.settings.database.url.startswith("sqlite"):
                    raise
                if not warned:
                    log.warning(
                        "database unreachable (%s); waiting for it, retrying with backoff", exc
                    )
                    warned = True
                if backoff.wait():
                    return None

    # -- the services ----------------------------------------------------------------------

    @property
    def jobs(self) -> JobManager:
        """The job service (JobManager) over the store."""
        if self._jobs is None:
            self._jobs = JobManager(
                self.store,
                clock=self._clock,
                defaults=self.settings.job_defaults,
                default_schedule=self.settings.scheduler.default_schedule,
                bus=self.bus,
            )
        return self._jobs

    @property
    def queries(self) -> Queries:
        """The read model (history, status, papers) over the store."""
        return self.jobs.queries

    @property
    def job_files(self) -> JobFiles:
        """Jobs as files (export, plan, apply) over the job service."""
        from dbcron.service.jobfiles import JobFiles

        return JobFiles(self.jobs)

    @property
    def operations(self) -> Operations:
        """Schema, seed, foreground runs."""
        if self._operations is None:
            from dbcron.service.operations import Operations

            self._operations = Operations(
                self.store,
                self.jobs,
                database_url=self.settings.database.url,
                bus=self.bus,
                import_dirs=self.import_dirs(),
            )
        return self._operations

    def schema_operations(self, *, create: bool = False) -> Operations:
        """The operations over a store opened without the schema check (``init`` with
        ``create``, ``migrate``)."""
        self.open_store(create=create, check_schema=False)
        return self.operations

    def import_dirs(self) -> ImportDirs:
        """Where handlers import ``python`` callables from: this process's working
        directory (the scheduler's), then ``handlers.paths``."""
        try:
            cwd: str | None = os.getcwd()
        except OSError:  # the working directory was deleted
            cwd = None
        from dbcron.handlers.imports import ImportDirs

        return ImportDirs(cwd, self.settings.handlers.paths)

    # -- the engine ------------------------------------------------------------------------

    def engine_settings(
        self, *, workers: int | None = None, executor: str | None = None
    ) -> SchedulerSettings:
        """The configured scheduler settings with ``workers`` and ``executor`` overridden
        (validated)."""
        from dbcron.service.operations import engine_settings

        return engine_settings(self.settings.scheduler, workers=workers, executor=executor)

    def engine(
        self,
        settings: SchedulerSettings | None = None,
        *,
        stopping: threading.Event | None = None,
    ) -> Engine | None:
        """A scheduler node over the store (waiting for the database while it is down),
        publishing on this runtime's bus; None when ``stopping`` was set while waiting."""
        store = self.wait_for_store(stopping)
        if store is None:
            return None
        from dbcron.engine.run_log import RunLog
        from dbcron.engine.scheduler import Scheduler

        if self._run_log is None:
            self._run_log = RunLog(self.bus)
        return Scheduler(
            store,
            settings or self.settings.scheduler,
            database_url=self.settings.database.url,
            bus=self.bus,
            import_dirs=self.import_dirs(),
        )

    def close(self) -> None:
        """Close the database connections, if any were opened."""
        if self._store is not None:
            self._store.close()
            self._store = None
            self._jobs = None
            self._operations = None
