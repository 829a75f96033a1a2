"""DST behaviour of dbcron.cron (Debian cron rules, as cronsim implements them).

Transitions used (2024):

* America/New_York: 03-10 02:00 EST -> 03:00 EDT (07:00Z); 11-03 02:00 EDT -> 01:00 EST
  (06:00Z), so 01:00-02:00 happens at 05:00-06:00Z and again at 06:00-07:00Z.
* Europe/London: 03-31 01:00 GMT -> 02:00 BST (01:00Z); 10-27 02:00 BST -> 01:00 GMT (01:00Z).
* Australia/Lord_Howe (30-minute DST): 04-07 02:00 +11 -> 01:30 +10:30 (04-06 15:00Z);
  10-06 02:00 +10:30 -> 02:30 +11 (10-05 15:30Z). Same rules in 2025 (04-06, 10-05) and
  2029 (04-01 02:00 +11 -> 01:30 +10:30 at 03-31 15:00Z).
* Pacific/Chatham (+12:45/+13:45, changing at :45): 2025-04-06 03:45 +1345 -> 02:45 +1245
  (04-05 14:00Z), so 02:45-03:44 happens twice; 2025-09-28 02:45 +1245 -> 03:45 +1345
  (09-27 14:00Z); 2031-09-28 likewise (09-27 14:00Z).

Every computation runs under the hang guard of test_cron.py (one second at most).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dbcron.cron import parse_schedule, preview
from tests.unit.test_cron import guard_cron_computations  # noqa: F401 - autouse fixture

NY = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"
CHATHAM = "Pacific/Chatham"


def z(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def chained(expression: str, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fires by chaining next_fire."""
    schedule = parse_schedule(expression, tz)
    result = []
    for _ in range(count):
        after = schedule.next_fire(after)
        result.append(after)
    return result


def local_times(fires: list[datetime], tz: str) -> list[str]:
    """Fires as local ``HH:MM+offset`` strings."""
    return [f.astimezone(ZoneInfo(tz)).strftime("%H:%M%z") for f in fires]


# --------------------------------------------------------------------------------------
# Fixed-time jobs: once right after a gap, once in an overlap
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "tz", "after", "expected"),
    [
        # spring forward: 02:30 does not exist, runs once at 03:00 EDT
        ("30 2 * * *", NY, z(2024, 3, 9, 12), [z(2024, 3, 10, 7), z(2024, 3, 11, 6, 30)]),
        # both named times fall in the gap: still only one run
        (
            "0,30 2 * * *",
            NY,
            z(2024, 3, 9, 12),
            [z(2024, 3, 10, 7), z(2024, 3, 11, 6), z(2024, 3, 11, 6, 30)],
        ),
        # a real 03:00 is untouched
        ("0 3 * * *", NY, z(2024, 3, 9, 12), [z(2024, 3, 10, 7), z(2024, 3, 11, 7)]),
        # fall back: 01:30 happens twice, the job runs at the first one only
        ("30 1 * * *", NY, z(2024, 11, 2, 12), [z(2024, 11, 3, 5, 30), z(2024, 11, 4, 6, 30)]),
        # asked during the second 01:xx: the first 01:30 is already past, next is tomorrow
        ("30 1 * * *", NY, z(2024, 11, 3, 6, 10), [z(2024, 11, 4, 6, 30)]),
        ("30 1 * * *", LONDON, z(2024, 3, 30, 12), [z(2024, 3, 31, 1), z(2024, 4, 1, 0, 30)]),
        (
            "30 1 * * *",
            LONDON,
            z(2024, 10, 26, 12),
            [z(2024, 10, 27, 0, 30), z(2024, 10, 28, 1, 30)],
        ),
        # Lord Howe: a 30-minute gap, 02:15 runs at 02:30 +11
        ("15 2 * * *", LORD_HOWE, z(2024, 10, 5), [z(2024, 10, 5, 15, 30), z(2024, 10, 6, 15, 15)]),
        # Lord Howe: a 30-minute overlap, 01:45 runs once (at +11)
        ("45 1 * * *", LORD_HOWE, z(2024, 4, 6), [z(2024, 4, 6, 14, 45), z(2024, 4, 7, 15, 15)]),
        # W never picks a Sunday, the day these zones change clocks; plain check in a zone
        ("30 1 4W * *", NY, z(2024, 11, 1), [z(2024, 11, 4, 6, 30)]),
        # Chatham: 03:00 does not exist on 09-28 (02:45 -> 03:45), runs once at 03:45 +1345
        (
            "0 3 * * *",
            CHATHAM,
            z(2025, 9, 26, 12),
            [z(2025, 9, 26, 14, 15), z(2025, 9, 27, 14), z(2025, 9, 28, 13, 15)],
        ),
        # Chatham: 03:00 happens twice on 04-06, runs at the first (+1345) only
        (
            "0 3 * * *",
            CHATHAM,
            z(2025, 4, 4, 12),
            [z(2025, 4, 4, 13, 15), z(2025, 4, 5, 13, 15), z(2025, 4, 6, 14, 15)],
        ),
        # asked at 03:05 +1245, during the second pass: tomorrow's 03:00 is next
        ("0 3 * * *", CHATHAM, z(2025, 4, 5, 14, 20), [z(2025, 4, 6, 14, 15)]),
    ],
)
def test_fixed_time(expression: str, tz: str, after: datetime, expected: list[datetime]) -> None:
    assert chained(expression, tz, after, len(expected)) == expected
    assert parse_schedule(expression, tz).fires_between(after, expected[-1], 100) == expected


