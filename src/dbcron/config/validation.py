"""Validation of the merged layers into :class:`~dbcron.config.settings.Settings`, with one-line
errors that name the key, what it expects and where its value came from."""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic import (
    ValidationError,
)
from pydantic_core import ErrorDetails

from dbcron.config.layers import _Layer
from dbcron.config.settings import _MAX_SHOWN, _SECTIONS, SECRET_KEYS, Settings, _leaves
from dbcron.errors import ConfigError
from dbcron.urls import redact_url


def _expectation(section: str, key: str) -> str:
    """What a key takes, for messages: ``an integer >= 1``, ``a number > 0 or null``."""
    field = _SECTIONS[section].model_fields[key]
    leaves = [leaf for leaf in _leaves(field.annotation) if leaf is not type(None)]
    nullable = len(leaves) < len(_leaves(field.annotation))
    leaf = leaves[0]
    if typing.get_origin(leaf) is Literal:
        text = "one of " + ", ".join(repr(v) for v in typing.get_args(leaf))
    elif typing.get_origin(leaf) in (tuple, list):
        text = "a list of strings"
    elif typing.get_origin(leaf) is dict:
        text = "a mapping of names to settings"
    else:
        text = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
            leaf, str(leaf)
        )
    for constraint in field.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            bound = getattr(constraint, attr, None)
            if bound is not None:
                text += f" {sign} {bound}"
        if getattr(constraint, "min_length", None):
            text = "a non-empty string"
    return f"{text} or null" if nullable else text


def _shown(value: Any) -> str:
    """A value for a one-line message: repr, shortened."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _describe(error: ErrorDetails, merged: _Layer) -> str:
    """One pydantic error as ``key: problem, got value (source)``."""
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc[:2])
    value, source = merged.get(dotted, (error.get("input"), "unknown source"))
    if len(loc) > 2:
        # Inside a mapping (web.users.NAME.password_hash): name the whole path, and
        # never quote the value (it may be a password pasted where its hash belongs).
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{'.'.join(loc)}: {problem} ({source})"
    if error["type"] == "value_error":
        # A validator's own sentence: names the problem, never quotes a URL.
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{dotted}: {problem} ({source})"
    if len(loc) == 2 and loc[0] in _SECTIONS and loc[1] in _SECTIONS[loc[0]].model_fields:
        problem = "expected " + _expectation(loc[0], loc[1])
    else:
        problem = error["msg"]
    if dotted in SECRET_KEYS:
        got = "(hidden)"
    elif dotted == "database.url" and isinstance(value, str):
        got = _shown(redact_url(value))
    else:
        got = _shown(value)
    return f"{dotted}: {problem}, got {got} ({source})"


def _validate(merged: _Layer) -> Settings:
    """The merged values as :class:`Settings`, or a one-line :class:`ConfigError`."""
    nested: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
    for dotted, (value, _source) in merged.items():
        section, key = dotted.split(".")
        nested[section][key] = value
    try:
        return Settings.model_validate(nested)
    except ValidationError as exc:
        errors = exc.errors()
        message = _describe(errors[0], merged)
        if len(errors) > 1:
            more = len(errors) - 1
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        # `from None`: pydantic's own text quotes input values, passwords included.
        raise ConfigError(message) from None
