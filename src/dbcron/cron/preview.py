"""Previews of upcoming fires, with the ones DST moved or made ambiguous flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from dbcron.clock import utc
from dbcron.cron.compile import _Compiled
from dbcron.cron.schedule import Schedule
from dbcron.cron.zones import _ONE_SECOND


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
