"""Unit tests for dbcron.cron: syntax, errors, @every, nW, descriptions and properties."""

from __future__ import annotations

import calendar
import dataclasses
import functools
import signal
import time as time_module
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from types import FrameType
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

from dbcron.cron import (
    MACROS,
    FirePreview,
    Schedule,
    parse_duration,
    parse_schedule,
    preview,
    validate_timezone,
)
from dbcron.errors import CronError, ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --------------------------------------------------------------------------------------
# Hang guard: every cron computation in these tests must finish within a second
# --------------------------------------------------------------------------------------

HANG_LIMIT = 1.0


class CronHangError(Exception):
    """Raised by SIGALRM inside a computation that outlived its time limit."""


@contextmanager
def time_limit(seconds: float = HANG_LIMIT) -> Iterator[None]:
    """Fail the test if the block runs longer than ``seconds``: a hang guard, not a speed test.

    SIGALRM interrupts even a busy pure-Python loop, so a hang fails its test instead of
    stalling the suite. An alarm already set (pytest-timeout's) is put back afterwards.
    """

    def expired(signum: int, frame: FrameType | None) -> None:
        raise CronHangError

    handler = signal.signal(signal.SIGALRM, expired)
    outer_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time_module.monotonic()
    try:
        yield
    except CronHangError:
        pytest.fail(f"a cron computation ran for more than {seconds} s (hang guard)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
        if outer_delay:
            left = outer_delay - (time_module.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


@pytest.fixture(scope="module", autouse=True)
def guard_cron_computations() -> Iterator[None]:
    """Run every ``next_fire`` and every step of ``fires`` (so also ``fires_between`` and
    ``preview``) of the module's tests under :func:`time_limit`."""
    next_fire = Schedule.next_fire
    fires = Schedule.fires

    def guarded_next_fire(self: Schedule, after: datetime) -> datetime:
        with time_limit():
            return next_fire(self, after)

    def guarded_fires(self: Schedule, after: datetime) -> Iterator[datetime]:
        it = fires(self, after)
        while True:
            with time_limit():
                fire = next(it, None)
            if fire is None:
                return
            yield fire

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Schedule, "next_fire", guarded_next_fire)
        patch.setattr(Schedule, "fires", guarded_fires)
        yield


def test_the_hang_guard_fails_a_computation_that_never_ends() -> None:
    def forever() -> None:
        while True:
            pass

    with pytest.raises(pytest.fail.Exception, match="hang guard"), time_limit(0.05):
        forever()


def z(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def nexts(expression: str, after: datetime, count: int, tz: str = "UTC") -> list[datetime]:
    """The next ``count`` fires, by chaining next_fire."""
    schedule = parse_schedule(expression, tz)
    result = []
    for _ in range(count):
        after = schedule.next_fire(after)
        result.append(after)
    return result


# --------------------------------------------------------------------------------------
# Standard syntax
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * *", z(2024, 5, 3, 10, 7), [z(2024, 5, 3, 10, 8), z(2024, 5, 3, 10, 9)]),
        ("*/15 * * * *", z(2024, 5, 3, 10, 7), [z(2024, 5, 3, 10, 15), z(2024, 5, 3, 10, 30)]),
        ("5,35 * * * *", z(2024, 5, 3, 10, 7), [z(2024, 5, 3, 10, 35), z(2024, 5, 3, 11, 5)]),
        ("10-12 3 * * *", z(2024, 5, 3), [z(2024, 5, 3, 3, 10), z(2024, 5, 3, 3, 11)]),
        ("0 0-12/6 * * *", z(2024, 5, 3, 1), [z(2024, 5, 3, 6), z(2024, 5, 3, 12)]),
        ("0 9 * * MON-FRI", z(2024, 5, 3, 10), [z(2024, 5, 6, 9), z(2024, 5, 7, 9)]),
        ("0 9 * * mon,wed", z(2024, 5, 3), [z(2024, 5, 6, 9), z(2024, 5, 8, 9)]),
        ("0 9 * * 7", z(2024, 5, 3), [z(2024, 5, 5, 9), z(2024, 5, 12, 9)]),
        ("0 9 * * 0", z(2024, 5, 3), [z(2024, 5, 5, 9), z(2024, 5, 12, 9)]),
        ("0 0 1 jan,Jul *", z(2024, 5, 3), [z(2024, 7, 1), z(2025, 1, 1)]),
        ("0 0 29 2 *", z(2024, 5, 3), [z(2028, 2, 29), z(2032, 2, 29)]),
        # day-of-month and day-of-week both restricted: either matches (Vixie/Debian)
        ("0 0 13 * FRI", z(2024, 9, 1), [z(2024, 9, 6), z(2024, 9, 13)]),
        # one of them starts with '*': both must match
        ("0 0 */2 * FRI", z(2024, 9, 1), [z(2024, 9, 13), z(2024, 9, 27)]),
        ("0 0 L * *", z(2024, 1, 31, 1), [z(2024, 2, 29), z(2024, 3, 31)]),
        ("0 0 LW * *", z(2024, 8, 1), [z(2024, 8, 30), z(2024, 9, 30)]),
        ("0 0 * * 5L", z(2024, 5, 1), [z(2024, 5, 31), z(2024, 6, 28)]),
        ("0 0 * * MON#2", z(2024, 5, 1), [z(2024, 5, 13), z(2024, 6, 10)]),
        ("0 0 * * 1#5", z(2024, 5, 1), [z(2024, 7, 29), z(2024, 9, 30)]),
        # a one-value range with a step is that value (cronsim alone would read 5/10)
        ("5-5/10 * * * *", z(2024, 5, 3, 10, 7), [z(2024, 5, 3, 11, 5), z(2024, 5, 3, 12, 5)]),
        ("0 0 3-3/2 * *", z(2024, 5, 3, 10), [z(2024, 6, 3)]),
        # six fields: seconds first
        ("*/20 * * * * *", z(2024, 5, 3, 10, 7, 5), [z(2024, 5, 3, 10, 7, 20)]),
    ],
)
def test_cron_fields(expression: str, after: datetime, expected: list[datetime]) -> None:
    assert nexts(expression, after, len(expected)) == expected


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros(macro: str, equivalent: str) -> None:
    after = z(2024, 5, 3, 10, 7)
    assert nexts(macro, after, 3) == nexts(equivalent, after, 3)
    assert MACROS[macro.lower()] == equivalent


