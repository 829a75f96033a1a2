"""Upkeep on timers: the node's heartbeat, the leases of what it runs, and the rescue of
executions whose lease expired (their node died), retried if attempts remain."""

from __future__ import annotations

import logging

from dbcron.engine.completer import Completions
from dbcron.engine.node import _Timer
from dbcron.events import (
    ExecutionRescued,
)
from dbcron.models import ExecutionStatus

log = logging.getLogger("dbcron.scheduler")


class Upkeep(Completions):
    """Heartbeat, lease renewal and rescue, each on its own timer."""

    def _timers(self) -> list[_Timer]:
        timers = [self._heartbeat_timer, self._lease_timer, self._rescue_timer]
        if self.executor.in_flight():
            timers.append(self._flight_timer)
        return timers

    def _maintenance(self, mono: float) -> None:
        """Heartbeat, lease renewal and rescue, each only when its timer is due; this
        node's own leases are always renewed before anyone's runs are rescued."""
        self._keep_alive(mono)
        if self._flight_timer.due(mono):
            self._stop_runs_ended_elsewhere()
            self._save_live_logs()
            self._flight_timer.done(mono)
        if self._rescue_timer.due(mono) and mono >= self._rescue_not_before:
            now = self.clock.now()
            rescued = self.store.rescue_expired(
                now, self._retry_for_rescue, stale_before=now - self._lease
            )
            if rescued:
                self._woken = True  # their retries are runnable now: take a turn
            for e in rescued:
                log.warning(
                    "rescued execution %s of job %s: node %s lost its lease",
                    e.execution_id,
                    e.job_id,
                    e.node_id,
                )
            self.bus.publish_all([ExecutionRescued(e) for e in rescued])
            self._rescue_timer.done(mono)

    def _stop_runs_ended_elsewhere(self) -> None:
        """Stop the runs in flight here whose rows are no longer running on this node:
        cancelled (``dbcron cancel``), or rescued by another node after this one lost
        its lease. Their completions would be rejected; their workers are freed now."""
        mine = {w.execution.execution_id: w for w in self.executor.in_flight()}
        if not mine:
            return
        for execution_id, status in self.store.not_running_on_node(
            self.node_id, list(mine)
        ).items():
            if status is ExecutionStatus.CANCELLED:
                why = "it was cancelled"
            else:
                why = f"another node recorded it {status.value} (this node lost its lease)"
            if self.executor.cancel(execution_id, f"stopped: {why}"):
                log.warning(
                    "stopping execution %s of job %s: %s",
                    execution_id,
                    mine[execution_id].job.job_id,
                    why,
                )

    def _save_live_logs(self) -> None:
        """Store the logs so far of the runs whose logs grew (``dbcron logs --follow``)."""
        live = self.executor.live_logs()
        if not live:
            return
        tokens = {
            w.execution.execution_id: w.execution.fencing_token for w in self.executor.in_flight()
        }
        self.store.save_live_logs(
            [(e, tokens[e], text) for e, text in live.items() if tokens.get(e) is not None]
        )

    def _keep_alive(self, mono: float) -> None:
        """Send the heartbeat and renew the leases of what this node still runs (or has
        finished but not yet recorded), each when its timer is due."""
        if self._heartbeat_timer.due(mono):
            self.store.heartbeat_node(self.node_id, self.clock.now())
            self._heartbeat_timer.done(mono)
        if self._lease_timer.due(mono):
            # Only the executions this node still runs (or has finished but not yet
            # recorded): a row it lost track of must expire and be rescued.
            mine = [w.execution.execution_id for w in self.executor.in_flight()]
            with self._done_lock:
                mine += [o.execution_id for o in self._done]
            if mine:
                self.store.extend_leases(self.node_id, self.clock.now() + self._lease, mine)
            self._lease_timer.done(mono)
