"""Scheduler nodes run in-process for engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbcron.clock import Clock
from dbcron.config import SchedulerSettings
from dbcron.engine.scheduler import Scheduler
from dbcron.store import Store

#: Settings that keep engine tests quick (overridable per call).
TEST_SETTINGS: dict[str, Any] = {
    "max_workers": 4,
    "lease_seconds": 5,
    "shutdown_grace_seconds": 5,
}


def make_scheduler(
    store: Store,
    url: str,
    executor: str = "thread",
    clock: Clock | None = None,
    **settings: Any,
) -> Scheduler:
    """A scheduler node on ``store`` with :data:`TEST_SETTINGS` and ``settings``."""
    values = {**TEST_SETTINGS, **settings}
    return Scheduler(
        store, SchedulerSettings(**values), executor=executor, database_url=url, clock=clock
    )


@contextmanager
def running(scheduler: Scheduler) -> Iterator[Scheduler]:
    """Run ``scheduler`` in a thread until the block ends, then stop it gracefully."""
    thread = scheduler.start_in_thread()
    assert scheduler.ready.wait(30)
    try:
        yield scheduler
    finally:
        scheduler.stop()
        thread.join(60)
        assert not thread.is_alive()