def test_next_fire_is_strictly_after_and_accepts_any_zone() -> None:
    schedule = parse_schedule("0 * * * *")
    assert schedule.next_fire(z(2024, 5, 3, 10)) == z(2024, 5, 3, 11)
    assert schedule.next_fire(z(2024, 5, 3, 9, 59, 59) + timedelta(microseconds=999_999)) == z(
        2024, 5, 3, 10
    )
    paris = datetime(2024, 5, 3, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 10:00Z
    fire = schedule.next_fire(paris)
    assert fire == z(2024, 5, 3, 11)
    assert fire.tzinfo is UTC


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_schedule("* * * * *").next_fire(datetime(2024, 1, 1))


def test_cron_in_a_zone_returns_utc() -> None:
    fire = parse_schedule("0 9 * * *", "Asia/Kolkata").next_fire(z(2024, 5, 3))
    assert fire == z(2024, 5, 3, 3, 30)
    assert fire.tzinfo is UTC


# --------------------------------------------------------------------------------------
# nW
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 9 15W * *", z(2024, 6, 1), z(2024, 6, 14, 9)),  # 15th is a Saturday -> Fri 14th
        ("0 9 15W * *", z(2024, 9, 1), z(2024, 9, 16, 9)),  # 15th is a Sunday -> Mon 16th
        ("0 9 15W * *", z(2024, 5, 1), z(2024, 5, 15, 9)),  # a Wednesday: itself
        ("0 9 1W * *", z(2024, 5, 31), z(2024, 6, 3, 9)),  # 1st a Saturday -> Monday 3rd
        ("0 9 1W * *", z(2024, 8, 31), z(2024, 9, 2, 9)),  # 1st a Sunday -> Monday 2nd
        ("0 9 31W * *", z(2024, 3, 1), z(2024, 3, 29, 9)),  # 31st a Sunday -> Friday 29th
        ("0 9 31W * *", z(2024, 8, 1), z(2024, 8, 30, 9)),  # 31st a Saturday -> Friday 30th
        ("0 9 30W * *", z(2024, 6, 1), z(2024, 6, 28, 9)),  # 30th (last) Sunday -> Fri 28th
        ("0 9 31W * *", z(2024, 4, 1), z(2024, 5, 31, 9)),  # April has no 31st: skipped
        ("0 9 29W 2 *", z(2024, 1, 1), z(2024, 2, 29, 9)),  # Thursday
        ("0 9 29W 2 *", z(2024, 3, 1), z(2028, 2, 29, 9)),  # only leap years
        ("0 9 15w * *", z(2024, 6, 14, 9), z(2024, 7, 15, 9)),  # strictly after; lower case
    ],
)
def test_nearest_weekday(expression: str, after: datetime, expected: datetime) -> None:
    assert parse_schedule(expression).next_fire(after) == expected


def test_nearest_weekday_list_and_mix() -> None:
    assert nexts("0 9 1W,15W * *", z(2024, 6, 1), 3) == [
        z(2024, 6, 3, 9),
        z(2024, 6, 14, 9),
        z(2024, 7, 1, 9),
    ]
    assert nexts("0 9 L,15W * *", z(2024, 6, 1), 3) == [
        z(2024, 6, 14, 9),
        z(2024, 6, 30, 9),
        z(2024, 7, 15, 9),
    ]
    # two W terms resolving to the same day fire once
    assert nexts("0 9 15W,16W * *", z(2024, 6, 1), 2) == [z(2024, 6, 14, 9), z(2024, 6, 17, 9)]


@pytest.mark.parametrize(
    ("expression", "tz", "after", "expected"),
    [
        # a restricted month: each year's search starts at the month, not at `after`
        (
            "0 9 15W 3 *",
            "UTC",
            z(2024, 3, 1),
            [z(2024, 3, 15, 9), z(2025, 3, 14, 9), z(2026, 3, 16, 9), z(2027, 3, 15, 9)],
        ),
        (
            "0 9 1W 1,7 *",
            "Europe/London",
            z(2024, 1, 2),
            [z(2024, 7, 1, 8), z(2025, 1, 1, 9), z(2025, 7, 1, 8), z(2026, 1, 1, 9)],
        ),
        (
            "*/30 9 15W 3 *",
            "Pacific/Chatham",
            z(2024, 3, 14, 19, 20),  # 09:05 +1345 on Friday 15th
            [z(2024, 3, 14, 19, 45), z(2025, 3, 13, 19, 15), z(2025, 3, 13, 19, 45)],
        ),
    ],
)
def test_nearest_weekday_in_a_restricted_month(
    expression: str, tz: str, after: datetime, expected: list[datetime]
) -> None:
    assert nexts(expression, after, len(expected), tz) == expected
    schedule = parse_schedule(expression, tz)
    assert schedule.fires_between(after, expected[-1], 10) == expected


def test_nearest_weekday_in_a_zone_and_fires_iterator() -> None:
    schedule = parse_schedule("30 8 1W * *", "Europe/London")
    fires = schedule.fires_between(z(2024, 5, 31), z(2024, 9, 30), 10)
    assert fires == [
        z(2024, 6, 3, 7, 30),
        z(2024, 7, 1, 7, 30),
        z(2024, 8, 1, 7, 30),
        z(2024, 9, 2, 7, 30),
    ]


@given(
    day=st.integers(1, 31),
    instant=st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)),
)
@settings(max_examples=150, deadline=None)
def test_nearest_weekday_property(day: int, instant: datetime) -> None:
    fire = parse_schedule(f"0 12 {day}W * *").next_fire(instant)
    assert fire > instant
    assert fire.weekday() < 5
    last = calendar.monthrange(fire.year, fire.month)[1]
    assert day <= last
    # the nearest weekday in the month: no weekday of the month is strictly closer
    best = min(
        (d for d in range(1, last + 1) if date(fire.year, fire.month, d).weekday() < 5),
        key=lambda d: (abs(d - day), d),
    )
    assert abs(fire.day - day) == abs(best - day)