# --------------------------------------------------------------------------------------
# Wildcard-hour jobs follow the wall clock
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "tz", "start", "end", "expected_local"),
    [
        # no 02:xx on the spring-forward night
        (
            "*/15 * * * *",
            NY,
            z(2024, 3, 10, 6, 30),
            z(2024, 3, 10, 7, 15),
            ["01:45-0500", "03:00-0400", "03:15-0400"],
        ),
        ("30 * * * *", NY, z(2024, 3, 10, 6), z(2024, 3, 10, 8), ["01:30-0500", "03:30-0400"]),
        # 01:00 and 01:30 twice on the fall-back night
        (
            "*/30 * * * *",
            NY,
            z(2024, 11, 3, 4, 30),
            z(2024, 11, 3, 7),
            ["01:00-0400", "01:30-0400", "01:00-0500", "01:30-0500", "02:00-0500"],
        ),
        (
            "0 * * * *",
            LONDON,
            z(2024, 10, 26, 23),
            z(2024, 10, 27, 2),
            ["01:00+0100", "01:00+0000", "02:00+0000"],
        ),
        (
            "0 * * * *",
            LONDON,
            z(2024, 3, 30, 23, 30),
            z(2024, 3, 31, 2),
            ["00:00+0000", "02:00+0100", "03:00+0100"],
        ),
        (
            "*/15 * * * *",
            LORD_HOWE,
            z(2024, 4, 6, 14, 15),
            z(2024, 4, 6, 15, 30),
            ["01:30+1100", "01:45+1100", "01:30+1030", "01:45+1030", "02:00+1030"],
        ),
        (
            "*/15 * * * *",
            LORD_HOWE,
            z(2024, 10, 5, 15),
            z(2024, 10, 5, 16),
            ["01:45+1030", "02:30+1100", "02:45+1100", "03:00+1100"],
        ),
        # Chatham's fall-back: hour 3 but not 2 used to loop forever after 03:44 +1345
        (
            "* 3 * * *",
            CHATHAM,
            z(2025, 4, 5, 13, 57),
            z(2025, 4, 5, 14, 17),
            ["03:43+1345", "03:44+1345", "03:00+1245", "03:01+1245", "03:02+1245"],
        ),
        (
            "*/5 3 * * *",
            CHATHAM,
            z(2025, 4, 5, 13, 44),
            z(2025, 4, 5, 14, 30),
            [
                *("03:30+1345", "03:35+1345", "03:40+1345"),
                *("03:00+1245", "03:05+1245", "03:10+1245", "03:15+1245"),
            ],
        ),
        (
            "* */3 * * *",
            CHATHAM,
            z(2025, 4, 5, 13, 58),
            z(2025, 4, 5, 14, 16),
            ["03:44+1345", "03:00+1245", "03:01+1245"],
        ),
        # Chatham's spring-forward: 02:45-03:44 does not exist
        (
            "*/15 * * * *",
            CHATHAM,
            z(2025, 9, 27, 13, 30),
            z(2025, 9, 27, 14, 30),
            ["02:30+1245", "03:45+1345", "04:00+1345", "04:15+1345"],
        ),
        # these lost fires from a 30- or 45-minute change until local midnight
        (
            "* 2 * * *",
            LORD_HOWE,
            z(2025, 4, 5, 14, 59),
            z(2025, 4, 5, 15, 33),
            ["02:00+1030", "02:01+1030", "02:02+1030", "02:03+1030"],
        ),
        (
            "51 * * * *",
            LORD_HOWE,
            z(2029, 3, 31, 14),
            z(2029, 3, 31, 16, 30),
            ["01:51+1100", "01:51+1030", "02:51+1030"],
        ),
        (
            "*/7 */2 16,28 * *",
            CHATHAM,
            z(2031, 9, 27, 13, 57),
            z(2031, 9, 27, 14, 30),
            ["04:00+1345", "04:07+1345", "04:14+1345"],
        ),
    ],
)
def test_wildcard_hour_follows_wall_clock(
    expression: str, tz: str, start: datetime, end: datetime, expected_local: list[str]
) -> None:
    fires = parse_schedule(expression, tz).fires_between(start, end, 100)
    assert local_times(fires, tz) == expected_local
    assert fires == chained(expression, tz, start, len(fires))


