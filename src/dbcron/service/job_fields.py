"""The rules of a job's own fields, one place for every service that writes jobs: which
fields a caller may change, the limits of names, keys and numbers, enum fields given as
text, and the field each :class:`~dbcron.errors.ValidationError` is about.

What needs more than the job itself (the schedule and time zone, the job type's config
schema, a key used by another job) is checked by :meth:`dbcron.manager.JobManager.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbcron.errors import ValidationError
from dbcron.models import Job, JobStatus, MisfirePolicy, OverlapPolicy, RetryBackoff
from dbcron.service.inputs import enum_value

__all__ = [
    "EDITABLE_FIELDS",
    "ENUM_FIELDS",
    "KEY_PATTERN",
    "MAX_NAME_LENGTH",
    "MAX_STORED_INT",
    "about",
    "check_fields",
    "check_int",
    "check_key",
    "enum_field",
    "normalised",
]

#: Fields a caller may change with :meth:`dbcron.manager.JobManager.update_fields`.
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "job_type",
        "schedule_expression",
        "config",
        "status",
        "description",
        "timeout_seconds",
        "retry_count",
        "retry_delay_seconds",
        "timezone",
        "misfire_policy",
        "catchup_window_seconds",
        "max_concurrency",
        "overlap_policy",
        "priority",
        "retry_backoff",
        "keep_last",
        "retention_days",
        "key",
    }
)
MAX_NAME_LENGTH = 200
#: The largest whole number a job's numeric fields hold (the columns are 32-bit INTEGER).
MAX_STORED_INT = 2**31 - 1
#: What a job key looks like: a slug of 1 to 63 characters.
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


#: Job fields whose values are enum members (given as members or as their text).
ENUM_FIELDS: dict[str, Any] = {
    "status": JobStatus,
    "misfire_policy": MisfirePolicy,
    "overlap_policy": OverlapPolicy,
    "retry_backoff": RetryBackoff,
}


def normalised(fields_: dict[str, Any]) -> dict[str, Any]:
    """``fields_`` with enum fields turned into members, the name stripped and an empty
    key as no key."""
    out = dict(fields_)
    for name, enum in ENUM_FIELDS.items():
        if name in out:
            out[name] = enum_field(enum, out[name], name)
    if isinstance(out.get("name"), str):
        out["name"] = out["name"].strip()
    if isinstance(out.get("key"), str):
        out["key"] = out["key"].strip() or None
    return out


def enum_field(enum: Any, value: Any, name: str) -> Any:
    """``value`` as a member of ``enum`` (given as a member or its text), or a
    ValidationError about the field ``name``."""
    with about(name):
        return enum_value(enum, value, name)


def check_key(key: Any) -> None:
    """ValidationError unless ``key`` is None or a slug that :data:`KEY_PATTERN` fits."""
    if key is None:
        return
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValidationError(
            f"invalid key {key!r}: a key is 1 to 63 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'nightly-fetch')"
        )


@contextmanager
def about(field: str) -> Iterator[None]:
    """Tag a ValidationError raised inside with the job field it is about (unless it
    already names one)."""
    try:
        yield
    except ValidationError as exc:
        if exc.field is None:
            exc.field = field
        raise


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int,
    maximum: int = MAX_STORED_INT,
    optional: bool = False,
) -> None:
    """ValidationError about ``name`` unless ``value`` is a whole number (not a bool) in
    ``[minimum, maximum]``, or None when ``optional``."""
    if value is None and optional:
        return
    with about(name):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be a whole number, not {value!r}")
        if value < minimum:
            raise ValidationError(f"{name} must be at least {minimum}, not {value}")
        if value > maximum:
            raise ValidationError(f"{name} must be at most {maximum}, not {value}")


def check_fields(job: Job) -> None:
    """Check the fields of ``job`` that need nothing but the job: name, key, numbers and
    enum fields; raise ValidationError naming the first problem and its field."""
    with about("name"):
        if not isinstance(job.name, str) or not job.name.strip():
            raise ValidationError("job name must not be empty")
        if len(job.name) > MAX_NAME_LENGTH:
            raise ValidationError(f"job name is longer than {MAX_NAME_LENGTH} characters")
    with about("key"):
        check_key(job.key)
    check_int("timeout_seconds", job.timeout_seconds, minimum=1, optional=True)
    check_int("retry_count", job.retry_count, minimum=0, optional=True)
    check_int("retry_delay_seconds", job.retry_delay_seconds, minimum=0, optional=True)
    check_int("catchup_window_seconds", job.catchup_window_seconds, minimum=0)
    check_int("max_concurrency", job.max_concurrency, minimum=1)
    check_int("priority", job.priority, minimum=-1000, maximum=1000)
    check_int("keep_last", job.keep_last, minimum=0, optional=True)
    check_int("retention_days", job.retention_days, minimum=1, optional=True)
    for name, enum in ENUM_FIELDS.items():
        value = getattr(job, name)
        if not isinstance(value, enum):
            allowed = ", ".join(m.value for m in enum)
            with about(name):
                raise ValidationError(f"{name} must be one of {allowed}, not {value!r}")
