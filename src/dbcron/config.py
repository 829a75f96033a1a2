"""Settings, merged from five layers, with the origin of every value.

Layers, lowest to highest precedence::

    built-in defaults < config file (YAML) < .env file < process environment < CLI flags

The config file is the ``--config`` flag's value, else ``DBCRON_CONFIG`` (process
environment or ``.env``), else ``./config.yaml`` when it exists. The ``.env`` file is
``./.env`` (or an explicit path). The process environment overrides ``.env`` variable by
variable, as ``load_dotenv`` does; the database URL is then taken from the first of
``DBCRON_DATABASE_URL``, ``DBCRON_DATABASE__URL``, ``DATABASE_URL``, ``SUPABASE_DB_URL``
that is set (non-empty), and any other key from ``DBCRON_<SECTION>__<KEY>``.

Every problem is a :class:`~dbcron.errors.ConfigError` with a one-line message that names
the key and where its value came from, and never contains a password.
"""

from __future__ import annotations

import io
import os
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv.parser import parse_stream
from dotenv.variables import parse_variables
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from dbcron.errors import ConfigError
from dbcron.urls import redact_url, sqlite_path, url_problem

__all__ = [
    "CONFIG_ENV_VAR",
    "DATABASE_URL_ENV_VARS",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_DATABASE_URL",
    "FLAG_NAMES",
    "DatabaseSettings",
    "JobDefaults",
    "LoadedSettings",
    "LoggingSettings",
    "SchedulerSettings",
    "Settings",
    "load_settings",
    "redact_url",
    "sqlite_path",
]

#: Where the database lives when nothing says otherwise: ``dbcron.db`` in the working directory.
DEFAULT_DATABASE_URL: Final = "sqlite:///dbcron.db"
#: The config file read when neither ``--config`` nor ``DBCRON_CONFIG`` names one.
DEFAULT_CONFIG_FILE: Final = "config.yaml"
#: Environment variable naming the config file.
CONFIG_ENV_VAR: Final = "DBCRON_CONFIG"
#: Environment variables that set ``database.url``, the first one set wins.
DATABASE_URL_ENV_VARS: Final = (
    "DBCRON_DATABASE_URL",
    "DBCRON_DATABASE__URL",
    "DATABASE_URL",
    "SUPABASE_DB_URL",
)
#: The CLI flag that sets a dotted key, for provenance ("flag --db"). Keys not listed
#: are shown as ``--<key-with-dashes>``.
FLAG_NAMES: Final[Mapping[str, str]] = types.MappingProxyType({"database.url": "--db"})

_ENV_PREFIX: Final = "DBCRON_"
_ENV_SEPARATOR: Final = "__"
_SUPABASE_API_ENV_VARS: Final = ("SUPABASE_URL", "SUPABASE_ANON_KEY")
_NULL_WORDS: Final = frozenset({"null", "Null", "NULL", "~"})
_MAX_SHOWN: Final = 60


# --------------------------------------------------------------------------- models