# --------------------------------------------------------------------------------------
# @every
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("@every 30s", z(2024, 5, 3, 10, 7, 5), [z(2024, 5, 3, 10, 7, 30), z(2024, 5, 3, 10, 8)]),
        ("@every 30s", z(2024, 5, 3, 10, 7, 30), [z(2024, 5, 3, 10, 8)]),
        ("@every 1s", z(2024, 5, 3, 10, 7, 5), [z(2024, 5, 3, 10, 7, 6)]),
        ("@every 1h30m", z(2024, 5, 3, 10), [z(2024, 5, 3, 10, 30), z(2024, 5, 3, 12)]),
        ("@every 7m", EPOCH, [EPOCH + timedelta(minutes=7)]),
        ("@every 2d", z(2024, 5, 3), [z(2024, 5, 5)]),  # 19846 days after the epoch: even
        ("@EVERY 1H", z(2024, 5, 3, 10, 7), [z(2024, 5, 3, 11)]),
    ],
)
def test_every(expression: str, after: datetime, expected: list[datetime]) -> None:
    assert nexts(expression, after, len(expected)) == expected


def test_every_ignores_time_zone_and_is_interval() -> None:
    schedule = parse_schedule("@every 1h", "America/New_York")
    assert schedule.is_interval
    assert schedule.interval == timedelta(hours=1)
    # straight through the spring-forward night: plain hourly UTC instants
    assert schedule.fires_between(z(2024, 3, 10, 5), z(2024, 3, 10, 9), 10) == [
        z(2024, 3, 10, 6),
        z(2024, 3, 10, 7),
        z(2024, 3, 10, 8),
        z(2024, 3, 10, 9),
    ]
    cron = parse_schedule("@daily")
    assert not cron.is_interval
    assert cron.interval is None


@given(
    seconds=st.integers(1, 3 * 86400),
    instant=st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)),
)
@settings(max_examples=200, deadline=None)
def test_every_alignment_property(seconds: int, instant: datetime) -> None:
    interval = timedelta(seconds=seconds)
    fire = parse_schedule(f"@every {seconds}s").next_fire(instant)
    assert instant < fire <= instant + interval
    assert (fire - EPOCH) % interval == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("1d 2h 3m 4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90M", timedelta(minutes=90)),
        ("0s", timedelta(0)),
        ("1m1m", timedelta(minutes=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty duration"),
        ("abc", "expected numbers with units"),
        ("30", "missing unit after 30"),
        ("1h30", "missing unit after 30"),
        ("1x", "expected numbers with units"),
        ("-5s", "expected numbers with units"),
        ("1.5h", "fractions are not supported"),
        ("1h 5x", "cannot read '5x'"),
        ("999999999999d", "too large"),
        ("\u0665s", "only the ASCII digits 0-9 are allowed"),  # ARABIC-INDIC DIGIT FIVE
        ("5\u017f", "expected numbers with units"),  # LONG S, which case-folds to 's'
        ("5s\n", "cannot read"),
    ],
)
def test_parse_duration_errors(text: str, fragment: str) -> None:
    with pytest.raises(CronError, match=fragment):
        parse_duration(text)


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "invalid minute field '61': 61 is out of range (allowed 0-59)"),
        ("0 24 * * *", "invalid hour field '24': 24 is out of range (allowed 0-23)"),
        ("0 0 0 * *", "invalid day-of-month field '0': 0 is out of range (allowed 1-31"),
        ("0 0 32 * *", "invalid day-of-month field '32': 32 is out of range (allowed 1-31"),
        ("0 0 * 13 *", "invalid month field '13': 13 is out of range (allowed 1-12 or JAN-DEC)"),
        ("0 0 * * 8", "invalid day-of-week field '8': 8 is out of range (allowed 0-7 or SUN-SAT"),
        ("1,99 * * * *", "invalid minute field '1,99': 99 is out of range (allowed 0-59)"),
        ("0-60 * * * *", "invalid minute field '0-60': 60 is out of range (allowed 0-59)"),
        ("* * * FOO *", "invalid month field 'FOO': 'FOO' is not a valid value (allowed 1-12"),
        ("* * * * MONDAY", "invalid day-of-week field 'MONDAY': 'MONDAY' is not a valid value"),
        ("* * * JAN-MON *", "invalid month field 'JAN-MON': 'MON' is not a valid value"),
        ("*/0 * * * *", "invalid minute field '*/0': step '0' is out of range (allowed 1-60)"),
        ("*/90 * * * *", "invalid minute field '*/90': step '90' is out of range (allowed 1-60)"),
        ("*/x * * * *", "invalid minute field '*/x': step 'x' is out of range"),
        ("30-10 * * * *", "invalid minute field '30-10': range '30-10' is backwards"),
        ("* * * * FRI-SUN", "invalid day-of-week field 'FRI-SUN': range 'FRI-SUN' is backwards"),
        ("1,,2 * * * *", "invalid minute field '1,,2': empty item in list"),
        ("? * * * *", "invalid minute field '?': '?' is not supported, use '*'"),
        ("5W * * * *", "invalid minute field '5W': L and W are only allowed in day-of-month"),
        ("0 L * * *", "invalid hour field 'L': L and W are only allowed in day-of-month and"),
        ("0 0 * * MON#6", "invalid day-of-week field 'MON#6': occurrence '6' is out of range"),
        ("0 0 * * MON#0", "(allowed 1-5)"),
        ("0 0 1#2 * *", "invalid day-of-month field '1#2': '#' is only allowed in the day-of-week"),
        ("0 0 * * FRIL", "invalid day-of-week field 'FRIL': use a day number before L"),
        ("0 0 * * 1,FRIL", "invalid day-of-week field '1,FRIL': 'FRIL': use a day number"),
        ("0 0 1-5W * *", "invalid day-of-month field '1-5W': W needs a day number before it"),
        ("0 0 32W * *", "invalid day-of-month field '32W': 32 is out of range (allowed 1-31"),
        ("0 0 L/2 * *", "invalid day-of-month field 'L/2': a step cannot follow 'L'"),
        (
            "0 9 15W * MON",
            "invalid day-of-month field '15W': W (nearest weekday) cannot be combined with a "
            "restricted day-of-week field ('MON'); use '*' for day-of-week",
        ),
        (
            "0 0 31 2 *",
            "invalid day-of-month field '31': day 31 never occurs in FEB (at most 29 days)",
        ),
        ("0 0 31 4,6,9,11 *", "day 31 never occurs in APR, JUN, SEP, NOV (at most 30 days)"),
        ("0 0 31W 2 *", "day 31 never occurs in FEB"),
        (
            "* * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or a macro like "
            "@daily, got 3: '* * *'",
        ),
        ("* * * * * * *", "expected 5 fields"),
        ("", "empty schedule"),
        ("   ", "empty schedule"),
        (
            "@reboot",
            "unknown macro '@reboot': known macros are @yearly, @annually, @monthly, @weekly, "
            "@daily, @midnight, @hourly, @every <duration>",
        ),
        ("@every 0s", "invalid @every interval '0s': must be at least 1 second"),
        ("@every 500ms", "invalid @every interval '500ms': must be at least 1 second"),
        ("@every 1500ms", "invalid @every interval '1500ms': must be a whole number of seconds"),
        ("@every abc", "invalid @every interval 'abc': expected numbers with units d, h, m, s"),
        ("@every 30", "invalid @every interval '30': missing unit after 30"),
        ("@every", "@every needs a duration"),
        ("@every 400d", "at most 366 days"),
        ("61 * * * * *", "invalid second field '61': 61 is out of range (allowed 0-59)"),
        # only ASCII spaces and tabs separate fields
        (
            "1\n2 * * * *",
            "invalid character '\\n' (U+000A) in schedule '1\\n2 * * * *': only spaces and "
            "tabs may separate fields",
        ),
        ("0\u00a00 * * * *", "invalid character '\\xa0' (U+00A0)"),  # no-break space
        ("0 0\u2003* * * *", "(U+2003)"),  # em space
        ("0 0 * * *\n", "(U+000A)"),
        ("0 0 * * *\x00", "(U+0000)"),
        ("@every\u00a05s", "(U+00A0)"),
        ("@every \u0665s", "invalid @every interval '\u0665s': only the ASCII digits 0-9"),
        ("*/\u00b2 * * * *", "invalid minute field '*/\u00b2': step"),  # superscript two
        ("0 0 * * MON#\u0662", "occurrence '\u0662' is out of range"),
        ("0 0 \u0665W * *", "W needs a day number before it"),
        ("0 0 29-L * *", "invalid day-of-month field '29-L': 'L' cannot be part of a range"),
        ("0 0 L-5 * *", "'L' cannot be part of a range, only a list item of its own"),
        ("0 0 5L * *", "nL (last weekday n of the month) belongs in day-of-week"),
    ],
)
def test_errors(expression: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        parse_schedule(expression)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert isinstance(info.value, ValidationError)


@pytest.mark.parametrize("expression", ["0 0 29-L * *", "0 0 L-5 * *", "0 0 5L * *"])
def test_l_errors_in_day_of_month_do_not_contradict_themselves(expression: str) -> None:
    with pytest.raises(CronError) as info:
        parse_schedule(expression)
    assert "only allowed in day-of-month" not in str(info.value)


def test_spaces_and_tabs_still_separate_fields() -> None:
    assert parse_schedule(" 0\t9  * * *\t").expression == "0\t9  * * *"
    assert parse_schedule("@every\t30s").interval == timedelta(seconds=30)


def test_errors_also_from_the_constructor() -> None:
    with pytest.raises(CronError, match="out of range"):
        Schedule("61 * * * *")


def test_accepts_day_that_exists_in_some_listed_month() -> None:
    assert parse_schedule("0 0 31 2,3 *").next_fire(z(2024, 1, 1)) == z(2024, 3, 31)
    assert parse_schedule("0 0 30 2,4 *").next_fire(z(2024, 1, 1)) == z(2024, 4, 30)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Mars/Base", "unknown time zone 'Mars/Base': use an IANA name such as 'UTC'"),
        ("europe/london", "unknown time zone 'europe/london': did you mean 'Europe/London'?"),
        ("America/NewYork", "did you mean 'America/New_York'?"),
        ("", "empty time zone name"),
        ("../../etc/passwd", "unknown time zone"),
        ("/etc/localtime", "unknown time zone"),
    ],
)
def test_bad_time_zones(name: str, fragment: str) -> None:
    with pytest.raises(CronError, match=fragment.replace("?", r"\?").replace("(", r"\(")):
        validate_timezone(name)
    with pytest.raises(CronError):
        parse_schedule("* * * * *", name)


