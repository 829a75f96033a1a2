"""Form fields generated from a job type's JSON schema (the one ``dbcron types --json``
and the API show), and the config read back from the submitted form.

Each property becomes one input: text, number, a checkbox, a choice (``enum``), a list
(one item a line) or, for anything else (objects, mixed types), JSON text. Empty inputs
are left out of the config, so the type's defaults apply; what the values mean is checked
by the job service, whose messages the form shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbcron.errors import ValidationError

__all__ = ["FormField", "config_from_form", "fields_of"]

#: The prefix of config inputs' names (``config.command``).
PREFIX = "config."
#: The one field of a type without declared properties: the whole config as JSON.
WHOLE = "*"


@dataclass(frozen=True)
class FormField:
    """One input of the config part of the job form."""

    name: str
    """The config key."""
    label: str
    kind: str
    """``text``, ``integer``, ``number``, ``checkbox``, ``select``, ``lines``, ``json``
    or ``text_or_json`` (JSON when it starts with ``[`` or ``{``, else the text)."""
    required: bool
    value: str
    """The input's value as text (``lines``: one item a line; ``checkbox``: ``on`` or
    empty)."""
    options: tuple[str, ...] = ()
    help: str = ""

    @property
    def input_name(self) -> str:
        """The form input's name."""
        return PREFIX + self.name


def _kind(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "select"
    kinds = prop.get("type")
    if kinds is None and "anyOf" in prop:
        plain = sorted(str(p.get("type")) for p in prop["anyOf"] if p.get("type") != "null")
        if plain == ["string"]:
            return "text"
        if plain == ["integer"]:
            return "integer"
        if "string" in plain:
            return "text_or_json"  # a command as one string, or a list in JSON
        return "json"
    if kinds == "array" and prop.get("items", {}).get("type") == "string":
        return "lines"
    if kinds == "string":
        return "text"
    if kinds in ("integer", "number"):
        return str(kinds)
    if kinds == "boolean":
        return "checkbox"
    return "json"


def _as_text(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "checkbox":
        return "on" if value else ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if kind in ("json", "text_or_json") and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str | int | float):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def fields_of(schema: Mapping[str, Any], config: Mapping[str, Any] | None) -> list[FormField]:
    """The inputs of ``schema``'s properties, filled from ``config`` (None: a new job).
    An input whose key the config lacks is left empty (its default is named in its
    help, and an empty input is left out again on save), except a checkbox, which shows
    the default it stands for."""
    if not schema.get("properties"):
        whole = "{}" if config is None else json.dumps(dict(config), ensure_ascii=False)
        return [FormField(WHOLE, "Config (JSON object)", "json", False, whole)]
    required = set(schema.get("required", ()))
    out: list[FormField] = []
    for name, prop in schema.get("properties", {}).items():
        kind = _kind(prop)
        given = config or {}
        if name in given:
            value = given[name]
        else:
            value = prop.get("default") if kind == "checkbox" else None
        options = tuple(str(v) for v in prop.get("enum", ()))
        hint = str(prop.get("description") or "")
        if "default" in prop and prop["default"] is not None and kind != "checkbox":
            hint = (hint + " " if hint else "") + f"Default: {prop['default']}."
        label = str(prop.get("title") or name)
        out.append(
            FormField(name, label, kind, name in required, _as_text(kind, value), options, hint)
        )
    return out


def refused(message: str, field: str = "config") -> ValidationError:
    """A ValidationError about the form input ``field``."""
    error = ValidationError(message)
    error.field = field
    return error


def _parse(field: FormField, text: str) -> Any:
    if field.kind == "checkbox":
        return text == "on"
    stripped = text.strip()
    if field.kind == "lines":
        return [line.strip() for line in stripped.splitlines() if line.strip()]
    if field.kind in ("integer", "number"):
        try:
            return int(stripped) if field.kind == "integer" else float(stripped)
        except ValueError:
            raise refused(f"config.{field.name} must be a number, not {stripped!r}") from None
    if field.kind == "text_or_json" and not stripped.startswith(("[", "{")):
        return text
    if field.kind in ("json", "text_or_json"):
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise refused(f"config.{field.name} is not valid JSON: {exc}") from None
    return text


def config_from_form(schema: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """The config the form's ``config.*`` inputs give (empty ones left out; an
    unchecked checkbox is False)."""
    config: dict[str, Any] = {}
    fields = fields_of(schema, {})
    if fields[0].name == WHOLE:
        text = form.get(fields[0].input_name, "").strip()
        whole = _parse(fields[0], text) if text else {}
        if not isinstance(whole, dict):
            raise refused("config must be a JSON object")
        return whole
    for field in fields:
        text = form.get(field.input_name, "")
        if field.kind != "checkbox" and not text.strip():
            continue
        config[field.name] = _parse(field, text)
    return config
