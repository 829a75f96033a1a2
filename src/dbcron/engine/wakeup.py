"""Waking up: the change feed (LISTEN), SQLite's commit counter, polling behind a pooler,
and how long the loop may sleep (design.md section 6)."""

from __future__ import annotations

from collections.abc import Callable

from dbcron.engine.upkeep import Upkeep

#: How often SQLite is checked for commits by other processes (a trigger, an update).
CHANGE_POLL_SECONDS = 0.4
#: How often PostgreSQL without LISTEN (behind a transaction pooler) is asked whether
#: work became due earlier than planned: one cheap query.
POOLER_POLL_SECONDS = 0.5


class WakeUps(Upkeep):
    """When the loop must look for work again."""

    def wake(self) -> None:
        """Ask the loop to look for work now."""
        self._wake.set()

    def _listen(self) -> Callable[[], None] | None:
        if self._change_feed is None:
            return None
        return self._change_feed.listen(self.wake)

    def _note_data_version(self) -> None:
        """On SQLite, remember the commit counter before a turn reads anything: a commit
        made by another process after this point (a trigger while the turn runs) is then
        seen by the next poll instead of waiting for the next planned turn."""
        if self._stop_listener is None and self._commit_counter is not None:
            self._data_version = self._commit_counter.data_version()

    def _changed_elsewhere(self) -> bool:
        """Without LISTEN: did work become due that the plan did not expect?

        On SQLite, ``PRAGMA data_version`` says whether another connection committed;
        on PostgreSQL behind a transaction pooler, the next due time is asked for.
        """
        if self._stop_listener is not None:
            return False
        if self._commit_counter is None:
            nxt = self.store.next_wakeup()
            if nxt is None:
                return False
            due_in = (nxt - self.clock.now()).total_seconds()
            return self.clock.monotonic() + due_in < self._next_turn - 0.001
        version = self._commit_counter.data_version()
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed

    def _sleep_time(self) -> float:
        with self._done_lock:
            if self._done:
                return 0.0
        if self._more_due or self.executor.free_slots() == 0:
            # Due jobs are waiting for a slot, or every slot is busy: the next completion
            # wakes the loop (and fires left waiting are queued after QUEUE_AFTER_SECONDS
            # at the latest). Asking the database when work is next due would only say
            # "now" (on PostgreSQL, after a burst, slowly: past the index entries of
            # every fire just claimed).
            return min(float(self.settings.check_interval_seconds), 0.5)
        limit = float(self.settings.check_interval_seconds)
        nxt = self.store.next_wakeup()
        if nxt is not None:
            limit = min(limit, max(0.0, (nxt - self.clock.now()).total_seconds()))
        return limit
