"""Time zones and instants: zone names, UTC offsets and their changes, the search bounds."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import tzinfo as TzInfo  # noqa: N812 - the class, not an instance
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dbcron.errors import CronError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
#: Longest ``@every`` interval accepted; anything longer is a job for a cron expression.
_MAX_INTERVAL = timedelta(days=366)
#: How far ahead a search for the next fire looks before giving up (cronsim's own limit
#: is 50 years too).
_HORIZON = timedelta(days=366 * 50)
#: How many months a day-of-month ``W`` search looks ahead before giving up.
_W_SEARCH_MONTHS = 12 * 50
#: Fires of a day-of-month ``W`` month can spill into the next month by this much (a
#: fixed-time fire in a spring-forward gap at midnight runs after the gap).
_W_SPILL = timedelta(days=2)
#: Bounds on the loops over cronsim's answers: far above what any real zone needs (a
#: fall-back overlap of 24 hours, a transition twice a year for 500 years), so reaching
#: one means the schedule cannot advance, which is reported instead of looping forever.
_MAX_STALE_ANSWERS = 10_000
_MAX_SEGMENTS = 1_000
#: Longest stretch whose fires :meth:`Schedule.count_fires` counts for a cron expression
#: (about four years: it costs a few microseconds per day); beyond it no count is given.
_MAX_COUNT_SPAN = timedelta(days=1500)
#: Fires of a fixed-time (Debian DST) schedule this close to a fall-back overlap or a
#: spring-forward gap are counted one by one; elsewhere wall-clock arithmetic is exact.
_COUNT_WALK_MARGIN = timedelta(minutes=2)
#: Offset changes this far outside a counted stretch can still move fires into it.
_COUNT_CHANGE_REACH = timedelta(days=2)
#: Probe interval when looking for a UTC offset change: shorter than the shortest time
#: between two offset changes of any zone in the tz database (about four days).
_PROBE_STEP = timedelta(days=1)


_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal"})


@functools.cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def validate_timezone(name: str) -> ZoneInfo:
    """Return the :class:`~zoneinfo.ZoneInfo` for IANA zone ``name``.

    Raises :class:`~dbcron.errors.CronError` (with a "did you mean" hint when a known
    zone is close) if the name is not a zone this system knows.
    """
    if not isinstance(name, str) or not name.strip():
        raise CronError("empty time zone name: use an IANA name such as 'UTC' or 'Europe/London'")
    key = name.strip()
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    names = _zone_names()
    lowered = {n.lower(): n for n in names}
    suggestion = lowered.get(key.lower())
    if suggestion is None:
        close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.7)
        suggestion = lowered[close[0]] if close else None
    hint = (
        f"did you mean {suggestion!r}?"
        if suggestion
        else "use an IANA name such as 'UTC', 'Europe/London' or 'America/New_York'"
    )
    raise CronError(f"unknown time zone {key!r}: {hint}")


def _utc_offset(instant: datetime, zone: TzInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _offset_change(
    zone: TzInfo, offset: timedelta, start: datetime, end: datetime
) -> datetime | None:
    """The first whole second in ``(start, end]`` whose UTC offset is not ``offset``.

    ``start`` (a whole second) has ``offset``. The offset is probed every
    :data:`_PROBE_STEP`, which is shorter than the time between two offset changes, so
    equal offsets at both ends of a step mean no change inside it; a change is then
    pinned down by bisection.
    """
    low = start
    while low < end:
        high = min(low + _PROBE_STEP, end)
        if _utc_offset(high, zone) != offset:
            while high - low > _ONE_SECOND:
                middle = low + ((high - low) // _ONE_SECOND // 2) * _ONE_SECOND
                if _utc_offset(middle, zone) == offset:
                    low = middle
                else:
                    high = middle
            return high
        low = high
    return None


def _offset_changes(
    zone: TzInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, timedelta]]:
    """Each whole second in ``(start, end]`` at which the UTC offset of ``zone`` changes,
    with the size of the change (positive when clocks go forward); ``start`` whole."""
    offset = _utc_offset(start, zone)
    for _ in range(_MAX_SEGMENTS):
        change = _offset_change(zone, offset, start, end)
        if change is None:
            return
        new = _utc_offset(change, zone)
        yield change, new - offset
        start, offset = change, new
    raise CronError(f"time zone {zone} changes its UTC offset too often to count fires")


def _plus(instant: datetime, delta: timedelta) -> datetime:
    """``instant + delta``, or the last representable instant."""
    try:
        return instant + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _minus(instant: datetime, delta: timedelta) -> datetime:
    """``instant - delta``, or the first representable instant."""
    try:
        return instant - delta
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _earliest_instant(wall: datetime, zone: TzInfo) -> datetime:
    """A UTC instant no later than the first instant whose wall-clock time is ``wall`` or
    later (``wall`` is naive; it may be repeated by a fall-back or skipped by a gap)."""
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    return min(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
