"""What every CLI command shares: the runtime (settings, store, services), built lazily
from ``--db`` and ``--config`` by the one composition root, :mod:`dbcron.runtime`.

The runtime (and with it the settings models, the store and the services) is imported
on first use, not with the CLI: ``dbcron --help`` needs none of it, and a command that
needs no database (``dbcron next '0 9 * * *'``) no store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbcron.clock import Clock, SystemClock

if TYPE_CHECKING:
    from dbcron.config import LoadedSettings, Settings
    from dbcron.manager import JobManager
    from dbcron.runtime import Runtime
    from dbcron.service.jobfiles import JobFiles
    from dbcron.service.operations import Operations
    from dbcron.service.queries import Queries
    from dbcron.store import Store

#: The CLI needs few connections, whatever the configured pool size.
CLI_MAX_POOL_SIZE = 4


@dataclass
class CliContext:
    """Lazily loads the configuration and opens the database on first use."""

    db_flag: str | None = None
    config_flag: Path | None = None
    clock: Clock = field(default_factory=SystemClock)
    """The time of commands that need no database (``dbcron next``)."""
    _runtime: Runtime | None = field(default=None, init=False)
    in_shell: bool = False
    """Set while the interactive shell runs commands on this context."""

    @property
    def runtime(self) -> Runtime:
        """The composition root for this command (the configuration loaded on first use)."""
        if self._runtime is None:
            from dbcron.runtime import Runtime

            self._runtime = Runtime.from_flags(
                database_url=self.db_flag,
                config_path=self.config_flag,
                max_pool_size=CLI_MAX_POOL_SIZE,
            )
        return self._runtime

    @property
    def loaded(self) -> LoadedSettings:
        """The configuration with the provenance of every value."""
        loaded = self.runtime.loaded
        assert loaded is not None  # from_flags always loads
        return loaded

    @property
    def settings(self) -> Settings:
        """The effective settings."""
        return self.runtime.settings

    def open_store(self, *, create: bool = False, check_schema: bool = True) -> Store:
        """Open the configured database (once)."""
        return self.runtime.open_store(create=create, check_schema=check_schema)

    @property
    def manager(self) -> JobManager:
        """The job service over the configured database."""
        return self.runtime.jobs

    @property
    def queries(self) -> Queries:
        """The read model over the configured database."""
        return self.runtime.queries

    @property
    def job_files(self) -> JobFiles:
        """Jobs as files (export, plan, apply) over the configured database."""
        return self.runtime.job_files

    @property
    def operations(self) -> Operations:
        """Schema, seed and foreground runs over the configured database."""
        return self.runtime.operations

    def close(self) -> None:
        """Close the database connections, if any were opened."""
        if self._runtime is not None:
            self._runtime.close()
