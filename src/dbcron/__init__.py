"""dbcron: cron that lives in a database.

The public API: the specification's ``create_database_manager`` and
``DatabaseJobScheduler``, the service layer ``JobManager``, the records and their
states, the stores, and the ``handler`` decorator for custom job types.

The names are imported on first use (``dbcron.Job`` or ``from dbcron import Job``), not
with the package: every ``dbcron`` command imports this package first, and most of them
need little of it (``dbcron --help`` needs none).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dbcron.version import __version__

if TYPE_CHECKING:
    from dbcron.api import DatabaseJobScheduler, create_database_manager
    from dbcron.clock import Clock, FakeClock, SystemClock
    from dbcron.config import Settings, load_settings
    from dbcron.errors import DbcronError
    from dbcron.handlers.registry import handler
    from dbcron.manager import JobManager
    from dbcron.models import (
        Execution,
        ExecutionStatus,
        Job,
        JobStatus,
        MisfirePolicy,
        OverlapPolicy,
        RetryBackoff,
        Trigger,
    )
    from dbcron.store import Store, open_store

#: Public name -> the module that defines it.
_HOMES = {
    "DatabaseJobScheduler": "dbcron.api",
    "create_database_manager": "dbcron.api",
    "Clock": "dbcron.clock",
    "FakeClock": "dbcron.clock",
    "SystemClock": "dbcron.clock",
    "Settings": "dbcron.config",
    "load_settings": "dbcron.config",
    "DbcronError": "dbcron.errors",
    "handler": "dbcron.handlers.registry",
    "JobManager": "dbcron.manager",
    "Execution": "dbcron.models",
    "ExecutionStatus": "dbcron.models",
    "Job": "dbcron.models",
    "JobStatus": "dbcron.models",
    "MisfirePolicy": "dbcron.models",
    "OverlapPolicy": "dbcron.models",
    "RetryBackoff": "dbcron.models",
    "Trigger": "dbcron.models",
    "Store": "dbcron.store",
    "open_store": "dbcron.store",
}

__all__ = [
    "Clock",
    "DatabaseJobScheduler",
    "DbcronError",
    "Execution",
    "ExecutionStatus",
    "FakeClock",
    "Job",
    "JobManager",
    "JobStatus",
    "MisfirePolicy",
    "OverlapPolicy",
    "RetryBackoff",
    "Settings",
    "Store",
    "SystemClock",
    "Trigger",
    "__version__",
    "create_database_manager",
    "handler",
    "load_settings",
    "open_store",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dbcron' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return sorted({*globals(), *__all__})