def test_good_time_zones() -> None:
    assert validate_timezone("Europe/London") == ZoneInfo("Europe/London")
    assert validate_timezone(" UTC ") == ZoneInfo("UTC")
    schedule = parse_schedule("  0 9 * * *  ", " Asia/Kolkata ")
    assert schedule.expression == "0 9 * * *"
    assert schedule.timezone == "Asia/Kolkata"
    assert schedule.zone == ZoneInfo("Asia/Kolkata")


# --------------------------------------------------------------------------------------
# API details
# --------------------------------------------------------------------------------------


def test_parse_schedule_is_cached_and_schedules_compare_by_text() -> None:
    assert parse_schedule("*/5 * * * *", "UTC") is parse_schedule(" */5 * * * * ", "UTC")
    assert Schedule("*/5 * * * *") == parse_schedule("*/5 * * * *")
    assert Schedule("*/5 * * * *") != parse_schedule("*/5 * * * *", "Europe/London")
    assert len({Schedule("@daily"), Schedule("@daily"), Schedule("@hourly")}) == 2
    assert "*/5" in repr(Schedule("*/5 * * * *"))


def test_fires_and_fires_between() -> None:
    schedule = parse_schedule("0 */6 * * *")
    it = schedule.fires(z(2024, 5, 3, 1))
    assert [next(it) for _ in range(3)] == [z(2024, 5, 3, 6), z(2024, 5, 3, 12), z(2024, 5, 3, 18)]
    # (start, end]: start excluded, end included
    assert schedule.fires_between(z(2024, 5, 3, 6), z(2024, 5, 4), 10) == [
        z(2024, 5, 3, 12),
        z(2024, 5, 3, 18),
        z(2024, 5, 4),
    ]
    assert schedule.fires_between(z(2024, 5, 3), z(2024, 5, 10), 2) == [
        z(2024, 5, 3, 6),
        z(2024, 5, 3, 12),
    ]
    assert schedule.fires_between(z(2024, 5, 3), z(2024, 5, 10), 0) == []
    assert schedule.fires_between(z(2024, 5, 3, 7), z(2024, 5, 3, 8), 5) == []
    with pytest.raises(ValueError, match="limit"):
        schedule.fires_between(z(2024, 5, 3), z(2024, 5, 10), -1)


