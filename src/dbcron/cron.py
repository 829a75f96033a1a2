"""Schedule expressions: parsing, validation, next-fire maths and DST-aware previews.

A job's schedule is either a cron expression evaluated in the job's IANA time zone, or
``@every <duration>``, a fixed interval anchored at the Unix epoch. See design.md §7.

Supported syntax
----------------
* Standard 5-field cron (``minute hour day-of-month month day-of-week``) with names
  (``JAN``, ``mon``; case-insensitive), ranges, steps and lists. A 6-field form with a
  leading seconds field is accepted too (it follows the wall clock, never the Debian DST
  rules below, exactly as cronsim does).
* Macros ``@hourly @daily @midnight @weekly @monthly @yearly @annually``.
* ``L`` (last day of month) and ``LW`` (last weekday) in day-of-month, ``nL`` (last
  Friday: ``5L``) and ``#`` (``MON#2``) in day-of-week.
* ``nW`` in day-of-month: the weekday (Mon-Fri) nearest to day *n*, never leaving the
  month (``1W`` on a Saturday is Monday the 3rd; ``31W`` on a Sunday is Friday the 29th).
  A comma list may mix ``nW`` terms with other day-of-month terms; the day-of-week field
  must then be ``*``.
* ``@every <duration>`` (``30s``, ``1h30m``, ``2d``), at least one whole second: fires at
  the instants *t* with ``(t - 1970-01-01T00:00Z) % interval == 0``. The time zone is
  irrelevant for it.

Time zones and DST
------------------
Cron expressions are evaluated on the wall clock of the job's zone (``zoneinfo``) and
every result is returned in UTC. Daylight-saving transitions follow Debian cron: a job at
a fixed time (minute and hour fields both not starting with ``*``) whose time falls in a
spring-forward gap runs once, right after the gap; one whose time occurs twice in a
fall-back overlap runs once (at the first occurrence); jobs with a wildcard hour (or
minute) field simply follow the wall clock. :func:`preview` flags the fires that DST
moved or made ambiguous.

Why cronsim
-----------
The cron maths is cronsim's (https://github.com/cuu508/cronsim): it deliberately matches
Debian cron, including the DST behaviour above, supports ``L``, ``LW``, ``5L``, ``#`` and
names, can explain an expression in English, and is small, readable and typed. This module
adds what it lacks: precise one-line error messages naming the field and its allowed range
(cronsim only says ``Bad minute``), ``nW``, macros and ``@every``. It also maps wall-clock
times to instants itself for wildcard schedules (cronsim's zone-aware iteration loses or
repeats fires, or loops forever, when an offset changes by 30 or 45 minutes), and bounds
every loop over cronsim's answers, raising :class:`~dbcron.errors.CronError` rather than
hanging when a schedule cannot advance.

Fields are separated by ASCII spaces and tabs only; other whitespace and control
characters, and non-ASCII digits, are refused.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import difflib
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import tzinfo as TzInfo  # noqa: N812 - the class, not an instance
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError
from cronsim.explain import explain as _cronsim_explain

from dbcron.clock import utc
from dbcron.errors import CronError

__all__ = [
    "MACROS",
    "FirePreview",
    "Schedule",
    "parse_duration",
    "parse_schedule",
    "preview",
    "validate_timezone",
]

#: The supported ``@`` macros and the 5-field expressions they stand for.
MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

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
#: Characters that separate fields; any other whitespace or control character is refused.
_BLANKS = " \t"
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal"})
_FIELDS_HELP = "minute hour day-of-month month day-of-week"


# --------------------------------------------------------------------------------------
# Durations and time zones
# --------------------------------------------------------------------------------------

_DURATION_UNITS: dict[str, timedelta] = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
}
_DURATION_PART = re.compile(
    r"[ \t]*([0-9]{1,12})[ \t]*(ms|d|h|m|s)[ \t]*", re.IGNORECASE | re.ASCII
)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``30s``, ``1h30m``, ``2d`` or ``500ms``.

    A duration is one or more ``<integer><unit>`` parts (units ``d``, ``h``, ``m``, ``s``,
    ``ms``; case-insensitive; optional spaces between parts) and means their sum.
    Raises :class:`~dbcron.errors.CronError` with a one-line message otherwise.
    """
    if not isinstance(text, str) or not text.strip():
        raise CronError("empty duration: expected e.g. '30s', '1h30m' or '2d'")
    total = timedelta(0)
    pos = 0
    try:
        while pos < len(text):
            match = _DURATION_PART.match(text, pos)
            if match is None:
                rest = text[pos:].strip()
                if re.fullmatch(r"[0-9]+", rest):
                    reason = f"missing unit after {rest} (use d, h, m, s or ms)"
                elif re.search(r"[0-9][.,][0-9]", rest):
                    reason = "fractions are not supported, combine units instead, e.g. '1h30m'"
                elif any(c.isdigit() and not c.isascii() for c in rest):
                    reason = "only the ASCII digits 0-9 are allowed"
                else:
                    reason = "expected numbers with units d, h, m, s or ms, e.g. '30s' or '1h30m'"
                    if pos:
                        reason = f"cannot read {rest!r}; {reason}"
                raise CronError(f"invalid duration {text.strip()!r}: {reason}")
            total += int(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
            pos = match.end()
    except OverflowError:
        raise CronError(f"invalid duration {text.strip()!r}: too large") from None
    return total


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


# --------------------------------------------------------------------------------------
# Field validation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    lo: int
    hi: int
    allowed: str
    names: tuple[str, ...] = ()
    names_offset: int = 0


_SECOND = _FieldSpec("second", 0, 59, "0-59")
_MINUTE = _FieldSpec("minute", 0, 59, "0-59")
_HOUR = _FieldSpec("hour", 0, 23, "0-23")
_DOM = _FieldSpec("day-of-month", 1, 31, "1-31, L, LW or nW")
_MONTH = _FieldSpec("month", 1, 12, "1-12 or JAN-DEC", _MONTH_NAMES, 1)
_DOW = _FieldSpec("day-of-week", 0, 7, "0-7 or SUN-SAT, 0 and 7 are Sunday", _DAY_NAMES)


@dataclass(frozen=True)
class _FieldInfo:
    """What validation learnt about one field."""

    values: frozenset[int]  # plain values (W terms count as their day number)
    special: bool  # contains L, LW, nL or # terms
    w_days: tuple[int, ...]  # the n of every nW term (day-of-month only)
    text: str  # the field for cronsim: upper case, ``a-a/n`` rewritten as ``a``


def _field_error(spec: _FieldSpec, text: str, reason: str, term: str | None = None) -> CronError:
    """``invalid <field> field '<text>': [<term>: ]<reason>`` (the term only inside a list)."""
    if term is not None and term != text:
        reason = f"{term!r}: {reason}"
    return CronError(f"invalid {spec.name} field {text!r}: {reason}")


def _is_number(text: str) -> bool:
    """True for a non-empty run of ASCII digits (``isdigit`` alone accepts other scripts)."""
    return text.isascii() and text.isdigit()


def _value(spec: _FieldSpec, text: str, token: str) -> int:
    """One value of a field: a number or (month / day-of-week) a name."""
    upper = token.upper()
    if upper in spec.names:
        return spec.names.index(upper) + spec.names_offset
    if not token:
        raise _field_error(spec, text, "a value is missing")
    if not _is_number(token):
        if token == "?":
            raise _field_error(spec, text, "'?' is not supported, use '*'")
        if re.fullmatch(r"[0-9]*(L|W|LW)", upper):
            if spec is _DOM and (upper in ("L", "LW") or upper.endswith("W")):
                # whole L, LW and nW terms never get here: this one is inside a range
                raise _field_error(
                    spec, text, f"{token!r} cannot be part of a range, only a list item of its own"
                )
            if spec is _DOM:
                raise _field_error(
                    spec,
                    text,
                    f"{token!r} is not a valid value (allowed {spec.allowed}); "
                    "nL (last weekday n of the month) belongs in day-of-week",
                )
            where = "day-of-month" if upper.endswith("W") else "day-of-month and day-of-week"
            raise _field_error(spec, text, f"L and W are only allowed in {where}", token)
        raise _field_error(spec, text, f"{token!r} is not a valid value (allowed {spec.allowed})")
    value = int(token)
    if not spec.lo <= value <= spec.hi:
        raise _field_error(spec, text, f"{value} is out of range (allowed {spec.allowed})")
    return value


def _check_field(spec: _FieldSpec, text: str) -> _FieldInfo:
    """Validate one field the way cronsim parses it, with a precise message on error."""
    values: set[int] = set()
    special = False
    w_days: list[int] = []
    terms: list[str] = []
    width = spec.hi - spec.lo + 1
    for term in text.split(","):
        upper = term.upper()
        terms.append(upper)
        if not term:
            raise _field_error(spec, text, "empty item in list")
        if upper == "*":
            values.update(range(spec.lo, spec.hi + 1))
        elif spec is _DOM and upper in ("L", "LW"):
            special = True
        elif spec is _DOM and upper.endswith("W"):
            n_text = term[:-1]
            if not _is_number(n_text):
                raise _field_error(spec, text, "W needs a day number before it, e.g. 15W", term)
            n = _value(spec, text, n_text)
            w_days.append(n)
            values.add(n)
        elif spec is _DOW and "L" in upper:
            if not (upper.endswith("L") and _is_number(term[:-1])):
                raise _field_error(
                    spec, text, "use a day number before L, e.g. 5L for the last Friday", term
                )
            _value(spec, text, term[:-1])
            special = True
        elif "#" in term:
            if spec is not _DOW:
                raise _field_error(spec, text, "'#' is only allowed in the day-of-week field")
            day_text, nth_text = term.split("#", 1)
            _value(spec, text, day_text)
            if not (_is_number(nth_text) and 1 <= int(nth_text) <= 5):
                raise _field_error(
                    spec, text, f"occurrence {nth_text!r} is out of range (allowed 1-5)", term
                )
            special = True
        else:
            base, slash, step_text = term.partition("/")
            step = 1
            if slash:
                if not _is_number(step_text) or not 1 <= int(step_text) <= width:
                    raise _field_error(
                        spec, text, f"step {step_text!r} is out of range (allowed 1-{width})"
                    )
                step = int(step_text)
            if slash and spec is _DOM and base.upper().endswith(("L", "W")):
                raise _field_error(spec, text, f"a step cannot follow {base!r}", term)
            if base == "*":
                start, end = spec.lo, spec.hi
            elif "-" in base:
                start_text, end_text = base.split("-", 1)
                start = _value(spec, text, start_text)
                end = _value(spec, text, end_text)
                if end < start:
                    raise _field_error(
                        spec,
                        text,
                        f"range {base!r} is backwards (start after end)",
                    )
            else:
                start = _value(spec, text, base)
                end = spec.hi if slash else start
            values.update(range(start, end + 1, step))
            if slash and start == end:
                # cronsim reads a one-value range with a step ("5-5/10") as "5/10"
                # (5, 15, 25, ...), unlike Debian cron; hand it the plain value.
                terms[-1] = str(start)
    return _FieldInfo(frozenset(values), special, tuple(w_days), ",".join(terms))


# --------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------


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


def _earliest_instant(wall: datetime, zone: TzInfo) -> datetime:
    """A UTC instant no later than the first instant whose wall-clock time is ``wall`` or
    later (``wall`` is naive; it may be repeated by a fall-back or skipped by a gap)."""
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    return min(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


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


# --------------------------------------------------------------------------------------
# Previews
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirePreview:
    """One upcoming fire, as :func:`preview` shows it.

    ``local`` is in the schedule's zone. ``dst_shifted`` is True when DST moved the fire
    off the wall-clock time the expression names (a spring-forward gap) or when its local
    time occurs twice (a fall-back overlap); ``note`` then says which.
    """

    utc: datetime
    local: datetime
    dst_shifted: bool
    note: str | None


def preview(schedule: Schedule, after: datetime, count: int) -> list[FirePreview]:
    """The next ``count`` fires after ``after``, with local times and DST notes.

    Raises :class:`~dbcron.errors.CronError` like :meth:`Schedule.next_fire` when
    ``count`` is positive and the schedule has no fire at all within 50 years.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    zone = schedule.zone
    compiled = schedule._compiled
    result: list[FirePreview] = []
    for fire in islice(schedule.fires(after), count):
        local = fire.astimezone(zone)
        note = None if compiled.interval is not None else _dst_note(compiled, fire, local)
        result.append(FirePreview(fire, local, note is not None, note))
    if count and not result:
        raise schedule._no_fire(utc(after))
    return result


def _dst_note(compiled: _Compiled, fire: datetime, local: datetime) -> str | None:
    hhmm = f"{local:%H:%M}"
    if compiled.debian_dst:
        before = (fire - _ONE_SECOND).astimezone(local.tzinfo)
        offset_before, offset_now = before.utcoffset(), local.utcoffset()
        if offset_before is not None and offset_now is not None and offset_now > offset_before:
            # The fire is at the end of a spring-forward gap: which named times did it eat?
            gap_start = before.replace(tzinfo=None) + _ONE_SECOND
            gap_end = local.replace(tzinfo=None)
            eaten: list[str] = []
            named = {(h, m) for h in compiled.hours for m in compiled.minutes}
            wall = gap_start.replace(second=0, microsecond=0)
            while wall < gap_end:
                if wall >= gap_start and (wall.hour, wall.minute) in named:
                    eaten.append(f"{wall:%H:%M}")
                wall += timedelta(minutes=1)
            if eaten:
                verb = "does" if len(eaten) == 1 else "do"
                return (
                    f"{', '.join(eaten)} {verb} not exist on {local:%Y-%m-%d} "
                    f"(spring-forward: clocks jumped from {gap_start:%H:%M} to {hhmm}); "
                    f"runs once at {hhmm} {local.tzname()}"
                )
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset():
        if local.fold == 0:
            once = "; runs only once" if compiled.debian_dst else ""
            return f"first of two {hhmm}s (fall-back){once}"
        return f"second of two {hhmm}s (fall-back)"
    return None
