"""The one backoff helper: pure, with time and waiting injected."""

from __future__ import annotations

import threading

import pytest

from dbcron.backoff import Backoff


class Time:
    """A monotonic clock that moves only when a wait passes."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def test_delays_grow_by_the_factor_up_to_the_cap() -> None:
    backoff = Backoff(0.2, 2.0, 2.0)
    assert [backoff.next_delay() for _ in range(7)] == pytest.approx(
        [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    )
    assert backoff.attempts == 7


def test_without_a_cap_the_delays_keep_growing() -> None:
    backoff = Backoff(1.0, 3.0)
    assert [backoff.next_delay() for _ in range(4)] == [1.0, 3.0, 9.0, 27.0]


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(0.5, 2.0, 2.0)
    backoff.next_delay()
    backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 0.5


def test_wait_uses_the_injected_wait_and_advances() -> None:
    time = Time()
    backoff = Backoff(0.001, 2.0, 0.05, wait=time.wait, monotonic=time.monotonic)
    for _ in range(8):
        assert backoff.wait() is False
    assert time.waits == pytest.approx([0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.05, 0.05])


def test_timeout_expires_on_the_injected_clock_and_restarts_on_reset() -> None:
    time = Time()
    backoff = Backoff(1.0, 2.0, 4.0, timeout=10.0, wait=time.wait, monotonic=time.monotonic)
    waited = 0
    while not backoff.expired():
        backoff.wait()
        waited += 1
    assert time.waits == [1.0, 2.0, 4.0, 4.0]  # 11 s > the 10 s timeout
    assert waited == 4
    backoff.reset()
    assert not backoff.expired()
    time.now += 10.5
    assert backoff.expired()


def test_no_timeout_never_expires() -> None:
    time = Time()
    backoff = Backoff(1.0, monotonic=time.monotonic)
    time.now += 1e9
    assert not backoff.expired()


def test_a_stop_event_interrupts_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    backoff = Backoff(60.0, wait=stop.wait)
    assert backoff.wait() is True  # returns at once: the event is set


def test_a_plain_sleep_is_never_an_interruption() -> None:
    assert Backoff(0.0).wait() is False


@pytest.mark.parametrize(
    ("initial", "factor", "cap"), [(-1.0, 2.0, None), (1.0, 0.5, None), (1.0, 2.0, 0.5)]
)
def test_nonsense_settings_are_refused(initial: float, factor: float, cap: float | None) -> None:
    with pytest.raises(ValueError, match="must"):
        Backoff(initial, factor, cap)
