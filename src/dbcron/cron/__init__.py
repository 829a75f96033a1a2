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

from dbcron.cron.fields import MACROS, parse_duration
from dbcron.cron.preview import FirePreview, preview
from dbcron.cron.schedule import Schedule, parse_schedule
from dbcron.cron.zones import validate_timezone

__all__ = [
    "MACROS",
    "FirePreview",
    "Schedule",
    "parse_duration",
    "parse_schedule",
    "preview",
    "validate_timezone",
]
