"""Compiling a schedule's text once: cronsim expression, fields, DST rules, prototype."""

from __future__ import annotations

import calendar
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import tzinfo as TzInfo  # noqa: N812 - the class, not an instance

from cronsim import CronSim, CronSimError

from dbcron.cron.count import _WallCounter
from dbcron.cron.fields import (
    _DAYS_IN_MONTH,
    _DOM,
    _DOW,
    _FIELDS_HELP,
    _HOUR,
    _MINUTE,
    _MONTH,
    _MONTH_NAMES,
    _SECOND,
    MACROS,
    _check_field,
    parse_duration,
)
from dbcron.cron.zones import _MAX_INTERVAL, _ONE_SECOND
from dbcron.errors import CronError


@dataclass(frozen=True)
class _Compiled:
    """Everything a :class:`Schedule` derives from its text, computed once."""

    zone: TzInfo  # the zone cron maths runs in (``datetime.UTC`` for UTC zones)
    interval: timedelta | None = None
    cron: str = ""  # the expression handed to cronsim (macros expanded, W terms removed)
    fields: tuple[str, ...] = ()  # the cron fields, seconds first when there are six
    w_dom: tuple[str, ...] = ()  # day-of-month terms when it has nW terms, else empty
    months: frozenset[int] = frozenset()
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    debian_dst: bool = False  # cronsim's fixed-time DST rules apply
    proto: CronSim | None = field(default=None, compare=False)  # see start_sim
    counter: _WallCounter | None = field(default=None, compare=False)  # see count_fires

    def new_sim(self, cron: str, start: datetime) -> CronSim:
        """A new cronsim iterator for ``cron`` whose answers are the matches after ``start``.

        ``start`` is an aware UTC time when the zone is UTC, else a naive wall-clock time
        in the zone; the answers are of the same kind. Only for the Debian fixed-time
        rules is cronsim given the zone (it then works on the naive wall clock and moves
        times out of spring-forward gaps); wildcard schedules use cronsim on the naive
        wall clock and :meth:`Schedule._wall_search` maps wall times to instants.
        """
        if self.debian_dst:
            return CronSim(cron, start.replace(tzinfo=self.zone))
        return CronSim(cron, start)

    def start_sim(self, start: datetime) -> CronSim:
        """:meth:`new_sim` for this schedule's own expression.

        Building a CronSim parses the expression again (about half the cost of a typical
        ``next_fire``), so when possible a prototype built once per schedule is cloned and
        only its position is set. This relies on cronsim 2.x keeping all iteration state
        in ``dt``; the cloned and the plainly-built iterators are compared in the tests.
        """
        proto = self.proto
        if proto is None:
            return self.new_sim(self.cron, start)
        sim = object.__new__(CronSim)
        sim.__dict__.update(proto.__dict__)
        sim.dt = start.replace(microsecond=0)
        return sim


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _compile_interval(expression: str, zone: TzInfo) -> _Compiled:
    text = expression[len("@every") :].strip()
    if not text:
        raise CronError("@every needs a duration, e.g. '@every 30s' or '@every 1h30m'")
    try:
        interval = parse_duration(text)
    except CronError as exc:
        message = str(exc).replace("invalid duration", "invalid @every interval", 1)
        raise CronError(message) from None
    if interval < _ONE_SECOND:
        raise CronError(f"invalid @every interval {text!r}: must be at least 1 second")
    if interval % _ONE_SECOND:
        raise CronError(f"invalid @every interval {text!r}: must be a whole number of seconds")
    if interval > _MAX_INTERVAL:
        raise CronError(
            f"invalid @every interval {text!r}: at most 366 days; "
            "use a cron expression for longer periods"
        )
    return _Compiled(zone=zone, interval=interval)


def _compile_cron(expression: str, zone: TzInfo) -> _Compiled:
    if expression.startswith("@"):
        macro = expression.lower()
        if macro not in MACROS:
            known = ", ".join([*MACROS, "@every <duration>"])
            raise CronError(f"unknown macro {expression!r}: known macros are {known}")
        expression = MACROS[macro]
    parts = expression.split()
    if len(parts) not in (5, 6):
        raise CronError(
            f"expected 5 fields ({_FIELDS_HELP}) or a macro like @daily, "
            f"got {len(parts)}: {expression!r}"
        )
    specs = [_MINUTE, _HOUR, _DOM, _MONTH, _DOW]
    if len(parts) == 6:
        specs.insert(0, _SECOND)
    infos = [_check_field(spec, part) for spec, part in zip(specs, parts, strict=True)]
    minute, hour, dom, month, _ = infos[-5:]
    dom_text, dow_text = parts[-3], parts[-1]

    if dom.w_days and dow_text != "*":
        raise CronError(
            f"invalid day-of-month field {dom_text!r}: W (nearest weekday) cannot be combined "
            f"with a restricted day-of-week field ({dow_text!r}); use '*' for day-of-week"
        )
    day_and = dom_text.startswith("*") or dow_text.startswith("*")
    if day_and and not dom.special and dom.values:
        first_day = min(dom.values)
        longest = max(_DAYS_IN_MONTH[m] for m in month.values)
        if first_day > longest:
            months = ", ".join(_MONTH_NAMES[m - 1] for m in sorted(month.values))
            raise CronError(
                f"invalid day-of-month field {dom_text!r}: day {first_day} never occurs in "
                f"{months} (at most {longest} days), so the schedule would never fire"
            )

    w_dom: tuple[str, ...] = ()
    cron_parts = [info.text for info in infos]
    if dom.w_days:
        w_dom = tuple(dom.text.split(","))
        rest = [t for t in w_dom if not t.endswith("W") or t == "LW"]
        cron_parts[-3] = ",".join(rest) or "*"
    cron = " ".join(cron_parts)
    debian_dst = (
        len(parts) == 5
        and not parts[0].startswith("*")
        and not parts[1].startswith("*")
        and zone is not UTC
    )
    compiled = _Compiled(
        zone=zone,
        cron=cron,
        fields=tuple(cron_parts),
        w_dom=w_dom,
        months=month.values,
        minutes=minute.values,
        hours=hour.values,
        debian_dst=debian_dst,
    )
    try:  # belt and braces: cronsim must agree with the checks above
        proto = compiled.new_sim(cron, datetime(2000, 1, 1, tzinfo=UTC if zone is UTC else None))
    except CronSimError as exc:
        bad = str(exc).removeprefix("Bad ")
        index = {s.name: i for i, s in enumerate(specs)}.get(bad)
        where = f"{bad} field {parts[index]!r}" if index is not None else "expression"
        raise CronError(f"invalid {where} in {expression!r}") from None

    state = vars(proto)
    if w_dom or not (
        {"dt", "fixup_tz"} <= state.keys()
        and (state["fixup_tz"] is not None) == debian_dst
        and state.get("skip_initial_tick") is False
        and state.get("tick_direction") == 1
    ):
        return compiled  # an unexpected cronsim version: always build afresh
    return dataclasses.replace(compiled, proto=proto, counter=_WallCounter.of(proto))


def _nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The weekday nearest to ``day`` inside the month, or None if the month is shorter."""
    last = calendar.monthrange(year, month)[1]
    if day > last:
        return None
    weekday = date(year, month, day).weekday()  # Monday is 0
    if weekday == 5:  # Saturday: Friday before, or Monday the 3rd if the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before if it is the last day
        return day + 1 if day < last else day - 2
    return day


def _describe_interval(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    parts: list[tuple[int, str]] = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append((count, unit))
    if len(parts) == 1 and parts[0][0] == 1:
        return parts[0][1]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts)
