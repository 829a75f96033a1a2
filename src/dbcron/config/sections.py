"""The application's own sections of the configuration (``paper_fetch:``, ``arxiv:``, a
custom handler's): accepted when a job type or handler owns them, validated by its schema.

A config file (or the Python API's config dict) is also the application's: besides
dbcron's sections it may hold sections that job types and custom handlers declare
(:attr:`dbcron.handlers.registry.HandlerSpec.sections`). Each is checked against its
owner's schema; a top-level key that nobody owns is an error naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from dbcron.config.layers import _Others, _type_name, unknown_sections
from dbcron.config.settings import _MAX_SHOWN, AppSection
from dbcron.errors import ConfigError


def validate_sections(others: _Others, shown: str) -> tuple[AppSection, ...]:
    """Every section of ``others`` validated by the handler that owns it.

    The handler plugins (``dbcron.handlers`` entry points) are loaded only when a section
    is not owned by a built-in job type or an already registered handler. Raises a
    one-line :class:`ConfigError` naming the unknown keys, or the first invalid field.
    """
    if not others:
        return ()
    # Imported here: the registry is only needed when the application has sections.
    from dbcron.handlers.registry import default_registry, load_plugins

    owners = default_registry.sections()
    if any(name not in owners for name in others):
        load_plugins()
        owners = default_registry.sections()
    unknown = [name for name in others if name not in owners]
    if unknown:
        raise unknown_sections(shown, unknown, list(owners))
    sections: list[AppSection] = []
    for name, (body, source) in others.items():
        owned = owners[name]
        values = _check(name, body if body is not None else {}, owned.model, source, shown)
        sections.append(AppSection(name, owned.owner, values, source))
    return tuple(sections)


def _check(
    name: str, body: Any, model: type[BaseModel] | None, source: str, shown: str
) -> dict[str, Any]:
    """The keys of ``body`` its owner's ``model`` declares, or a one-line ConfigError."""
    if not isinstance(body, Mapping):
        raise ConfigError(f"{shown}: {name} must be a mapping of keys, got {_type_name(body)}")
    values = {str(key): value for key, value in body.items()}
    if model is None:
        return values
    try:
        model.model_validate(values)
    except PydanticValidationError as exc:
        errors = exc.errors()
        message = _describe(name, errors[0], model, values, source)
        if len(errors) > 1:
            more = len(errors) - 1
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(message) from None
    declared = {
        alias
        for field_name, field in model.model_fields.items()
        for alias in (field_name, field.alias)
        if alias
    }
    return {key: value for key, value in values.items() if key in declared}


def _describe(
    name: str,
    error: ErrorDetails,
    model: type[BaseModel],
    values: dict[str, Any],
    source: str,
) -> str:
    """One pydantic error as ``section.key: problem, got value (source)``."""
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join([name, *loc])
    if error["type"] == "extra_forbidden" and len(loc) == 1:
        keys = list(model.model_fields)
        close = difflib.get_close_matches(loc[0], keys, n=1, cutoff=0.6)
        hint = f" (did you mean '{name}.{close[0]}'?)" if close else ""
        return (
            f"{dotted}: unknown config key{hint} ({source}); "
            f"known keys of {name}: {', '.join(keys)}"
        )
    problem = error["msg"]
    if error["type"] == "value_error":
        problem = str(error.get("ctx", {}).get("error", problem))
    problem = problem[:1].lower() + problem[1:]
    if error["type"] == "missing":
        return f"{dotted}: {problem} ({source})"
    got = repr(values.get(loc[0]) if len(loc) == 1 else error.get("input"))
    if len(got) > _MAX_SHOWN:
        got = got[: _MAX_SHOWN - 3] + "..."
    return f"{dotted}: {problem}, got {got} ({source})"
