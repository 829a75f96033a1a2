"""dbcron: cron that lives in a database.

The public API: the specification's ``create_database_manager`` and
``DatabaseJobScheduler``, the service layer ``JobManager``, the records and their
states, the stores, and the ``handler`` decorator for custom job types.
"""

from __future__ import annotations

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
from dbcron.version import __version__

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
