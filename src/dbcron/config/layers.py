"""The layers: the ``.env`` file, the environment, the config file and the flags, each
read into dotted keys with the origin of each value.

The YAML and ``.env`` parsers are imported only when there is a file (or a ``DBCRON_*``
value) to parse: most commands run with neither, and every command loads the settings."""

from __future__ import annotations

import difflib
import io
import os
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from dbcron.config.settings import (
    _SECTIONS,
    CONFIG_ENV_VAR,
    DATABASE_URL_ENV_VARS,
    DEFAULT_CONFIG_FILE,
    FLAG_NAMES,
    _keys,
    _leaves,
)
from dbcron.errors import ConfigError

_ENV_PREFIX: Final = "DBCRON_"
_ENV_SEPARATOR: Final = "__"
_SUPABASE_API_ENV_VARS: Final = ("SUPABASE_URL", "SUPABASE_ANON_KEY")
_NULL_WORDS: Final = frozenset({"null", "Null", "NULL", "~"})


#: A layer's contribution: dotted key -> (value, source label).
_Layer = dict[str, tuple[Any, str]]


def _suggestion(word: str, candidates: list[str], prefix: str = "") -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``word`` (shown after
    ``prefix``), or nothing when none is close."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {prefix + close[0]!r}?)" if close else ""


def _unknown_key(origin: str, parts: list[str], owned: Sequence[str] = ()) -> ConfigError:
    """The error for a key that no section declares. ``owned``: the top-level sections
    that job types or handlers own (known only where the key comes from a config file or
    a config dict)."""
    dotted = ".".join(parts)
    if parts[0] not in _SECTIONS:
        return unknown_sections(origin, [parts[0]] if len(parts) == 1 else [dotted], owned)
    if len(parts) == 2:
        keys = list(_SECTIONS[parts[0]].model_fields)
        hint = _suggestion(parts[1], keys, f"{parts[0]}.")
        return ConfigError(
            f"{origin}: unknown config key {dotted!r}{hint}; "
            f"known keys of {parts[0]}: {', '.join(keys)}"
        )
    # too deep (a.b.c) or too shallow (a): list every dotted key
    known = [f"{s}.{k}" for s, k in _keys()]
    return ConfigError(
        f"{origin}: unknown config key {dotted!r}{_suggestion(dotted, known)}; "
        f"known keys: {', '.join(known)}"
    )


def unknown_sections(origin: str, names: list[str], owned: Sequence[str] = ()) -> ConfigError:
    """The error for top-level keys that neither dbcron nor a handler owns: names them all,
    suggests the closest known section for the first, lists the known sections."""
    known = [*_SECTIONS, *owned]
    plural = "s" if len(names) > 1 else ""
    quoted = ", ".join(repr(name) for name in names)
    return ConfigError(
        f"{origin}: unknown config key{plural} {quoted}"
        f"{_suggestion(names[0].split('.')[0], known)}; known sections: {', '.join(known)}"
    )


def _check_key(origin: str, parts: list[str]) -> str:
    """``section.key`` for known ``parts``, else raise the unknown-key error."""
    if len(parts) == 2 and parts[0] in _SECTIONS and parts[1] in _SECTIONS[parts[0]].model_fields:
        return f"{parts[0]}.{parts[1]}"
    raise _unknown_key(origin, parts)


class _Environment:
    """The process environment over a ``.env`` file, variable by variable."""

    def __init__(
        self, process: Mapping[str, str], dotenv: Mapping[str, str], dotenv_path: Path | None
    ) -> None:
        self._process = process
        self._dotenv = dotenv
        self._dotenv_path = dotenv_path

    def get(self, name: str) -> tuple[str, str] | None:
        """(value, source label) of a non-empty variable, process environment first."""
        value = self._process.get(name)
        if value:
            return value, f"environment ({name})"
        value = self._dotenv.get(name)
        if value:
            return value, f".env {self._dotenv_path} ({name})"
        return None

    def names(self) -> list[str]:
        """Every variable name from either source, sorted."""
        return sorted(set(self._process) | set(self._dotenv))


def _read_dotenv(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of a ``.env`` file, with ``${VAR}`` / ``${VAR:-default}`` expanded.

    Expansion sees the process environment first, then earlier lines of the file (never
    ``os.environ`` unless that is what ``environ`` is). A line that cannot be parsed is an
    error rather than being skipped silently.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot read .env file {path}: {_reason(exc)}") from None
    from dotenv.parser import parse_stream
    from dotenv.variables import parse_variables

    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f".env file {path} line {binding.original.line}: cannot parse this line"
            )
        if binding.key is None or binding.value is None:
            continue
        scope: dict[str, str | None] = {**values, **environ}
        values[binding.key] = "".join(
            atom.resolve(scope) for atom in parse_variables(binding.value)
        )
    return values


def _reason(exc: BaseException) -> str:
    """A short, one-line description of an OS or decoding error."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _resolve(path: str | Path, cwd: Path) -> Path:
    """``path`` made absolute against ``cwd`` (``~`` expanded, ``..`` folded)."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = cwd / candidate
    return Path(os.path.normpath(candidate.absolute()))