def _leaves(annotation: Any) -> tuple[Any, ...]:
    """The members of a union annotation (``int | None`` -> ``(int, NoneType)``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


class _Section(BaseModel):
    """Common base of the settings sections: frozen, no unknown keys, no bool/number mix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_number_mixup(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse ``true`` for a number and ``1`` for a flag (pydantic's lax mode takes both)."""
        assert info.field_name is not None
        leaves = _leaves(cls.model_fields[info.field_name].annotation)
        if isinstance(value, bool) and bool not in leaves and (int in leaves or float in leaves):
            raise PydanticCustomError("wrong_type", "a boolean is not a number")
        if bool in leaves and isinstance(value, int | float) and not isinstance(value, bool):
            raise PydanticCustomError("wrong_type", "a number is not a boolean")
        return value


class DatabaseSettings(_Section):
    """Where the jobs live: a SQLite file or a PostgreSQL database."""

    url: str = DEFAULT_DATABASE_URL
    """``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``postgresql://...`` or
    ``postgres://...``; surrounding whitespace is dropped."""
    pool_size: int = Field(default=10, ge=1)
    """Largest number of pooled PostgreSQL connections."""
    connect_timeout_seconds: float = Field(default=5, gt=0)
    """How long to wait for a database connection."""
    listen: Literal["auto", "on", "off"] = "auto"
    """PostgreSQL LISTEN/NOTIFY for instant wake-ups: ``auto`` uses it except on port
    6543 (Supabase's transaction pooler); ``off`` for any transaction-mode pooler."""

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        """Strip the URL and refuse schemes and shapes the stores cannot open."""
        problem = url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.strip()


class SchedulerSettings(_Section):
    """How a scheduler process claims and runs fires."""

    check_interval_seconds: float = Field(default=60, gt=0)
    """Longest sleep between looks at the database (the specification's key)."""
    run_on_startup: bool = False
    """Run every active job once when the scheduler starts (the specification's key)."""
    interval_hours: float = Field(default=2, gt=0)
    """Interval of a job created without a schedule (the specification's key)."""
    max_workers: int = Field(default=8, ge=1)
    """Executions one scheduler runs at the same time."""
    executor: Literal["process", "thread"] = "process"
    """Run handlers in child processes (hard timeouts) or in threads."""
    lease_seconds: float = Field(default=30, gt=0)
    """How long a running execution's lease lasts before it is renewed or rescued."""
    shutdown_grace_seconds: float = Field(default=30, ge=0)
    """How long a stopping scheduler waits for running executions."""
    node_name: str | None = None
    """Name shown for this scheduler in ``status``; None uses host and pid."""
    pid_file: str = Field(default="dbcron.pid", min_length=1)
    """Where ``dbcron start --daemon`` records its pid, for ``dbcron stop``."""

    @field_validator("executor", mode="before")
    @classmethod
    def _lower_executor(cls, value: Any) -> Any:
        """Accept ``Process`` as well as ``process``."""
        return value.lower() if isinstance(value, str) else value


class JobDefaults(_Section):
    """Values a new job takes when it does not set its own."""

    timeout_seconds: int | None = Field(default=3600, gt=0)
    """Hard time limit of one execution; None for no limit."""
    retry_count: int = Field(default=3, ge=0)
    """Retries after a failed or timed-out execution."""
    retry_delay_seconds: int = Field(default=300, ge=0)
    """Wait before a retry."""
    timezone: str = "UTC"
    """IANA time zone that cron expressions are read in."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Refuse names that are not IANA time zones."""
        if value == "UTC":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {value[:_MAX_SHOWN]!r} "
                "(expected an IANA name such as 'UTC' or 'Europe/Paris')"
            ) from None
        return value


class LoggingSettings(_Section):
    """Where and how much the scheduler logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level written; case-insensitive on input."""
    file: str = Field(default="job_scheduler.log", min_length=1)
    """Log file, relative to the working directory."""

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        """Accept ``debug`` as well as ``DEBUG``."""
        return value.upper() if isinstance(value, str) else value


class Settings(BaseModel):
    """Every setting of dbcron, one section per concern. Frozen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: DatabaseSettings = DatabaseSettings()
    """Where the jobs live."""
    scheduler: SchedulerSettings = SchedulerSettings()
    """How a scheduler claims and runs fires."""
    job_defaults: JobDefaults = JobDefaults()
    """Defaults of new jobs."""
    logging: LoggingSettings = LoggingSettings()
    """Logging."""


_SECTIONS: Final[dict[str, type[_Section]]] = {
    "database": DatabaseSettings,
    "scheduler": SchedulerSettings,
    "job_defaults": JobDefaults,
    "logging": LoggingSettings,
}
assert list(_SECTIONS) == list(Settings.model_fields)

_DEFAULTS: Final[dict[str, dict[str, Any]]] = Settings().model_dump()


def _keys() -> Iterator[tuple[str, str]]:
    """Every (section, key) pair, in declaration order."""
    for section, model in _SECTIONS.items():
        for key in model.model_fields:
            yield section, key


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LoadedSettings:
    """The merged settings, where each value came from, and the files that were read."""

    settings: Settings
    """The validated settings."""
    sources: dict[str, str]
    """Dotted key -> origin of its value: ``default``, ``config file /abs/config.yaml``,
    ``.env /abs/.env (DATABASE_URL)``, ``environment (DBCRON_DATABASE_URL)``, ``flag --db``."""
    config_path: Path | None
    """The config file that was read (absolute), or None."""
    dotenv_path: Path | None = None
    """The ``.env`` file that was read (absolute), or None."""

    def effective(self) -> list[tuple[str, Any, str]]:
        """(dotted key, value, source) for every key in section order, passwords redacted."""
        rows: list[tuple[str, Any, str]] = []
        for section, key in _keys():
            dotted = f"{section}.{key}"
            value = getattr(getattr(self.settings, section), key)
            if dotted == "database.url":
                value = redact_url(value)
            rows.append((dotted, value, self.sources.get(dotted, "default")))
        return rows


# --------------------------------------------------------------------------- layers

#: A layer's contribution: dotted key -> (value, source label).
_Layer = dict[str, tuple[Any, str]]


def _unknown_key(origin: str, parts: list[str]) -> ConfigError:
    """The error for a key that no section declares."""
    dotted = ".".join(parts)
    if parts[0] not in _SECTIONS:
        known = list(_SECTIONS)
    elif len(parts) == 2:
        known = list(_SECTIONS[parts[0]].model_fields)
    else:  # too deep (a.b.c) or too shallow (a): list every dotted key
        known = [f"{s}.{k}" for s, k in _keys()]
    return ConfigError(f"{origin}: unknown key {dotted!r} (known: {', '.join(known)})")


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


def _read_config_file(path: Path, shown: str) -> _Layer:
    """The keys a YAML config file sets."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot read config file {shown}: {_reason(exc)}") from None
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
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{shown}: the top level must be a mapping of sections "
            f"({', '.join(_SECTIONS)}), got {_type_name(document)}"
        )
    source = f"config file {path}"
    layer: _Layer = {}
    for section, body in document.items():
        if str(section) not in _SECTIONS:
            raise _unknown_key(shown, [str(section)])
        if body is None:  # a section whose keys are all commented out
            continue
        if not isinstance(body, dict):
            raise ConfigError(
                f"{shown}: {section!s} must be a mapping of keys, got {_type_name(body)}"
            )
        for key, value in body.items():
            layer[_check_key(shown, [str(section), str(key)])] = (value, source)
    return layer


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
    that a nullable one reads ``null`` / ``~`` as None. Anything that is not a plain
    scalar in YAML is passed on as the raw string, for validation to judge.
    """
    text, nullable = _wants_text(section, key)
    if text:
        return None if nullable and raw in _NULL_WORDS else raw
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


# --------------------------------------------------------------------------- validation


def _expectation(section: str, key: str) -> str:
    """What a key takes, for messages: ``an integer >= 1``, ``a number > 0 or null``."""
    field = _SECTIONS[section].model_fields[key]
    leaves = [leaf for leaf in _leaves(field.annotation) if leaf is not type(None)]
    nullable = len(leaves) < len(_leaves(field.annotation))
    leaf = leaves[0]
    if typing.get_origin(leaf) is Literal:
        text = "one of " + ", ".join(repr(v) for v in typing.get_args(leaf))
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
    if error["type"] == "value_error":
        # A validator's own sentence: names the problem, never quotes a URL.
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{dotted}: {problem} ({source})"
    if len(loc) == 2 and loc[0] in _SECTIONS and loc[1] in _SECTIONS[loc[0]].model_fields:
        problem = "expected " + _expectation(loc[0], loc[1])
    else:
        problem = error["msg"]
    if dotted == "database.url" and isinstance(value, str):
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


# --------------------------------------------------------------------------- entry point


def load_settings(
    *,
    config_path: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    dotenv_path: Path | None = None,
) -> LoadedSettings:
    """Merge defaults, config file, ``.env``, environment and flags into :class:`Settings`.

    ``config_path`` is the ``--config`` flag; ``flags`` maps dotted keys to flag values
    (None means "not given"); ``environ`` defaults to ``os.environ`` and ``cwd`` to the
    working directory, where ``.env`` and ``config.yaml`` are looked for.
    ``dotenv_path`` names a ``.env`` file that must exist. Raises :class:`ConfigError`.
    """
    process: Mapping[str, str] = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd

    dotenv_file: Path | None
    if dotenv_path is not None:
        dotenv_file = _resolve(dotenv_path, base)
        if not dotenv_file.is_file():
            raise ConfigError(f".env file {dotenv_path} does not exist")
    else:
        candidate = base / ".env"
        dotenv_file = _resolve(candidate, base) if candidate.is_file() else None
    dotenv = _read_dotenv(dotenv_file, process) if dotenv_file is not None else {}
    env = _Environment(process, dotenv, dotenv_file)

    merged: _Layer = {
        f"{section}.{key}": (_DEFAULTS[section][key], "default") for section, key in _keys()
    }
    located = _locate_config(config_path, env, base)
    if located is not None:
        merged.update(_read_config_file(*located))
    merged.update(_environment_layer(env))
    merged.update(_flag_layer(flags or {}))

    if merged["database.url"][1] == "default" and any(
        env.get(name) for name in _SUPABASE_API_ENV_VARS
    ):
        raise ConfigError(
            "SUPABASE_URL/SUPABASE_ANON_KEY are set but dbcron needs the Postgres connection "
            "string: set SUPABASE_DB_URL or DATABASE_URL (Supabase dashboard > Connect), not "
            "the REST URL and anon key, because a scheduler must not hold table write access "
            "through the public anon key (or set database.url to use SQLite)"
        )

    return LoadedSettings(
        settings=_validate(merged),
        sources={dotted: source for dotted, (_value, source) in merged.items()},
        config_path=located[0] if located is not None else None,
        dotenv_path=dotenv_file,
    )
