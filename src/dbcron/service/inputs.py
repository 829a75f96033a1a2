"""Reading a reader's input: enum values given as text, statistics windows (``24h``,
``7d``), times that must be aware; each problem a ValidationError naming its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dbcron.errors import CronError, ValidationError

__all__ = ["MAX_WINDOW", "as_utc", "enum_value", "field_enum", "field_error", "parse_window"]

#: The longest statistics window a reader may ask for.
MAX_WINDOW = timedelta(days=3660)


def enum_value(enum: Any, value: Any, name: str) -> Any:
    """``value`` as a member of ``enum`` (given as a member or as its text)."""
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValidationError(f"{name} must be one of {allowed}, not {value!r}") from None


def field_error(field: str, message: str) -> ValidationError:
    """A ValidationError about the input ``field``."""
    error = ValidationError(message)
    error.field = field
    return error


def field_enum(enum: Any, value: Any, name: str) -> Any:
    """:func:`enum_value`, the error naming ``name`` as its field."""
    try:
        return enum_value(enum, value, name)
    except ValidationError as exc:
        exc.field = name
        raise


def parse_window(text: str) -> timedelta:
    """A statistics window such as ``24h``, ``7d`` or ``90m`` (see
    :func:`~dbcron.cron.parse_duration`), at most :data:`MAX_WINDOW`."""
    from dbcron.cron import parse_duration

    try:
        window = parse_duration(text)
    except CronError as exc:
        raise field_error("window", f"window {text!r}: {exc}") from None
    except OverflowError:
        raise field_error("window", f"window {text!r} is too long") from None
    if not timedelta(0) < window <= MAX_WINDOW:
        raise field_error("window", f"window must be positive and at most {MAX_WINDOW.days} days")
    return window


def as_utc(name: str, value: datetime | None) -> datetime | None:
    """``value`` (aware) in UTC; a ValidationError about ``name`` for a naive time or one
    that has no UTC equivalent (the year 1 at +14:00)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise field_error(name, f"{name} must have a time zone (e.g. ...Z or +00:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise field_error(name, f"{name} {value.isoformat()} is out of range") from None