def _locate_config(
    config_path: str | Path | None, env: _Environment, cwd: Path
) -> tuple[Path, str] | None:
    """(absolute path, name to show in messages) of the config file to read, or None."""
    if config_path is not None and str(config_path) != "":
        named, how = str(config_path), "--config"
    elif (found := env.get(CONFIG_ENV_VAR)) is not None:
        named, how = found[0], found[1]
    else:
        default = cwd / DEFAULT_CONFIG_FILE
        return (_resolve(default, cwd), DEFAULT_CONFIG_FILE) if default.is_file() else None
    path = _resolve(named, cwd)
    if not path.exists():
        raise ConfigError(f"config file {named} (from {how}) does not exist")
    if not path.is_file():
        raise ConfigError(f"config file {named} (from {how}) is not a file")
    return path, named


def _type_name(value: Any) -> str:
    """``a list``, ``a string``, ... for messages."""
    names = {
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
    }
    return names.get(type(value), f"a {type(value).__name__}")


#: The top-level keys of a config file or dict that are not dbcron's own sections:
#: name -> (value, source label), for the handlers that own them to validate.
_Others = dict[str, tuple[Any, str]]


def _read_config_file(path: Path, shown: str) -> tuple[_Layer, _Others]:
    """The keys a YAML config file sets, and its other top-level sections."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot read config file {shown}: {_reason(exc)}") from None
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise ConfigError(f"{shown}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: invalid YAML ({type(exc).__name__})") from None
    if document is None:
        return {}, {}
    return _document_layer(document, shown, f"config file {path}")


def _document_layer(document: Any, shown: str, source: str) -> tuple[_Layer, _Others]:
    """The keys of dbcron's sections in a config document (a config file's content, or
    the Python API's config dict), and its other top-level sections, unvalidated."""
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{shown}: the top level must be a mapping of sections "
            f"({', '.join(_SECTIONS)}), got {_type_name(document)}"
        )
    layer: _Layer = {}
    others: _Others = {}
    for section, body in document.items():
        name = str(section)
        if (
            "." in name and name.split(".", 1)[0] in _SECTIONS
        ):  # a dotted key, {"database.url": ...}
            layer[_check_key(shown, name.split("."))] = (body, source)
            continue
        if name not in _SECTIONS:
            others[name] = (body, source)
            continue
        if body is None:  # a section whose keys are all commented out
            continue
        if not isinstance(body, Mapping):
            raise ConfigError(
                f"{shown}: {section!s} must be a mapping of keys, got {_type_name(body)}"
            )
        for key, value in body.items():
            layer[_check_key(shown, [str(section), str(key)])] = (value, source)
    return layer, others


def _is_list(section: str, key: str) -> bool:
    """True for keys that take a list (``handlers.paths``)."""
    return any(
        typing.get_origin(leaf) in (tuple, list)
        for leaf in _leaves(_SECTIONS[section].model_fields[key].annotation)
    )


def _is_mapping(section: str, key: str) -> bool:
    """True for keys that take a mapping (``web.users``, ``web.tokens``)."""
    return any(
        typing.get_origin(leaf) is dict
        for leaf in _leaves(_SECTIONS[section].model_fields[key].annotation)
    )


def _wants_text(section: str, key: str) -> tuple[bool, bool]:
    """(the key takes only text, the key takes null)."""
    leaves = _leaves(_SECTIONS[section].model_fields[key].annotation)
    nullable = type(None) in leaves
    text = all(
        leaf is str or typing.get_origin(leaf) is Literal
        for leaf in leaves
        if leaf is not type(None)
    )
    return text, nullable


def _parse_env_value(raw: str, section: str, key: str) -> Any:
    """An environment string as a YAML scalar (``5``, ``2.5``, ``true``, ``null``).

    Text keys keep the string as written (so ``node_name=007`` stays ``"007"``) except
    that a nullable one reads ``null`` / ``~`` as None; a list of directories is written
    like ``PYTHONPATH`` (``os.pathsep`` between entries); a mapping (``web.users``) as a
    YAML flow mapping or a JSON object. Anything that is not a plain scalar in YAML is
    passed on as the raw string, for validation to judge.
    """
    if _is_list(section, key):
        return raw.split(os.pathsep)
    if _is_mapping(section, key):
        # web.users / web.tokens: a YAML flow mapping or JSON object in one variable
        import yaml

        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            return raw
    text, nullable = _wants_text(section, key)
    if text:
        return None if nullable and raw in _NULL_WORDS else raw
    import yaml

    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return raw


def _environment_layer(env: _Environment) -> _Layer:
    """The keys that ``DBCRON_*`` and the database URL variables set."""
    layer: _Layer = {}
    for name in env.names():
        if not name.startswith(_ENV_PREFIX) or _ENV_SEPARATOR not in name:
            continue
        if name in DATABASE_URL_ENV_VARS:
            continue
        found = env.get(name)
        if found is None:
            continue
        raw, source = found
        parts = name[len(_ENV_PREFIX) :].lower().split(_ENV_SEPARATOR)
        dotted = _check_key(source, parts)
        section, key = dotted.split(".")
        layer[dotted] = (_parse_env_value(raw, section, key), source)
    for name in DATABASE_URL_ENV_VARS:
        found = env.get(name)
        if found is not None:
            layer["database.url"] = found
            break
    return layer


def _flag_label(dotted: str) -> str:
    """``flag --db`` for provenance."""
    name = FLAG_NAMES.get(dotted) or "--" + dotted.rsplit(".", 1)[-1].replace("_", "-")
    return f"flag {name}"


def _flag_layer(flags: Mapping[str, Any]) -> _Layer:
    """The keys that CLI flags set; a None value means the flag was not given."""
    layer: _Layer = {}
    for dotted, value in flags.items():
        if value is None:
            continue
        label = _flag_label(dotted)
        layer[_check_key(label, dotted.split("."))] = (value, label)
    return layer