@pytest.mark.parametrize(
    ("expression", "tz", "expected"),
    [
        ("0 9 * * *", "UTC", "At 09:00 every day"),
        ("0 9 * * MON", "Europe/London", "At 09:00 on Monday (Europe/London)"),
        ("*/15 * * * *", "UTC", "Every 15th minute of every hour"),
        ("@daily", "UTC", "At 00:00 every day"),
        ("0 0 * * MON#2", "UTC", "At 00:00 on the second Monday of the month"),
        ("0 9 15W * *", "UTC", "At 09:00 on the weekday nearest the 15th day of the month"),
        ("0 9 1W,22W * *", "UTC", "nearest the 1st and 22nd day of the month"),
        ("0 9 L,15W * *", "UTC", "last day of every month, and on the weekday nearest the 15th"),
        ("@every 30s", "UTC", "every 30 seconds"),
        ("@every 1s", "UTC", "every second"),
        ("@every 1h30m", "Asia/Kolkata", "every 1 hour 30 minutes"),
        ("@every 2d", "UTC", "every 2 days"),
    ],
)
def test_describe(expression: str, tz: str, expected: str) -> None:
    assert expected in parse_schedule(expression, tz).describe()


def test_preview_plain() -> None:
    rows = preview(parse_schedule("0 9 * * *", "Asia/Kolkata"), z(2024, 5, 3), 2)
    assert rows == [
        FirePreview(
            z(2024, 5, 3, 3, 30),
            datetime(2024, 5, 3, 9, tzinfo=ZoneInfo("Asia/Kolkata")),
            False,
            None,
        ),
        FirePreview(
            z(2024, 5, 4, 3, 30),
            datetime(2024, 5, 4, 9, tzinfo=ZoneInfo("Asia/Kolkata")),
            False,
            None,
        ),
    ]
    assert rows[0].local.hour == 9
    assert preview(parse_schedule("@every 1m"), z(2024, 5, 3), 0) == []
    assert [r.utc for r in preview(parse_schedule("@every 1m"), z(2024, 5, 3), 2)] == [
        z(2024, 5, 3, 0, 1),
        z(2024, 5, 3, 0, 2),
    ]


def test_next_fire_speed() -> None:
    """A loose guard against accidental slowness (the real figure is ~20-60 µs)."""
    cases = [
        ("*/15 * * * *", "UTC"),
        ("0 9 * * MON-FRI", "America/New_York"),
        ("30 2 * * *", "Europe/London"),
        ("0 0 1 * *", "UTC"),
    ]
    after = z(2024, 5, 3, 10, 7)
    for expression, tz in cases:
        schedule = parse_schedule(expression, tz)
        start = time_module.perf_counter()
        for _ in range(200):
            schedule.next_fire(after)
        per_call = (time_module.perf_counter() - start) / 200
        assert per_call < 0.002, (expression, tz, per_call)


# --------------------------------------------------------------------------------------
# Properties: random expressions, zones and instants, checked by brute force
# --------------------------------------------------------------------------------------

# Whole-hour DST, a 30-minute DST (Lord Howe), a 45-minute offset with DST changing at
# :45 (Chatham), and a 30-minute offset without DST (Kolkata).
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
]
INSTANTS = st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC))


@functools.cache
def transitions(tz: str) -> tuple[datetime, ...]:
    """The instants of 2000-2040 at which ``tz`` changes its UTC offset (6-hour probes,
    then bisection to the second)."""
    zone = ZoneInfo(tz)

    def offset(seconds: int) -> timedelta | None:
        return datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()

    found = []
    step = 6 * 3600
    start, end = (
        int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()),
        int(datetime(2041, 1, 1, tzinfo=UTC).timestamp()),
    )
    for low in range(start, end, step):
        high = low + step
        if offset(low) != offset(high):
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == offset(low) else (low, middle)
            found.append(datetime.fromtimestamp(high, UTC))
    return tuple(found)


def instants_for(tz: str) -> st.SearchStrategy[datetime]:
    """Any instant, or (half the time) one within 30 hours of an offset change of ``tz``."""
    near = transitions(tz)
    if not near:
        return INSTANTS
    around = st.builds(
        lambda change, seconds: change + timedelta(seconds=seconds),
        st.sampled_from(near),
        st.integers(-30 * 3600, 30 * 3600),
    )
    return st.one_of(INSTANTS, around)


ZONE_AND_INSTANT = st.sampled_from(ZONES).flatmap(
    lambda tz: st.tuples(st.just(tz), instants_for(tz))
)


@dataclass(frozen=True)
class Field:
    """A generated cron field and the values it stands for."""

    text: str
    values: frozenset[int]


@st.composite
def fields(draw: st.DrawFn, lo: int, hi: int, allow_star: bool = True) -> Field:
    """A random field for values lo..hi: lists of values, ranges and steps."""
    width = hi - lo + 1
    terms: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["*", "*/n", "a", "a-b", "a-b/n", "a/n"]))
        if not allow_star and kind.startswith("*"):
            kind = "a"
        a = draw(st.integers(lo, hi))
        b = draw(st.integers(a, hi))
        n = draw(st.integers(1, width))
        if kind == "*":
            terms.append("*")
            values.update(range(lo, hi + 1))
        elif kind == "*/n":
            terms.append(f"*/{n}")
            values.update(range(lo, hi + 1, n))
        elif kind == "a":
            terms.append(str(a))
            values.add(a)
        elif kind == "a-b":
            terms.append(f"{a}-{b}")
            values.update(range(a, b + 1))
        elif kind == "a-b/n":
            terms.append(f"{a}-{b}/{n}")
            values.update(range(a, b + 1, n))
        else:
            terms.append(f"{a}/{n}")
            values.update(range(a, hi + 1, n))
    return Field(",".join(terms), frozenset(values))


STAR = Field("*", frozenset())


@dataclass(frozen=True)
class Expr:
    """A generated 5-field expression with an independent matcher."""

    minute: Field
    hour: Field
    dom: Field
    month: Field
    dow: Field

    @property
    def text(self) -> str:
        return " ".join(f.text for f in (self.minute, self.hour, self.dom, self.month, self.dow))

    def day_matches(self, d: date) -> bool:
        month_ok = self.month is STAR or d.month in self.month.values
        dom_ok = self.dom is STAR or d.day in self.dom.values
        dow = (d.weekday() + 1) % 7
        dow_ok = self.dow is STAR or dow in self.dow.values or (dow == 0 and 7 in self.dow.values)
        if self.dom.text.startswith("*") or self.dow.text.startswith("*"):
            return month_ok and dom_ok and dow_ok
        return month_ok and (dom_ok or dow_ok)

    def time_matches(self, local: datetime) -> bool:
        return local.minute in self.minute.values and local.hour in self.hour.values

    def matches(self, local: datetime) -> bool:
        return self.time_matches(local) and self.day_matches(local.date())


