"""The in-process event bus: typed subscriptions, order, isolation of failures."""

from __future__ import annotations

import logging
from dataclasses import FrozenInstanceError

import pytest

from dbcron.events import (
    Event,
    EventBus,
    ExecutionEvent,
    ExecutionMissed,
    JobDeleted,
    NodeEvent,
    NodeStarted,
    NodeStopped,
)
from dbcron.models import Execution, ExecutionStatus, Job


def test_handlers_get_the_events_of_their_type_in_order() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(NodeStarted, lambda e: seen.append(f"a:{e.node_id}"))
    bus.subscribe(NodeStarted, lambda e: seen.append(f"b:{e.node_id}"))
    bus.subscribe(NodeStopped, lambda e: seen.append(f"stopped:{e.node_id}"))
    bus.publish(NodeStarted("n1"))
    bus.publish(NodeStopped("n1"))
    assert seen == ["a:n1", "b:n1", "stopped:n1"]


def test_subscribing_to_the_base_class_receives_every_event() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    events: list[Event] = [NodeStarted("n"), JobDeleted(Job("j", "shell", "@hourly"), purged=True)]
    bus.publish_all(events)
    assert seen == events


def test_a_family_base_class_receives_its_family_only() -> None:
    bus = EventBus()
    nodes: list[Event] = []
    executions: list[Event] = []
    bus.subscribe(NodeEvent, nodes.append)
    bus.subscribe(ExecutionEvent, executions.append)
    missed = ExecutionMissed(
        Execution("j", Job("j", "shell", "@hourly").created_at, ExecutionStatus.MISSED)
    )
    bus.publish_all([NodeStarted("n"), missed, NodeStopped("n")])
    assert nodes == [NodeStarted("n"), NodeStopped("n")]
    assert executions == [missed]


def test_a_failing_handler_is_logged_and_never_reaches_the_publisher(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(event: NodeStarted) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(NodeStarted, broken)
    bus.subscribe(NodeStarted, lambda e: seen.append(e.node_id))
    with caplog.at_level(logging.ERROR, logger="dbcron.events"):
        bus.publish(NodeStarted("n1"))  # does not raise
    assert seen == ["n1"]
    assert "subscriber bug" in caplog.text
    assert "NodeStarted" in caplog.text


def test_unsubscribe_and_no_subscribers() -> None:
    bus = EventBus()
    seen: list[str] = []
    unsubscribe = bus.subscribe(NodeStarted, lambda e: seen.append(e.node_id))
    bus.publish(NodeStarted("a"))
    unsubscribe()
    unsubscribe()  # twice is harmless
    bus.publish(NodeStarted("b"))
    bus.publish(NodeStopped("c"))  # nobody listens: nothing happens
    assert seen == ["a"]


def test_a_handler_may_subscribe_while_an_event_is_published() -> None:
    bus = EventBus()
    seen: list[str] = []

    def first(event: NodeStarted) -> None:
        seen.append("first")
        bus.subscribe(NodeStarted, lambda e: seen.append("late"))

    bus.subscribe(NodeStarted, first)
    bus.publish(NodeStarted("a"))
    assert seen == ["first"]  # the late handler gets the next event, not this one
    bus.publish(NodeStarted("b"))
    assert seen == ["first", "first", "late"]


def test_events_are_frozen() -> None:
    event = NodeStarted("n")
    with pytest.raises(FrozenInstanceError):
        event.node_id = "other"  # type: ignore[misc]


def test_wants_says_whether_anyone_would_receive_an_event_type() -> None:
    from dbcron.events import Event, EventBus, ExecutionFinished, ExecutionStarted

    bus = EventBus()
    assert not bus.wants(ExecutionStarted)
    unsubscribe = bus.subscribe(ExecutionFinished, lambda event: None)
    assert bus.wants(ExecutionFinished) and not bus.wants(ExecutionStarted)
    unsubscribe()
    assert not bus.wants(ExecutionFinished)
    bus.subscribe(Event, lambda event: None)
    assert bus.wants(ExecutionStarted)
