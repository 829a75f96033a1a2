"""The state every part of a scheduler node shares, and the loop's timers."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from dbcron.clock import Clock
from dbcron.config import SchedulerSettings
from dbcron.events import (
    EventBus,
)
from dbcron.execution import Executor
from dbcron.models import (
    Outcome,
)
from dbcron.store.protocol import ChangeFeed, CommitCounter, Store


@dataclass
class _Timer:
    """Something the loop does every ``every`` seconds."""

    every: float
    last: float = -1e9

    def due(self, mono: float) -> bool:
        return mono - self.last >= self.every

    def done(self, mono: float) -> None:
        self.last = mono

    def remaining(self, mono: float) -> float:
        return max(0.0, self.every - (mono - self.last))


class NodeState:
    """The state of one scheduler node, shared by the parts of :class:`Scheduler`
    (set in ``Scheduler.__init__``; declared here so that each part can use it)."""

    store: Store
    bus: EventBus
    settings: SchedulerSettings
    clock: Clock
    database_url: str | None
    node_id: str
    executor: Executor
    stats: dict[str, int]
    _rng: random.Random
    _stop: threading.Event
    _wake: threading.Event
    _stopped: threading.Event
    _done: list[Outcome]
    _done_lock: threading.Lock
    _stop_listener: Callable[[], None] | None
    _change_feed: ChangeFeed | None
    _commit_counter: CommitCounter | None
    _lease: timedelta
    _lease_timer: _Timer
    _heartbeat_timer: _Timer
    _rescue_timer: _Timer
    _flight_timer: _Timer
    _data_version: int | None
    _woken: bool
    _next_turn: float
    _more_due: bool
    _freed: bool
    _rescue_not_before: float