@st.composite
def daily_exprs(draw: st.DrawFn) -> Expr:
    """Expressions that fire at least once a day."""
    return Expr(draw(fields(0, 59)), draw(fields(0, 23)), STAR, STAR, STAR)


@st.composite
def any_exprs(draw: st.DrawFn) -> Expr:
    """Expressions with every field random (day fields may be '*')."""
    maybe = st.booleans()
    return Expr(
        draw(fields(0, 59)),
        draw(fields(0, 23)),
        draw(fields(1, 31)) if draw(maybe) else STAR,
        draw(fields(1, 12)) if draw(maybe) else STAR,
        draw(fields(0, 7)) if draw(maybe) else STAR,
    )


def wall_instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants whose local time is ``wall`` (naive): none in a spring-forward gap,
    two in a fall-back overlap, else one."""
    result: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in result:
            result.append(instant)
    return result


def fixed_time_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Debian cron's one run for fixed time ``wall``: its first occurrence, or for a time
    in a spring-forward gap the first minute after the gap."""
    while not (instants := wall_instants(wall, zone)):
        wall += timedelta(minutes=1)
    return instants[0]


def expected_next(expr: Expr, tz: str, instant: datetime) -> datetime | None:
    """The oracle: the first fire after ``instant`` by the design rules (design.md §7), by
    brute force over local days, or None if there is none within 51 years.

    Wildcard-hour (or -minute) fires follow the wall clock: every instant whose local
    time matches, so none in a gap and two in an overlap. A fixed-time fire (minute and
    hour fields both not starting with '*') runs once: at the first occurrence of its
    time, or right after the gap if its time does not exist.
    """
    zone = ZoneInfo(tz)
    fixed = tz != "UTC" and not expr.minute.text.startswith("*")
    fixed = fixed and not expr.hour.text.startswith("*")
    pairs = sorted((h, m) for h in expr.hour.values for m in expr.minute.values)
    local = instant.astimezone(zone).replace(tzinfo=None)
    day = local.date() - timedelta(days=1)
    best: datetime | None = None
    for _ in range(366 * 51):
        if best is not None and datetime.combine(day, time(), UTC) - timedelta(days=2) > best:
            break
        if expr.day_matches(day):
            midnight = datetime.combine(day, time(), zone)
            regular = midnight.utcoffset() == (midnight + timedelta(days=1)).utcoffset()
            for h, m in pairs:
                wall = datetime.combine(day, time(h, m))
                if wall < local - timedelta(hours=3):  # long before `instant` in any case
                    continue
                found = [fixed_time_instant(wall, zone)] if fixed else wall_instants(wall, zone)
                later = [t for t in found if t > instant]
                if later and (best is None or min(later) < best):
                    best = min(later)
                if later and regular:  # no offset change this day: the rest come later
                    break
                if best is not None and found and min(found) > best + timedelta(hours=2):
                    break  # later times of the day: an offset changes by an hour at most
        day += timedelta(days=1)
    return best


def expected_fires(expr: Expr, tz: str, instant: datetime, count: int) -> list[datetime]:
    """The oracle's next ``count`` fires."""
    result: list[datetime] = []
    for _ in range(count):
        fire = expected_next(expr, tz, instant)
        assert fire is not None
        result.append(fire)
        instant = fire
    return result


@given(expr=daily_exprs(), case=ZONE_AND_INSTANT)
@settings(max_examples=300, deadline=None)
def test_property_next_fire_brute_force(expr: Expr, case: tuple[str, datetime]) -> None:
    tz, instant = case
    fire = parse_schedule(expr.text, tz).next_fire(instant)
    assert fire == expected_next(expr, tz, instant), (expr.text, tz, instant)
    assert fire.tzinfo is UTC
    assert (fire.second, fire.microsecond) == (0, 0)


@given(expr=daily_exprs(), case=ZONE_AND_INSTANT)
@settings(max_examples=150, deadline=None)
def test_property_fires_follow_the_oracle_through_transitions(
    expr: Expr, case: tuple[str, datetime]
) -> None:
    """Successive fires, so also those after an offset change up to local midnight."""
    tz, instant = case
    fires = list(islice(parse_schedule(expr.text, tz).fires(instant), 8))
    assert fires == expected_fires(expr, tz, instant, 8), (expr.text, tz, instant)


def _schedule_or_reject(expr: Expr, tz: str) -> Schedule:
    """The schedule of ``expr`` in ``tz``; Hypothesis drops the example when it has none."""
    try:
        return parse_schedule(expr.text, tz)
    except CronError:
        reject()


@given(expr=any_exprs(), case=ZONE_AND_INSTANT)
@settings(max_examples=200, deadline=None)
def test_property_next_fire_any_fields(expr: Expr, case: tuple[str, datetime]) -> None:
    tz, instant = case
    error = None
    try:
        schedule = parse_schedule(expr.text, tz)
    except CronError as exc:
        error = str(exc)
    if error is not None:  # only "day N never occurs in <months>" may be refused
        assert "never occurs" in error
        assume(False)
        return
    expected = expected_next(expr, tz, instant)
    if expected is None:
        with pytest.raises(CronError, match="no fire time within 50 years"):
            schedule.next_fire(instant)
        return
    assert schedule.next_fire(instant) == expected, (expr.text, tz, instant)


@given(expr=any_exprs(), case=ZONE_AND_INSTANT)
@settings(max_examples=100, deadline=None)
def test_property_fires_iterator_agrees_with_next_fire(
    expr: Expr, case: tuple[str, datetime]
) -> None:
    tz, instant = case
    schedule = _schedule_or_reject(expr, tz)
    it = schedule.fires(instant)
    from_iterator = [next(it) for _ in range(4)]
    assert from_iterator == nexts(expr.text, instant, 4, tz)
    assert from_iterator == sorted(set(from_iterator))


