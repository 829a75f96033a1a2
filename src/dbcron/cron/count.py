"""Counting the wall-clock times a cron expression matches (for misfire counts)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cronsim import CronSim


@dataclass(frozen=True)
class _WallCounter:
    """Counts the naive wall-clock times that a cron expression matches.

    It uses the field values and the day matching of cronsim (``L``, ``LW``, ``5L``,
    ``#`` and the day-of-month/day-of-week "or" included) from the schedule's prototype
    iterator; there is none for ``nW`` expressions, which are therefore not counted.
    """

    sim: CronSim
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    every_day: bool  # every day of the listed months matches

    @staticmethod
    def of(sim: CronSim) -> _WallCounter | None:
        """The counter for the expression of ``sim``, or None for an unexpected cronsim."""
        names = ("seconds", "minutes", "hours", "days", "months", "weekdays", "day_and")
        if not all(hasattr(sim, name) for name in names):
            return None
        state = vars(sim)
        return _WallCounter(
            sim=sim,
            seconds=tuple(sorted(state["seconds"])),
            minutes=tuple(sorted(state["minutes"])),
            hours=tuple(sorted(state["hours"])),
            months=frozenset(state["months"]),
            every_day=bool(state["day_and"])
            and set(range(1, 32)) <= state["days"]
            and set(range(7)) <= state["weekdays"],
        )

    def _up_to(self, moment: datetime) -> int:
        """Matching times of day at or before the time of day of ``moment``."""
        per_hour = len(self.minutes) * len(self.seconds)
        n = bisect.bisect_left(self.hours, moment.hour) * per_hour
        if moment.hour in self.hours:
            n += bisect.bisect_left(self.minutes, moment.minute) * len(self.seconds)
            if moment.minute in self.minutes:
                n += bisect.bisect_right(self.seconds, moment.second)
        return n

    def _day(self, day: date) -> bool:
        return day.month in self.months and bool(self.sim.match_day(day))

    def count(self, low: datetime, high: datetime) -> int:
        """Matching wall-clock times in ``(low, high]`` (naive, whole seconds)."""
        if high <= low:
            return 0
        first, last = low.date(), high.date()
        if first == last:
            return self._day(first) * (self._up_to(high) - self._up_to(low))
        per_day = len(self.hours) * len(self.minutes) * len(self.seconds)
        total = self._day(first) * (per_day - self._up_to(low)) + self._day(last) * self._up_to(
            high
        )
        return total + per_day * self._days_between(first, last)

    def _days_between(self, first: date, last: date) -> int:
        """Matching days strictly between ``first`` and ``last``."""
        day = first + timedelta(days=1)
        if not self.every_day:
            n = 0
            while day < last:
                n += self._day(day)
                day += timedelta(days=1)
            return n
        n = 0
        while day < last:  # month by month
            following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            if day.month in self.months:
                n += (min(following, last) - day).days
            day = following
        return n
