"""The :class:`Schedule` and its fire search (next, before, between, count)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import tzinfo as TzInfo  # noqa: N812 - the class, not an instance
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from cronsim.explain import explain as _cronsim_explain

from dbcron.clock import utc
from dbcron.cron.compile import (
    _compile_cron,
    _compile_interval,
    _Compiled,
    _describe_interval,
    _nearest_weekday,
    _ordinal,
)
from dbcron.cron.fields import _BLANKS, _FIELDS_HELP
from dbcron.cron.zones import (
    _COUNT_CHANGE_REACH,
    _COUNT_WALK_MARGIN,
    _EPOCH,
    _HORIZON,
    _MAX_COUNT_SPAN,
    _MAX_SEGMENTS,
    _MAX_STALE_ANSWERS,
    _ONE_SECOND,
    _UTC_KEYS,
    _W_SEARCH_MONTHS,
    _W_SPILL,
    _earliest_instant,
    _minus,
    _offset_change,
    _offset_changes,
    _plus,
    _utc_offset,
    validate_timezone,
)
from dbcron.errors import CronError


@dataclass(frozen=True)
class Schedule:
    """A parsed, validated schedule: a cron expression in a time zone, or ``@every``.

    Build one with :func:`parse_schedule` (cached) or directly; both raise
    :class:`~dbcron.errors.CronError` for a bad expression or zone. Equality and hashing
    use the (stripped) expression and zone name only.
    """

    expression: str
    timezone: str = "UTC"
    _compiled: _Compiled = field(init=False, repr=False, compare=False)
    _memo: dict[datetime, datetime] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise CronError(f"a schedule must be a string, not {type(self.expression).__name__}")
        expression = self.expression.strip(_BLANKS)
        if not expression:
            raise CronError(
                f"empty schedule: expected 5 fields ({_FIELDS_HELP}) or a macro like @daily"
            )
        for char in expression:
            if char not in _BLANKS and (char.isspace() or not char.isprintable()):
                raise CronError(
                    f"invalid character {char!r} (U+{ord(char):04X}) in schedule "
                    f"{expression!r}: only spaces and tabs may separate fields"
                )
        info = validate_timezone(self.timezone)
        zone_name = self.timezone.strip()
        zone: TzInfo = UTC if zone_name in _UTC_KEYS else info
        if re.match(r"@every([ \t]|$)", expression, re.IGNORECASE):
            compiled = _compile_interval(expression, zone)
        else:
            compiled = _compile_cron(expression, zone)
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "timezone", zone_name)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_memo", {})

    @property
    def is_interval(self) -> bool:
        """True for ``@every`` schedules."""
        return self._compiled.interval is not None

    @property
    def interval(self) -> timedelta | None:
        """The ``@every`` interval, or None for cron expressions."""
        return self._compiled.interval

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone as a :class:`~zoneinfo.ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def next_fire(self, after: datetime) -> datetime:
        """The first fire strictly after ``after`` (any aware datetime), in UTC.

        Raises :class:`~dbcron.errors.CronError` if the schedule has no fire in the next
        50 years or its fire times cannot be computed, and ValueError for a naive ``after``.
        """
        after_utc = utc(after)
        compiled = self._compiled
        if compiled.interval is not None:
            return _next_interval(after_utc, compiled.interval)
        # Many jobs share a schedule and fire together (every job on "* * * * *" at a
        # minute boundary): the answer for one is the answer for all, so remember it.
        memo = self._memo
        known = memo.get(after_utc)
        if known is not None:
            return known
        fire = self._next_cron(after_utc)
        if fire is None:
            raise self._no_fire(after_utc)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[after_utc] = fire
        return fire

    def fires(self, after: datetime) -> Iterator[datetime]:
        """Successive fires strictly after ``after``, in UTC; ends only if fires run out.

        Raises :class:`~dbcron.errors.CronError` like :meth:`next_fire` when the next
        fire time cannot be computed.
        """
        last: datetime | None = utc(after)
        interval = self._compiled.interval
        while last is not None:
            last = _next_interval(last, interval) if interval else self._next_cron(last)
            if last is not None:
                yield last

    def fires_between(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """The fires in ``(start, end]``, in UTC, at most ``limit`` of them."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        end_utc = utc(end)
        result: list[datetime] = []
        if limit == 0:
            return result
        for fire in self.fires(start):
            if fire > end_utc:
                break
            result.append(fire)
            if len(result) >= limit:
                break
        return result

    def fires_before(
        self, instant: datetime, count: int, after: datetime | None = None
    ) -> list[datetime]:
        """The newest ``count`` fires at or before ``instant``, newest first, in UTC.

        With ``after``, only fires strictly after it; without, fires of the last 50 years.
        The result is exactly the tail of the forward walk (:meth:`fires` from ``after``),
        reversed, whatever the DST rules: ``@every`` fires are computed directly, and for
        cron expressions the forward search runs over ever longer stretches ending at
        ``instant`` (each stretch walked only when it holds at most about ``2 * count``
        fires, a shorter one otherwise), so the cost grows with ``count``, not with how
        far back ``after`` lies.

        Raises :class:`~dbcron.errors.CronError` like :meth:`next_fire` when a fire time
        in the stretches searched cannot be computed.
        """
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        end = utc(instant)
        low = utc(after) if after is not None else _minus(end, _HORIZON)
        if count == 0 or end <= low:
            return []
        interval = self._compiled.interval
        if interval is not None:
            result: list[datetime] = []
            fire = _EPOCH + ((end - _EPOCH) // interval) * interval
            while len(result) < count and fire > low:
                result.append(fire)
                fire -= interval
            return result
        found: list[datetime] = []  # every fire in (upper, end], oldest first
        upper = end
        # The densest cron expressions fire every second (six fields) or every minute.
        span = count * (_ONE_SECOND if len(self._compiled.fields) == 6 else timedelta(minutes=1))
        for _ in range(_MAX_SEGMENTS):
            if len(found) >= count or upper <= low:
                return found[::-1][:count]
            start = max(low, _minus(upper, span))
            piece = self._fires_within(start, upper, 2 * (count - len(found)) + 16)
            if piece is None:  # too many fires in (start, upper]: try a shorter stretch
                span = max(span // 2, _ONE_SECOND)
                continue
            found[:0] = piece
            upper = start
            # Widen by what the stretch just searched suggests, within reason.
            wanted = 5 * (count - len(found)) // 4 + 1
            span *= min(16, max(2, wanted // len(piece))) if piece else 4
        raise CronError(  # far more stretches than any schedule needs
            f"schedule {self.expression!r}: the search for the fires before "
            f"{end.isoformat()} does not settle (a bug; please report)"
        )

    def count_fires(self, after: datetime, until: datetime) -> int | None:
        """How many fires lie in ``(after, until]``, or None when that is not cheap to know.

        ``@every`` schedules are counted arithmetically. Cron expressions are counted on
        the wall clock, one stretch of unchanged UTC offset at a time, day by day (a
        matching day holds every combination of the hour, minute and second values);
        for fixed-time schedules (the Debian DST rules) the few fires around each offset
        change are counted one by one. The count is None for ``nW`` expressions and for
        cron stretches longer than about four years.
        """
        start = utc(after).replace(microsecond=0)  # fires are whole seconds
        end = utc(until).replace(microsecond=0)
        if end <= start:
            return 0
        compiled = self._compiled
        if compiled.interval is not None:
            return (end - _EPOCH) // compiled.interval - (start - _EPOCH) // compiled.interval
        counter = compiled.counter
        if counter is None or end - start > _MAX_COUNT_SPAN:
            return None
        zone = compiled.zone
        if zone is UTC:
            return counter.count(start.replace(tzinfo=None), end.replace(tzinfo=None))

        def on_wall(lo: datetime, hi: datetime) -> int:
            """Fires in ``(lo, hi]``, a stretch of one UTC offset mapped 1:1 to wall times."""
            offset = _utc_offset(hi, zone)
            return counter.count(
                (lo + offset).replace(tzinfo=None), (hi + offset).replace(tzinfo=None)
            )

        if not compiled.debian_dst:  # every instant whose wall-clock time matches
            total, low = 0, start
            for change, _ in _offset_changes(zone, start, end):
                total += on_wall(low, change - _ONE_SECOND)
                low = change - _ONE_SECOND
            return total + on_wall(low, end)
        # Fixed-time rules: a time in a gap runs once after it, one in an overlap once at
        # its first occurrence. Only fires near an offset change can differ from the wall
        # clock's; those are walked, the rest counted on the wall clock.
        reach = _COUNT_CHANGE_REACH
        total, low = 0, start
        for change, size in _offset_changes(zone, _minus(start, reach), _plus(end, reach)):
            margin = abs(size) + _COUNT_WALK_MARGIN
            near_lo, near_hi = max(low, change - margin), min(end, change + margin)
            if near_hi <= near_lo:
                continue
            if near_lo > low:
                total += on_wall(low, near_lo)
            total += len(self._fires_within(near_lo, near_hi, None) or ())
            low = near_hi
        return total + (on_wall(low, end) if end > low else 0)

    def _fires_within(
        self, start: datetime, end: datetime, cap: int | None
    ) -> list[datetime] | None:
        """Every fire of a cron expression in ``(start, end]`` by the forward search, or
        None if there are more than ``cap``."""
        result: list[datetime] = []
        fire: datetime | None = start
        while fire is not None:
            fire = self._next_cron(fire, end)
            if fire is not None:
                result.append(fire)
                if cap is not None and len(result) > cap:
                    return None
        return result

    def describe(self) -> str:
        """A human description, e.g. ``At 09:00 on Monday (Europe/London)``."""
        compiled = self._compiled
        if compiled.interval is not None:
            return f"every {_describe_interval(compiled.interval)}"
        text = _cronsim_explain(compiled.cron)
        if compiled.w_dom:
            days = [_ordinal(int(t[:-1])) for t in compiled.w_dom if t.endswith("W") and t != "LW"]
            w_text = f"on the weekday nearest the {' and '.join(days)} day of the month"
            if any(not t.endswith("W") or t == "LW" for t in compiled.w_dom):
                text = f"{text}, and {w_text}"
            elif " every day" in text:
                text = text.replace(" every day", f" {w_text}", 1)
            else:
                text = f"{text}, {w_text}"
        if compiled.zone is not UTC:
            text = f"{text} ({self.timezone})"
        return text

    def _no_fire(self, after_utc: datetime) -> CronError:
        return CronError(
            f"schedule {self.expression!r} has no fire time within 50 years "
            f"after {after_utc.isoformat()}"
        )

    def _stuck(self, after_utc: datetime) -> CronError:
        where = "" if self._compiled.zone is UTC else f" in {self.timezone}"
        return CronError(
            f"schedule {self.expression!r}{where} cannot advance past {after_utc.isoformat()}: "
            "the cron library keeps returning times that are not later (a bug; please report)"
        )

    def _next_cron(self, after_utc: datetime, until: datetime | None = None) -> datetime | None:
        """The first fire of a cron expression after ``after_utc`` and at or before
        ``until`` (default: 50 years later), None if there is none."""
        if until is None:
            until = _plus(after_utc, _HORIZON)
        try:
            if self._compiled.w_dom:
                return self._w_search(after_utc, until)
            return self._search(self._compiled.start_sim, after_utc, until)
        except OverflowError:  # the search ran past year 9999
            return None

    def _search(
        self, make_sim: Callable[[datetime], CronSim], after_utc: datetime, until: datetime
    ) -> datetime | None:
        """The first fire in ``(after_utc, until]`` of the expression behind ``make_sim``.

        ``make_sim(start)`` returns a cronsim iterator over the matches after ``start``, a
        UTC time for UTC schedules and a naive wall-clock time otherwise (see
        :meth:`_Compiled.new_sim`).
        """
        compiled = self._compiled
        zone = compiled.zone
        until = until.replace(microsecond=0)
        if zone is UTC:
            fire = _first(make_sim(after_utc))
            if fire is not None and fire <= after_utc:
                raise self._stuck(after_utc)
            return fire if fire is not None and fire <= until else None
        if not compiled.debian_dst:
            return self._wall_search(make_sim, after_utc, until)
        sim = make_sim(after_utc.astimezone(zone).replace(tzinfo=None))
        # Under the Debian fixed-time rules cronsim works on the naive wall clock, so when
        # `after_utc` is in the second pass through a fall-back overlap it first returns
        # the (already passed) first occurrences of the overlap's times: skip those.
        for _ in range(_MAX_STALE_ANSWERS):
            local = _first(sim)
            if local is None:
                return None
            fire = local.astimezone(UTC)
            if fire > after_utc:
                return fire if fire <= until else None
        raise self._stuck(after_utc)

    def _wall_search(
        self, make_sim: Callable[[datetime], CronSim], after_utc: datetime, until: datetime
    ) -> datetime | None:
        """:meth:`_search` for a wildcard schedule: fires follow the wall clock.

        The fires are the instants whose local wall-clock time matches. Time is cut into
        segments of constant UTC offset; in each, cronsim runs on the naive wall clock and
        a match maps to exactly one instant. A match beyond the segment's end is not
        trusted: the search goes on from the offset change instead. (cronsim's own
        zone-aware mode gets this wrong for offsets changing by other than whole hours.)
        """
        zone = self._compiled.zone
        start = after_utc.replace(microsecond=0) + _ONE_SECOND  # the first candidate
        for _ in range(_MAX_SEGMENTS):
            if start > until:
                return None
            offset = _utc_offset(start, zone)
            wall = _first(make_sim((start + offset).replace(tzinfo=None) - _ONE_SECOND))
            if wall is None:  # no wall-clock time matches for 50 years
                return None
            fire = (wall - offset).replace(tzinfo=UTC)
            if fire < start:
                raise self._stuck(after_utc)
            change = _offset_change(zone, offset, start, min(fire, until))
            if change is None:
                return fire if fire <= until else None
            start = change
        raise self._stuck(after_utc)

    def _w_search(self, after_utc: datetime, until: datetime) -> datetime | None:
        """:meth:`_search` for an expression whose day-of-month has ``nW`` terms.

        Month by month, the W terms are resolved to concrete days, and the expression
        restricted to that month is searched from the month's start (or ``after_utc``).
        """
        compiled = self._compiled
        zone = compiled.zone
        local = after_utc.astimezone(zone)
        year, month = local.year, local.month
        if local.day == 1:  # a fall-back overlap may repeat the previous month's last hours
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        fields = list(compiled.fields)
        month_start = _earliest_instant(datetime(year, month, 1), zone)
        for _ in range(_W_SEARCH_MONTHS + 2):
            if month_start > until:
                return None
            next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
            next_start = _earliest_instant(datetime(next_year, next_month, 1), zone)
            if month in compiled.months:
                terms: list[str] = []
                for term in compiled.w_dom:
                    if term.endswith("W") and term != "LW":
                        day = _nearest_weekday(year, month, int(term[:-1]))
                        if day is not None:
                            terms.append(str(day))
                    else:
                        terms.append(term)
                if terms:
                    fields[-3] = ",".join(terms)
                    fields[-2] = str(month)
                    cron = " ".join(fields)
                    lower = max(after_utc, month_start - _ONE_SECOND)
                    try:
                        fire = self._search(
                            functools.partial(compiled.new_sim, cron),
                            lower,
                            min(until, next_start + _W_SPILL),
                        )
                    except CronSimError:  # e.g. only day 31 left in a 30-day month
                        fire = None
                    if fire is not None:
                        return fire
            year, month, month_start = next_year, next_month, next_start
        return None


def _first(sim: CronSim) -> datetime | None:
    """cronsim's next answer, or None when it gave up (no match within 50 years)."""
    try:
        return next(sim)
    except StopIteration:
        return None


#: Answers of :meth:`Schedule.next_fire` remembered per schedule (cleared when full).
_MEMO_SIZE = 256


@functools.lru_cache(maxsize=16384)
def _parse_cached(expression: str, timezone: str) -> Schedule:
    return Schedule(expression, timezone)


def parse_schedule(expression: str, timezone: str = "UTC") -> Schedule:
    """Parse and validate ``expression`` for zone ``timezone`` (cached).

    Raises :class:`~dbcron.errors.CronError` with a one-line message naming the bad field
    and its allowed values, the unknown macro, the bad duration or the unknown zone.
    """
    if not isinstance(expression, str):
        raise CronError(f"a schedule must be a string, not {type(expression).__name__}")
    if not isinstance(timezone, str):
        raise CronError(f"a time zone must be a string, not {type(timezone).__name__}")
    return _parse_cached(expression.strip(_BLANKS), timezone.strip())


def _next_interval(after_utc: datetime, interval: timedelta) -> datetime:
    steps = (after_utc - _EPOCH) // interval + 1
    return _EPOCH + steps * interval