def without_prototype(schedule: Schedule) -> Schedule:
    """A copy of ``schedule`` that builds a fresh CronSim for every computation."""
    clone = Schedule(schedule.expression, schedule.timezone)
    object.__setattr__(clone, "_compiled", dataclasses.replace(clone._compiled, proto=None))
    return clone


@given(expr=any_exprs(), case=ZONE_AND_INSTANT)
@settings(max_examples=100, deadline=None)
def test_property_cloned_cronsim_matches_fresh_cronsim(
    expr: Expr, case: tuple[str, datetime]
) -> None:
    tz, instant = case
    schedule = _schedule_or_reject(expr, tz)
    assert schedule._compiled.proto is not None  # the fast path is in use
    fresh = without_prototype(schedule)
    assert list(islice(schedule.fires(instant), 5)) == list(islice(fresh.fires(instant), 5))
    assert schedule.next_fire(instant) == fresh.next_fire(instant)


@pytest.mark.parametrize(
    ("expression", "tz", "after"),
    [
        ("30 2 * * *", "America/New_York", z(2024, 3, 9)),
        ("30 1 * * *", "America/New_York", z(2024, 11, 2)),
        ("30 1 * * *", "America/New_York", z(2024, 11, 3, 6, 10)),
        ("*/15 * * * *", "Australia/Lord_Howe", z(2024, 4, 6, 14)),
        ("15 2 * * *", "Australia/Lord_Howe", z(2024, 10, 5)),
        ("*/20 * * * * *", "Europe/London", z(2024, 10, 27, 0, 59)),
        ("* 3 * * *", "Pacific/Chatham", z(2025, 4, 5, 13, 30)),
        ("0 3 * * *", "Pacific/Chatham", z(2025, 9, 27, 13)),
    ],
)
def test_cloned_cronsim_matches_fresh_cronsim_across_dst(
    expression: str, tz: str, after: datetime
) -> None:
    schedule = parse_schedule(expression, tz)
    fresh = without_prototype(schedule)
    assert list(islice(schedule.fires(after), 20)) == list(islice(fresh.fires(after), 20))


@pytest.mark.parametrize(
    ("expression", "tz"),
    [
        ("* * * * *", "UTC"),
        ("0 3 * * *", "Pacific/Chatham"),  # Debian fixed-time rules
        ("* 3 * * *", "Pacific/Chatham"),  # wall clock
        ("0 9 15W * *", "Europe/London"),
        ("*/5 9 15W * *", "Europe/London"),
    ],
)
def test_a_schedule_that_cannot_advance_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, expression: str, tz: str
) -> None:
    """cronsim stuck on one answer (as on Chatham's fall-back night): a one-line CronError
    naming the schedule, not an endless loop."""

    def stuck(self: CronSim) -> datetime:
        return self.dt if self.fixup_tz is None else self.dt.replace(tzinfo=self.fixup_tz)

    monkeypatch.setattr(CronSim, "__next__", stuck)
    schedule = Schedule(expression, tz)
    with pytest.raises(CronError, match="cannot advance past 2025-04-05T13:59:00") as info:
        schedule.next_fire(z(2025, 4, 5, 13, 59))
    assert expression in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(CronError, match="cannot advance"):
        next(schedule.fires(z(2025, 4, 5, 13, 59)))


# --------------------------------------------------------------------------------------
# Bounded searches back from an instant: fires_before and count_fires
# --------------------------------------------------------------------------------------


