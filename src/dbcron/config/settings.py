"""The settings models (one section each, with their defaults and checks), the loaded
result with provenance, and the names of the files and variables they come from."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from dbcron.urls import redact_url, url_problem

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


#: Keys whose values are never shown (``dbcron config``, errors): they are, or hash, secrets.
SECRET_KEYS: Final = frozenset({"web.secret_key", "web.users", "web.tokens"})

_MAX_SHOWN: Final = 60
#: ``@every`` intervals are at most 366 days.
_MAX_INTERVAL_HOURS: Final = 366 * 24


def _leaves(annotation: Any) -> tuple[Any, ...]:
    """The members of a union annotation (``int | None`` -> ``(int, NoneType)``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _any_case(fold: Callable[[str], str]) -> BeforeValidator:
    """Accept a choice in any case: ``fold`` (``str.lower``, ``str.upper``) strings first."""
    return BeforeValidator(lambda value: fold(value) if isinstance(value, str) else value)


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
    interval_hours: float = Field(default=2, gt=0, le=_MAX_INTERVAL_HOURS)
    """The specification's "default interval": a job created without a schedule runs
    every this many hours (``@every 2h``, aligned to the UTC epoch); a whole number of
    seconds, at most 366 days."""
    max_workers: int = Field(default=8, ge=1)
    """Executions one scheduler runs at the same time."""
    executor: Annotated[Literal["process", "thread"], _any_case(str.lower)] = "process"
    """Run handlers in child processes (hard timeouts) or in threads."""
    lease_seconds: float = Field(default=30, gt=0)
    """How long a running execution's lease lasts before it is renewed or rescued."""
    shutdown_grace_seconds: float = Field(default=30, ge=0)
    """How long a stopping scheduler waits for running executions."""
    node_name: str | None = None
    """Name shown for this scheduler in ``status``; None uses host and pid."""
    pid_file: str = Field(default="dbcron.pid", min_length=1)
    """Where ``dbcron start --daemon`` records its pid, for ``dbcron stop``."""

    @field_validator("interval_hours")
    @classmethod
    def _whole_seconds(cls, value: float) -> float:
        """Refuse an interval that is not a whole number of seconds (``@every`` cannot
        express it)."""
        seconds = value * 3600
        if abs(seconds - round(seconds)) > 1e-6:
            raise ValueError(
                f"interval_hours must be a whole number of seconds, e.g. 2 or 0.5, not {value}"
            )
        return value

    @property
    def default_schedule(self) -> str:
        """The schedule of a job created without one: ``@every`` ``interval_hours``."""
        return every(self.interval_hours)


def every(hours: float) -> str:
    """``@every`` expression of an interval in hours: ``2`` -> ``@every 2h``, ``1.5`` ->
    ``@every 1h30m``, ``0.25`` -> ``@every 15m``."""
    left = round(hours * 3600)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "@every " + "".join(parts)


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

    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], _any_case(str.upper)] = "INFO"
    """Lowest level written; case-insensitive on input."""
    file: str = Field(default="job_scheduler.log", min_length=1)
    """Log file, relative to the working directory."""
    format: Annotated[Literal["text", "json"], _any_case(str.lower)] = "text"
    """``text`` (one readable line per record) or ``json`` (one JSON object per line, with
    each run's job, execution, fire time, attempt, status and duration as fields)."""


def _path_list(value: Any) -> Any:
    """One directory given as a plain string is a list of one."""
    return (value,) if isinstance(value, str) else value


