"""Cron syntax: macros, field specs and their one-line errors, ``@every`` durations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from dbcron.errors import CronError

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


#: Characters that separate fields; any other whitespace or control character is refused.
_BLANKS = " \t"
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


_FIELDS_HELP = "minute hour day-of-month month day-of-week"


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
