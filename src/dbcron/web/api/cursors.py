"""Opaque pagination cursors: what ``next_cursor`` says and ``cursor`` sends back.

A cursor is base64url text of a small JSON object naming the listing it belongs to and
the row the next page starts after; clients treat it as opaque. A cursor that is not
one, or that belongs to another listing (or sort), is refused with a problem naming the
``cursor`` parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from dbcron.service.inputs import field_error

__all__ = ["decode", "encode"]


def encode(listing: str, position: str | None) -> str | None:
    """The cursor of the page after ``position`` in ``listing`` (None: no next page)."""
    if position is None:
        return None
    raw = json.dumps({"l": listing, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(listing: str, cursor: str | None) -> str | None:
    """The position ``cursor`` (from :func:`encode` for ``listing``) holds; None for no
    cursor (the first page)."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data: Any = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str):
        raise field_error("cursor", "cursor is not one this API gave: pass next_cursor as is")
    if data.get("l") != listing:
        raise field_error("cursor", "cursor belongs to another listing or sort order")
    position: str = data["p"]
    return position
