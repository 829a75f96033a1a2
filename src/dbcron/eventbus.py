"""The in-process bus that :mod:`dbcron.events` are published on.

A module of its own: every service (so every CLI command) holds a bus, but only
publishing needs the event classes, whose fifteen frozen dataclasses take several
milliseconds to create at import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dbcron.events import Event

#: A failing handler is logged as the events' (``dbcron.events``).
log = logging.getLogger("dbcron.events")

E = TypeVar("E", bound="Event")
Handler = Callable[[Any], None]


class EventBus:
    """Subscribe handlers to event types; publish events to them (after commit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[type[Event], list[Handler]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` with every published event of ``event_type`` (or a subclass;
        ``Event`` for all). Returns a function that unsubscribes it."""
        with self._lock:
            self._handlers.setdefault(event_type, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                handlers = self._handlers.get(event_type, [])
                if handler in handlers:
                    handlers.remove(handler)

        return unsubscribe

    def wants(self, event_type: type[Event]) -> bool:
        """Whether any handler would receive an event of ``event_type``: the engine asks
        before building events on its hot path, which costs nothing while none listens."""
        with self._lock:
            return any(issubclass(event_type, t) for t, hs in self._handlers.items() if hs)

    def publish(self, event: Event) -> None:
        """Call every handler subscribed to the event's type or a base of it; a handler
        that raises is logged and the others still run. Never raises."""
        with self._lock:
            handlers = [h for t in type(event).__mro__ for h in self._handlers.get(t, [])]
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)

    def publish_all(self, events: list[Event]) -> None:
        """Publish each of ``events`` in order."""
        for event in events:
            self.publish(event)
