"""The fields of a job in a jobs file, their defaults, and the keys export derives.

A file names a job's fields as the command line's options do (``timeout``, ``retries``,
``misfire``, ...), not as the ``jobs`` columns do; :data:`FIELDS` maps one to the other.
A field left out takes its default: the configured ``job_defaults`` for the time zone,
timeout, retries and retry delay (as ``dbcron create`` does), the built-in default for
the rest. Export leaves out every field at its default, so files stay short.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from dbcron.config import JobDefaults
from dbcron.models import Job, JobStatus


@dataclass(frozen=True)
class FileField:
    """One field of a job in a jobs file."""

    name: str
    """Its name in the file."""
    job_field: str
    """The :class:`~dbcron.models.Job` field it sets."""
    kind: str
    """``text``, ``optional text``, ``whole number``, ``optional whole number`` or
    ``mapping``: what the file must give (the values allowed are the job's rules)."""


#: Every field a job may have in a file, in the order export writes them.
FIELDS: tuple[FileField, ...] = (
    FileField("key", "key", "text"),
    FileField("name", "name", "text"),
    FileField("type", "job_type", "text"),
    FileField("schedule", "schedule_expression", "text"),
    FileField("timezone", "timezone", "text"),
    FileField("status", "status", "text"),
    FileField("description", "description", "optional text"),
    FileField("config", "config", "mapping"),
    FileField("timeout", "timeout_seconds", "whole number"),
    FileField("retries", "retry_count", "whole number"),
    FileField("retry_delay", "retry_delay_seconds", "whole number"),
    FileField("backoff", "retry_backoff", "text"),
    FileField("misfire", "misfire_policy", "text"),
    FileField("catchup_window", "catchup_window_seconds", "whole number"),
    FileField("max_concurrency", "max_concurrency", "whole number"),
    FileField("overlap", "overlap_policy", "text"),
    FileField("priority", "priority", "whole number"),
    FileField("keep_last", "keep_last", "optional whole number"),
    FileField("retention_days", "retention_days", "optional whole number"),
)
BY_NAME = {f.name: f for f in FIELDS}
BY_JOB_FIELD = {f.job_field: f for f in FIELDS}
#: Fields every job of a file must end up with (from itself, a template or defaults).
REQUIRED = ("type", "schedule")
#: Fields only a job itself may set: never defaults or templates.
OWN_ONLY = frozenset({"key", "name"})
#: The statuses a file may give (a job is deleted by leaving it out, with --prune).
FILE_STATUSES = (JobStatus.ACTIVE, JobStatus.PAUSED, JobStatus.INACTIVE)


def kind_problem(field: FileField, value: Any) -> str | None:
    """Why ``value`` cannot be ``field``'s value (its kind, not its rules), or None."""
    optional = field.kind.startswith("optional ")
    if value is None:
        return None if optional else f"must be a {field.kind}, not null"
    kind = field.kind.removeprefix("optional ")
    if kind == "text" and not isinstance(value, str):
        return f"must be text, not {_shown(value)}"
    if kind == "whole number" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be a whole number, not {_shown(value)}"
    if kind == "mapping" and not isinstance(value, dict):
        return f"must be a mapping of settings, not {_shown(value)}"
    if field.name == "status" and value not in {s.value for s in FILE_STATUSES}:
        allowed = ", ".join(s.value for s in FILE_STATUSES)
        return (
            f"must be one of {allowed}, not {value!r} (a job is deleted by leaving it out "
            "of the file and applying it with --prune)"
        )
    return None


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def file_value(value: Any) -> Any:
    """A job field's value as a file writes it (enum members as their text)."""
    return value.value if isinstance(value, Enum) else value


def field_defaults(defaults: JobDefaults) -> dict[str, Any]:
    """The value of each file field that a job leaves out (key, name, type and schedule
    have none)."""
    blank = Job(name="", job_type="", schedule_expression="")
    values = {f.name: file_value(getattr(blank, f.name)) for f in fields(Job)}
    values.update(
        timezone=defaults.timezone,
        timeout_seconds=defaults.timeout_seconds,
        retry_count=defaults.retry_count,
        retry_delay_seconds=defaults.retry_delay_seconds,
    )
    return {f.name: values[f.job_field] for f in FIELDS if f.name not in (*OWN_ONLY, *REQUIRED)}


def job_document(job: Job, key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """``job`` as a file writes it: its key, name, type and schedule, then every other
    field that is not at its default (``defaults``: :func:`field_defaults`)."""
    document: dict[str, Any] = {"key": key}
    for field in FIELDS[1:]:
        value = file_value(getattr(job, field.job_field))
        if field.name in defaults and value == defaults[field.name]:
            continue
        document[field.name] = value
    return document


# -- keys ------------------------------------------------------------------------------

#: The longest key (see dbcron.service.job_fields.KEY_PATTERN).
MAX_KEY_LENGTH = 63


def slug(name: str) -> str:
    """``name`` as a key: ASCII lower case, each run of other characters one ``-``
    (``Daily Fetch (EU)`` -> ``daily-fetch-eu``); ``job`` when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9._]+", "-", ascii_name.lower())
    text = re.sub(r"^[^a-z0-9]+", "", text)[:MAX_KEY_LENGTH].rstrip("-._")
    return text or "job"


def derived_keys(jobs: Iterable[Job]) -> dict[str, str]:
    """The key of every job (by id): its own, or for a job without one the slug of its
    name made unique (``backup``, ``backup-2``, ...) against every key and earlier
    derived key, in the order given (which must be stable: :meth:`Store.list_jobs`)."""
    jobs = list(jobs)
    taken = {job.key for job in jobs if job.key is not None}
    keys: dict[str, str] = {}
    for job in jobs:
        if job.key is not None:
            keys[job.job_id] = job.key
            continue
        base = slug(job.name)
        key, n = base, 1
        while key in taken:
            n += 1
            suffix = f"-{n}"
            key = base[: MAX_KEY_LENGTH - len(suffix)].rstrip("-._") + suffix
        taken.add(key)
        keys[job.job_id] = key
    return keys