@pytest.mark.parametrize(
    ("expression", "tz", "after", "end", "count"),
    [
        # each up to 23:59 local. 02:00-02:59 +1030 after Lord Howe's fall-back
        ("* 2 * * *", LORD_HOWE, z(2025, 4, 5, 14, 59), z(2025, 4, 6, 13, 29), 60),
        # 03:00-03:59 +1245 after Chatham's fall-back at 03:45 +1345
        ("* 3 * * *", CHATHAM, z(2025, 4, 5, 13, 59), z(2025, 4, 6, 11, 14), 60),
        ("*/5 3 * * *", CHATHAM, z(2025, 4, 5, 13, 59), z(2025, 4, 6, 11, 14), 12),
        # hour 3 again (60), then 06, 09, 12, 15, 18 and 21 (6 x 60)
        ("* */3 * * *", CHATHAM, z(2025, 4, 5, 13, 59), z(2025, 4, 6, 11, 14), 420),
        # after Chatham's spring-forward at 02:45: the even hours 04-22, 9 fires each
        ("*/7 */2 16,28 * *", CHATHAM, z(2031, 9, 27, 13, 57), z(2031, 9, 28, 10, 14), 90),
    ],
)
def test_no_wildcard_fire_is_lost_after_a_non_hour_change(
    expression: str, tz: str, after: datetime, end: datetime, count: int
) -> None:
    schedule = parse_schedule(expression, tz)
    fires = schedule.fires_between(after, end, 1000)
    assert len(fires) == count
    assert fires == sorted(set(fires))
    assert fires[-1] == chained(expression, tz, after, count)[-1]
    assert schedule.next_fire(fires[-1]) > end


@pytest.mark.parametrize(
    ("expression", "tz", "after"),
    [
        ("30 2 * * *", NY, z(2024, 3, 8)),
        ("30 1 * * *", NY, z(2024, 11, 1)),
        ("*/20 1-3 * * *", NY, z(2024, 11, 2, 12)),
        ("0,30 1,2 * * *", NY, z(2024, 11, 2, 12)),
        ("0,30 1,2 * * *", LONDON, z(2024, 3, 30, 12)),
        ("*/10 * * * *", LORD_HOWE, z(2024, 4, 6, 12)),
        ("0,15,30,45 1,2 * * *", LORD_HOWE, z(2024, 4, 6)),
        ("0,15,30,45 1,2 * * *", LORD_HOWE, z(2024, 10, 5)),
        ("0 9 1W * *", LONDON, z(2024, 3, 1)),
        ("* 3 * * *", CHATHAM, z(2025, 4, 5, 13, 30)),
        ("*/20 2,3 * * *", CHATHAM, z(2025, 4, 5, 12)),
        ("0,15,30,45 2,3 * * *", CHATHAM, z(2025, 9, 27, 12)),
        ("*/5 * 28W * *", CHATHAM, z(2025, 9, 27, 13, 30)),
    ],
)
def test_iterator_and_chaining_agree_across_transitions(
    expression: str, tz: str, after: datetime
) -> None:
    schedule = parse_schedule(expression, tz)
    it = schedule.fires(after)
    fires = [next(it) for _ in range(30)]
    assert fires == chained(expression, tz, after, 30)
    assert fires == sorted(set(fires))
    assert all(f > after for f in fires)