class HandlersSettings(_Section):
    """Where ``python`` jobs (and custom handlers named by dotted path) are imported from."""

    paths: Annotated[tuple[str, ...], BeforeValidator(_path_list)] = ()
    """Directories put on the import path of the workers, after the scheduler's working
    directory; relative ones are resolved against the config file's directory (against
    the working directory when they come from the environment or the Python API)."""

    @field_validator("paths")
    @classmethod
    def _no_empty_path(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Refuse an empty directory name (it would silently mean the working directory)."""
        if any(not entry.strip() for entry in value):
            raise ValueError("handlers.paths: a directory name must not be empty")
        return value


#: The roles a web user or API token can have (:class:`dbcron.web.auth.Role`).
WebRole = Annotated[Literal["viewer", "admin"], _any_case(str.lower)]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: Shortest ``web.secret_key`` accepted (characters).
MIN_SECRET_KEY = 32


class WebUser(BaseModel):
    """A dashboard login: its role and the argon2 hash of its password
    (``dbcron web-user hash`` prints one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: WebRole = "viewer"
    """``viewer`` (read) or ``admin`` (also change)."""
    password_hash: str
    """``$argon2id$...``; never the password itself."""

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        """Refuse anything that is not an argon2 hash (a password pasted by mistake)."""
        if not value.startswith(("$argon2id$", "$argon2i$", "$argon2d$")):
            raise ValueError(
                "must be an argon2 hash ($argon2id$...); make one with dbcron web-user hash"
            )
        return value


class WebToken(BaseModel):
    """An API token: its role and the SHA-256 (hex) of the token
    (``dbcron web-user token`` makes one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: WebRole = "viewer"
    """``viewer`` (read, and ``/metrics``) or ``admin`` (also change)."""
    token_hash: str
    """64 lowercase hex digits: ``sha256(token)``; never the token itself."""

    @field_validator("token_hash")
    @classmethod
    def _sha256(cls, value: str) -> str:
        """Refuse anything but a SHA-256 hex digest."""
        value = value.strip().lower()
        if not _SHA256_HEX.fullmatch(value):
            raise ValueError(
                "must be the SHA-256 of the token in hex (64 digits); make one with "
                "dbcron web-user token"
            )
        return value


def _names(kind: str, value: Mapping[str, Any]) -> None:
    """Refuse empty or oversized user/token names."""
    for name in value:
        if not str(name).strip() or len(str(name)) > 64:
            raise ValueError(f"a {kind} name must be 1 to 64 characters")


class WebSettings(_Section):
    """Where the dashboard, the REST API and the metrics are served (``dbcron web``,
    ``dbcron start --web``), and who may use them (docs/security.md)."""

    host: str = Field(default="127.0.0.1", min_length=1)
    """Address to listen on. Without authentication configured only a loopback address
    is accepted."""
    port: int = Field(default=8080, ge=0, le=65535)
    """TCP port (0: any free port, printed at start)."""
    users: dict[str, WebUser] = Field(default_factory=dict)
    """Dashboard logins: name -> ``{role, password_hash}``."""
    tokens: dict[str, WebToken] = Field(default_factory=dict)
    """API tokens (``Authorization: Bearer``): name -> ``{role, token_hash}``."""
    secret_key: str | None = Field(default=None, validate_default=True)
    """Signs the session cookies; required when ``users`` is set (at least 32 characters,
    e.g. ``python -c 'import secrets; print(secrets.token_urlsafe(32))'``). Changing it
    logs everybody out."""
    session_hours: float = Field(default=12, gt=0, le=24 * 31)
    """How long a dashboard login lasts."""

    @field_validator("users")
    @classmethod
    def _user_names(cls, value: dict[str, WebUser]) -> dict[str, WebUser]:
        """Names are shown and attributed: non-empty, short."""
        _names("user", value)
        return value

    @field_validator("tokens")
    @classmethod
    def _token_names(cls, value: dict[str, WebToken]) -> dict[str, WebToken]:
        """Names are shown and attributed: non-empty, short."""
        _names("token", value)
        return value

    @field_validator("secret_key", mode="after")
    @classmethod
    def _strong_key(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Required with logins (it signs their cookies); a short key could be guessed,
        and a forged cookie is a login."""
        if value is None:
            if info.data.get("users"):
                raise ValueError(
                    "is required when web.users is set: it signs the session cookies "
                    f"(at least {MIN_SECRET_KEY} random characters)"
                )
            return None
        if len(value.strip()) < MIN_SECRET_KEY:
            raise ValueError(f"must be at least {MIN_SECRET_KEY} characters")
        return value.strip()

    @property
    def auth_configured(self) -> bool:
        """True when logins or API tokens are configured: every request must then
        authenticate, and a non-loopback address is accepted."""
        return bool(self.users or self.tokens)


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
    handlers: HandlersSettings = HandlersSettings()
    """Where ``python`` jobs are imported from."""
    web: WebSettings = WebSettings()
    """The dashboard, REST API and metrics server."""


_SECTIONS: Final[dict[str, type[_Section]]] = {
    "database": DatabaseSettings,
    "scheduler": SchedulerSettings,
    "job_defaults": JobDefaults,
    "logging": LoggingSettings,
    "handlers": HandlersSettings,
    "web": WebSettings,
}
assert list(_SECTIONS) == list(Settings.model_fields)

_DEFAULTS: Final[dict[str, dict[str, Any]]] = Settings().model_dump()


def _hidden(value: Any) -> Any:
    """A secret setting as shown: users and tokens keep their names and roles, hashes
    and the key are hidden."""
    if isinstance(value, dict):
        return {name: {"role": entry.role, "hash": "(hidden)"} for name, entry in value.items()}
    return "(hidden)"


def _keys() -> Iterator[tuple[str, str]]:
    """Every (section, key) pair, in declaration order."""
    for section, model in _SECTIONS.items():
        for key in model.model_fields:
            yield section, key


@dataclass(frozen=True)
class AppSection:
    """A top-level section of the configuration that a job type or handler owns (such as
    ``paper_fetch:``), validated by its owner's schema."""

    name: str
    """The section's key (``paper_fetch``)."""
    owner: str
    """The job type or custom handler that owns it."""
    values: dict[str, Any]
    """The settings its owner's schema declares, as given (keys its schema ignores are
    left out)."""
    source: str
    """Where it came from: ``config file /abs/config.yaml`` or ``config dict``."""


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
    sections: tuple[AppSection, ...] = ()
    """The application's sections that job types or handlers own, validated."""

    def effective(self) -> list[tuple[str, Any, str]]:
        """(dotted key, value, source) for every key in section order, passwords redacted;
        then the keys of the sections handlers own."""
        rows: list[tuple[str, Any, str]] = []
        for section, key in _keys():
            dotted = f"{section}.{key}"
            value = getattr(getattr(self.settings, section), key)
            if dotted == "database.url":
                value = redact_url(value)
            elif dotted in SECRET_KEYS and value:
                value = _hidden(value)
            rows.append((dotted, value, self.sources.get(dotted, "default")))
        for app_section in self.sections:
            for key, value in app_section.values.items():
                rows.append((f"{app_section.name}.{key}", value, app_section.source))
        return rows

    def section(self, name: str) -> dict[str, Any] | None:
        """The values of the application section ``name`` (``paper_fetch``), or None."""
        for app_section in self.sections:
            if app_section.name == name:
                return dict(app_section.values)
        return None
