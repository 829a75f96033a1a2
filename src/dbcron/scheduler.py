"""The scheduler node (kept importable here; it lives in :mod:`dbcron.engine.scheduler`)."""

from dbcron.engine.scheduler import Scheduler

__all__ = ["Scheduler"]
