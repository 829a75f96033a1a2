"""Graceful shutdown: no new work, running executions get their grace period, every
outcome is recorded, then the node is marked stopped."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dbcron.engine.wakeup import WakeUps
from dbcron.errors import StoreError
from dbcron.events import (
    NodeStopped,
)
from dbcron.execution import SHUTDOWN_MESSAGE, Report
from dbcron.models import (
    ExecutionStatus,
)

log = logging.getLogger("dbcron.scheduler")


class Shutdown(WakeUps):
    """How a node stops."""

    def _shutdown(self) -> None:
        """Stop gracefully: claim nothing new; keep the heartbeat and the leases of the
        running executions alive (so that no other node rescues and re-runs them) while
        they get ``shutdown_grace_seconds`` to finish; fail what is left (with its
        retry); record every outcome; only then mark the node stopped."""
        log.info("scheduler %s stopping: no new work; waiting for running executions", self.node_id)
        deadline = self.clock.monotonic() + float(self.settings.shutdown_grace_seconds)
        while self.executor.in_flight() and self.clock.monotonic() < deadline:
            self._safely(self._flush)
            self._safely(lambda: self._keep_alive(self.clock.monotonic()))
            self._wake.wait(0.05)
            self._wake.clear()
        leftover = self.executor.stop(kill=True)
        for work in leftover:
            if self.executor.mode == "thread":
                self._on_done(
                    work, Report(ExecutionStatus.FAILED, 0.0, error_message=SHUTDOWN_MESSAGE)
                )
        # process-mode leftovers are reported by the pool's dispatcher as it kills them
        end = self.clock.monotonic() + 5
        while self.clock.monotonic() < end:
            self._safely(self._flush)
            with self._done_lock:
                if not self._done and not self.executor.in_flight():
                    break
            self._safely(lambda: self._keep_alive(self.clock.monotonic()))
            self._wake.wait(0.05)
            self._wake.clear()
        if self._stop_listener is not None:
            self._stop_listener()
        if self._safely(lambda: self.store.stop_node(self.node_id, self.clock.now())):
            self.bus.publish(NodeStopped(self.node_id))
        self._stopped.set()
        log.info("scheduler %s stopped", self.node_id)

    def _safely(self, action: Callable[[], None]) -> bool:
        try:
            action()
            return True
        except StoreError as exc:
            log.warning("database problem during shutdown: %s", exc)
            return False
