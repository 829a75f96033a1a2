"""What every CLI command shares: the effective settings, the store, the manager."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dbcron.clock import Clock, SystemClock
from dbcron.config import LoadedSettings, Settings, load_settings
from dbcron.manager import JobManager
from dbcron.store import Store, open_store


@dataclass
class CliContext:
    """Lazily loads the configuration and opens the database on first use."""

    db_flag: str | None = None
    config_flag: Path | None = None
    clock: Clock = field(default_factory=SystemClock)
    """The time of commands that need no database (``dbcron next``)."""
    _loaded: LoadedSettings | None = field(default=None, init=False)
    _store: Store | None = field(default=None, init=False)
    _manager: JobManager | None = field(default=None, init=False)

    @property
    def loaded(self) -> LoadedSettings:
        """The configuration with the provenance of every value."""
        if self._loaded is None:
            flags = {"database.url": self.db_flag} if self.db_flag else {}
            self._loaded = load_settings(config_path=self.config_flag, flags=flags)
        return self._loaded

    @property
    def settings(self) -> Settings:
        """The effective settings."""
        return self.loaded.settings

    def open_store(self, *, create: bool = False, check_schema: bool = True) -> Store:
        """Open the configured database (once)."""
        if self._store is None:
            db = self.settings.database
            self._store = open_store(
                db.url,
                create=create,
                check_schema=check_schema,
                pool_size=min(db.pool_size, 4),
                connect_timeout=db.connect_timeout_seconds,
                listen=db.listen,
            )
        return self._store

    @property
    def manager(self) -> JobManager:
        """The service layer over the configured database."""
        if self._manager is None:
            self._manager = JobManager(self.open_store(), defaults=self.settings.job_defaults)
        return self._manager

    def close(self) -> None:
        """Close the database connections, if any were opened."""
        if self._store is not None:
            self._store.close()
            self._store = None
            self._manager = None
