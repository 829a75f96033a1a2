"""Runs per hour by status over a window: the overview chart of the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dbcron.errors import ValidationError
from dbcron.models import ExecutionStatus
from dbcron.store.protocol import Store

__all__ = ["MAX_HISTOGRAM_WINDOW", "RunsHistogram", "runs_histogram"]

#: The longest window the histogram covers (a bar per hour: 31 days is 744 bars).
MAX_HISTOGRAM_WINDOW = timedelta(days=31)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class RunsHistogram:
    """How many executions were created in each UTC hour of a window, by status."""

    hours: list[datetime]
    """The start of each hour of the window, oldest first (aware UTC); the last one is
    the hour that holds ``now``."""
    counts: dict[ExecutionStatus, list[int]]
    """Per status, one count per hour (aligned with :attr:`hours`); every status is
    present, with zeros where nothing happened."""

    @property
    def total(self) -> int:
        """Executions in the window."""
        return sum(sum(values) for values in self.counts.values())


def runs_histogram(store: Store, now: datetime, window: timedelta) -> RunsHistogram:
    """The executions created in the ``window`` hours up to ``now`` (whole hours: the
    first bar is the hour ``now - window`` falls in), by hour and status; one query."""
    if window < _HOUR or window > MAX_HISTOGRAM_WINDOW:
        raise ValidationError("the histogram window must be between 1 hour and 31 days")
    last = now.replace(minute=0, second=0, microsecond=0)
    count = int(window / _HOUR)
    hours = [last - _HOUR * (count - 1 - index) for index in range(count)]
    position = {hour: index for index, hour in enumerate(hours)}
    counts = {status: [0] * count for status in ExecutionStatus}
    for hour, status, runs in store.runs_per_hour(hours[0]):
        index = position.get(hour)
        if index is not None:
            counts[status][index] += runs
    return RunsHistogram(hours, counts)