def forward(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every fire in ``(start, end]`` by the forward walk (the reference)."""
    return schedule.fires_between(start, end, 10**8)


@given(
    expr=any_exprs(),
    case=ZONE_AND_INSTANT,
    span=st.integers(0, 30 * 3600),
    count=st.integers(1, 30),
)
@settings(max_examples=150, deadline=None)
def test_property_fires_before_is_the_tail_of_the_forward_walk(
    expr: Expr, case: tuple[str, datetime], span: int, count: int
) -> None:
    """Newest first, exactly the last ``count`` fires of the forward walk, through every
    kind of offset change (instants are near one half the time); the count of the
    stretch is exact whenever it is given."""
    tz, start = case
    schedule = _schedule_or_reject(expr, tz)
    end = start + timedelta(seconds=span)
    expected = forward(schedule, start, end)
    with time_limit():
        newest = schedule.fires_before(end, count, after=start)
        counted = schedule.count_fires(start, end)
    assert newest == expected[::-1][:count], (expr.text, tz, start, end)
    assert counted == len(expected), (expr.text, tz, start, end)


@st.composite
def fixed_time_exprs(draw: st.DrawFn) -> Expr:
    """A few fixed times a day (the Debian DST rules apply) on random days."""
    minutes = draw(st.sets(st.integers(0, 59), min_size=1, max_size=2))
    hours = draw(st.sets(st.integers(0, 23), min_size=1, max_size=3))
    maybe = st.booleans()
    return Expr(
        Field(",".join(map(str, sorted(minutes))), frozenset(minutes)),
        Field(",".join(map(str, sorted(hours))), frozenset(hours)),
        draw(fields(1, 31)) if draw(maybe) else STAR,
        draw(fields(1, 12)) if draw(maybe) else STAR,
        draw(fields(0, 7)) if draw(maybe) else STAR,
    )


@given(expr=fixed_time_exprs(), case=ZONE_AND_INSTANT, days=st.integers(0, 400))
@settings(max_examples=80, deadline=None)
def test_property_count_fires_over_months(
    expr: Expr, case: tuple[str, datetime], days: int
) -> None:
    """Counts over long stretches (day matching, many offset changes) equal the walk's."""
    tz, start = case
    schedule = _schedule_or_reject(expr, tz)
    end = start + timedelta(days=days, seconds=days * 997)
    expected = forward(schedule, start, end)
    with time_limit():
        assert schedule.count_fires(start, end) == len(expected), (expr.text, tz, start, end)
        assert schedule.fires_before(end, 7, after=start) == expected[::-1][:7]


@pytest.mark.parametrize(
    ("expression", "tz", "start", "end"),
    [
        ("@every 7s", "Europe/London", z(2024, 10, 27, 0, 58), z(2024, 10, 27, 1, 3)),
        ("@every 1h30m", "UTC", z(2024, 5, 3, 0, 0, 1), z(2024, 5, 9, 23)),
        ("*/20 * * * * *", "Europe/London", z(2024, 10, 27, 0, 55), z(2024, 10, 27, 1, 5)),
        ("*/20 * * * * *", "Australia/Lord_Howe", z(2024, 4, 6, 14, 50), z(2024, 4, 6, 15, 40)),
        ("15 2 * * *", "Australia/Lord_Howe", z(2024, 9, 20), z(2024, 10, 20)),
        ("30 1 * * *", "America/New_York", z(2024, 10, 1), z(2024, 11, 20)),
        ("0-59 0-23 * * *", "Europe/London", z(2024, 10, 26, 22), z(2024, 10, 27, 4)),
        ("0-59 0-23 * * *", "Pacific/Chatham", z(2025, 9, 27, 12), z(2025, 9, 27, 16)),
        ("* 3 * * *", "Pacific/Chatham", z(2025, 4, 4), z(2025, 4, 7)),
        ("0 0 L * *", "UTC", z(2024, 1, 1), z(2026, 1, 1)),
        ("0 12 * * 5L", "Europe/London", z(2024, 1, 1), z(2025, 1, 1)),
        ("0 12 13 * FRI", "America/New_York", z(2024, 1, 1), z(2025, 1, 1)),
        ("0 9 15W * *", "Europe/London", z(2024, 1, 1), z(2024, 12, 31)),
        ("*/5 9 15W * *", "Europe/London", z(2024, 3, 1), z(2024, 4, 30)),
    ],
)
def test_fires_before_and_count_fires_agree_with_the_walk(
    expression: str, tz: str, start: datetime, end: datetime
) -> None:
    schedule = parse_schedule(expression, tz)
    expected = forward(schedule, start, end)
    assert expected
    for count in (1, 3, len(expected), len(expected) + 5):
        assert schedule.fires_before(end, count, after=start) == expected[::-1][:count]
    counted = schedule.count_fires(start, end)
    if "W" in expression:  # nW schedules are not counted
        assert counted is None
    else:
        assert counted == len(expected)


def test_fires_before_details() -> None:
    schedule = parse_schedule("0 */6 * * *")
    # at or before the instant, strictly after `after`, newest first
    assert schedule.fires_before(z(2024, 5, 3, 12), 3, after=z(2024, 5, 3)) == [
        z(2024, 5, 3, 12),
        z(2024, 5, 3, 6),
    ]
    assert schedule.fires_before(z(2024, 5, 3, 11, 59), 2) == [z(2024, 5, 3, 6), z(2024, 5, 3)]
    assert schedule.fires_before(z(2024, 5, 3, 12), 0) == []
    assert schedule.fires_before(z(2024, 5, 3), 5, after=z(2024, 5, 3)) == []
    with pytest.raises(ValueError, match="count"):
        schedule.fires_before(z(2024, 5, 3), -1)
    # no `after`: the last 50 years; a schedule that fired long ago is still found
    leap = parse_schedule("0 0 29 2 *")
    assert leap.fires_before(z(2027, 1, 1), 2) == [z(2024, 2, 29), z(2020, 2, 29)]
    # a schedule firing every second: the search narrows instead of walking far back
    assert len(parse_schedule("* * * * * *").fires_before(z(2024, 5, 3), 500)) == 500
    assert parse_schedule("@every 10s").fires_before(z(2024, 5, 3, 0, 0, 25), 2) == [
        z(2024, 5, 3, 0, 0, 20),
        z(2024, 5, 3, 0, 0, 10),
    ]


def test_count_fires_details() -> None:
    every_minute = parse_schedule("* * * * *")
    # (after, until]: whole seconds, after excluded, until included
    assert every_minute.count_fires(z(2024, 5, 3), z(2024, 5, 3, 1)) == 60
    assert (
        every_minute.count_fires(
            z(2024, 5, 3) + timedelta(microseconds=1),
            z(2024, 5, 3, 0, 1) - timedelta(microseconds=1),
        )
        == 0
    )
    assert every_minute.count_fires(z(2024, 5, 3, 1), z(2024, 5, 3)) == 0
    assert every_minute.count_fires(z(2024, 1, 1), z(2025, 1, 1)) == 366 * 1440
    # wall clock: the local days of 23 and of 25 hours, and an hour skipped or repeated
    london = parse_schedule("* * * * *", "Europe/London")
    assert london.count_fires(z(2024, 3, 30, 23, 59), z(2024, 3, 31, 22, 59)) == 23 * 60
    assert london.count_fires(z(2024, 10, 26, 22, 59), z(2024, 10, 27, 23, 59)) == 25 * 60
    one_am = parse_schedule("* 1 * * *", "Europe/London")
    assert one_am.count_fires(z(2024, 3, 30, 12), z(2024, 3, 31, 12)) == 0
    assert one_am.count_fires(z(2024, 10, 26, 12), z(2024, 10, 27, 12)) == 120
    # fixed time: once after the gap, once in the overlap
    assert (
        parse_schedule("30 1 * * *", "Europe/London").count_fires(z(2024, 3, 29), z(2024, 4, 2))
        == 4
    )
    assert (
        parse_schedule("30 1 * * *", "America/New_York").count_fires(z(2024, 11, 2), z(2024, 11, 5))
        == 3
    )
    # about four years at most for cron expressions; @every always
    assert every_minute.count_fires(z(2020, 1, 1), z(2030, 1, 1)) is None
    assert parse_schedule("@every 1s").count_fires(z(1970, 1, 1), z(2030, 1, 1)) == int(
        (z(2030, 1, 1) - z(1970, 1, 1)).total_seconds()
    )


@pytest.mark.parametrize(
    ("expression", "tz"),
    [("* * * * *", "UTC"), ("0 3 * * *", "Pacific/Chatham"), ("*/5 9 15W * *", "Europe/London")],
)
def test_fires_before_fails_loudly_when_the_schedule_cannot_advance(
    monkeypatch: pytest.MonkeyPatch, expression: str, tz: str
) -> None:
    def stuck(self: CronSim) -> datetime:
        return self.dt if self.fixup_tz is None else self.dt.replace(tzinfo=self.fixup_tz)

    monkeypatch.setattr(CronSim, "__next__", stuck)
    schedule = Schedule(expression, tz)
    with time_limit(), pytest.raises(CronError, match="cannot advance"):
        schedule.fires_before(z(2025, 4, 5, 14), 5, after=z(2025, 4, 5, 13, 59))