# --------------------------------------------------------------------------------------
# preview flags what DST did
# --------------------------------------------------------------------------------------


def test_preview_flags_spring_forward_shift() -> None:
    rows = preview(parse_schedule("30 2 * * *", NY), z(2024, 3, 9, 12), 2)
    assert rows[0].utc == z(2024, 3, 10, 7)
    assert rows[0].local == datetime(2024, 3, 10, 3, 0, tzinfo=ZoneInfo(NY))
    assert rows[0].dst_shifted
    assert rows[0].note == (
        "02:30 does not exist on 2024-03-10 (spring-forward: clocks jumped from 02:00 to 03:00); "
        "runs once at 03:00 EDT"
    )
    assert not rows[1].dst_shifted
    assert rows[1].note is None


def test_preview_lists_all_times_eaten_by_the_gap() -> None:
    rows = preview(parse_schedule("0,30 2 * * *", NY), z(2024, 3, 9, 12), 1)
    assert rows[0].note is not None
    assert rows[0].note.startswith("02:00, 02:30 do not exist on 2024-03-10")


def test_preview_lord_howe_half_hour_gap() -> None:
    (row,) = preview(parse_schedule("15 2 * * *", LORD_HOWE), z(2024, 10, 5), 1)
    assert row.dst_shifted
    assert row.note is not None
    assert "02:15 does not exist on 2024-10-06" in row.note
    assert "clocks jumped from 02:00 to 02:30" in row.note


def test_preview_london_gap() -> None:
    (row,) = preview(parse_schedule("30 1 * * *", LONDON), z(2024, 3, 30, 12), 1)
    assert row.note is not None
    assert row.note.startswith("01:30 does not exist on 2024-03-31")
    assert "from 01:00 to 02:00" in row.note


def test_preview_real_time_at_end_of_gap_is_not_flagged() -> None:
    (row,) = preview(parse_schedule("0 3 * * *", NY), z(2024, 3, 9, 12), 1)
    assert row.utc == z(2024, 3, 10, 7)
    assert not row.dst_shifted
    assert row.note is None


def test_preview_flags_fall_back_fixed_time() -> None:
    rows = preview(parse_schedule("30 1 * * *", NY), z(2024, 11, 2, 12), 2)
    assert rows[0].dst_shifted
    assert rows[0].note is not None
    assert rows[0].note.startswith("first of two 01:30s (fall-back)")
    assert "once" in rows[0].note
    assert rows[0].local.fold == 0
    assert not rows[1].dst_shifted


def test_preview_flags_fall_back_wildcard() -> None:
    rows = preview(parse_schedule("*/30 * * * *", NY), z(2024, 11, 3, 4, 15), 5)
    assert [(r.local.strftime("%H:%M"), r.note) for r in rows] == [
        ("00:30", None),
        ("01:00", "first of two 01:00s (fall-back)"),
        ("01:30", "first of two 01:30s (fall-back)"),
        ("01:00", "second of two 01:00s (fall-back)"),
        ("01:30", "second of two 01:30s (fall-back)"),
    ]
    assert [r.dst_shifted for r in rows] == [False, True, True, True, True]


def test_preview_every_is_never_flagged() -> None:
    rows = preview(parse_schedule("@every 30m", NY), z(2024, 11, 3, 4, 45), 6)
    assert [r.utc for r in rows] == [
        z(2024, 11, 3, 5),
        z(2024, 11, 3, 5, 30),
        z(2024, 11, 3, 6),
        z(2024, 11, 3, 6, 30),
        z(2024, 11, 3, 7),
        z(2024, 11, 3, 7, 30),
    ]
    assert not any(r.dst_shifted for r in rows)
    assert rows[0].local.tzinfo == ZoneInfo(NY)
