"""Python values as PostgreSQL parameters: JSON text, ISO timestamps, ``text[]`` literals,
and text without the NUL characters PostgreSQL refuses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbcron.store.backend import remembered


def _json_text(value: Any) -> str:
    """A JSON-able value as compact JSON text (results are checked JSON-able, without
    NaN, before they get here)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_ISO_MEMO: dict[datetime, str] = {}


def _iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 text with its offset (PostgreSQL parses it)."""
    if value is None:
        return None
    return remembered(_ISO_MEMO, value, _iso_aware)


def _iso_aware(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
    return value.isoformat()


def _results_json(rows: list[dict[str, Any]]) -> str:
    """Completion rows as JSON text. A handler's result may hold a NUL character, which
    jsonb refuses ("unsupported Unicode escape sequence"); such strings get U+FFFD
    instead, so that one result cannot make a whole batch of completions fail."""
    text = _json_text(rows)
    if "\\u0000" not in text:
        return text
    return _json_text(_without_nul(rows))


def _without_nul(value: Any) -> Any:
    """``value`` with NUL characters in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def _clean(text: str | None) -> str | None:
    """Text PostgreSQL can store: it refuses NUL characters, which a handler may print."""
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def _text_array(items: Sequence[str]) -> str:
    """A ``text[]`` literal of ``items`` (each element quoted and escaped), bound as
    one text parameter: much cheaper than adapting a Python list element by element."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"
