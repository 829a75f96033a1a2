"""Settings, merged from five layers, with the origin of every value.

Layers, lowest to highest precedence::

    built-in defaults < config file (YAML) < .env file < process environment < CLI flags

The config file is the ``--config`` flag's value, else ``DBCRON_CONFIG`` (process
environment or ``.env``), else ``./config.yaml`` when it exists. The ``.env`` file is
``./.env`` (or an explicit path). The process environment overrides ``.env`` variable by
variable, as ``load_dotenv`` does; the database URL is then taken from the first of
``DBCRON_DATABASE_URL``, ``DBCRON_DATABASE__URL``, ``DATABASE_URL``, ``SUPABASE_DB_URL``
that is set (non-empty), and any other key from ``DBCRON_<SECTION>__<KEY>``.

The Python API may give a config dict instead of a file (``load_settings(document=...)``):
it takes the file's place and wins over ``.env`` and the environment for the keys it sets.
A file or dict may also hold the application's own sections (``paper_fetch:``): those
that a job type or handler owns are validated by it (:mod:`dbcron.config.sections`); any
other top-level key is an error naming it.

Every problem is a :class:`~dbcron.errors.ConfigError` with a one-line message that names
the key and where its value came from, and never contains a password.
"""

from __future__ import annotations

from dbcron.config.loading import load_settings
from dbcron.config.settings import (
    CONFIG_ENV_VAR,
    DATABASE_URL_ENV_VARS,
    DEFAULT_CONFIG_FILE,
    DEFAULT_DATABASE_URL,
    FLAG_NAMES,
    AppSection,
    DatabaseSettings,
    HandlersSettings,
    JobDefaults,
    LoadedSettings,
    LoggingSettings,
    SchedulerSettings,
    Settings,
    WebSettings,
)
from dbcron.urls import redact_url, sqlite_path

__all__ = [
    "CONFIG_ENV_VAR",
    "DATABASE_URL_ENV_VARS",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_DATABASE_URL",
    "FLAG_NAMES",
    "AppSection",
    "DatabaseSettings",
    "HandlersSettings",
    "JobDefaults",
    "LoadedSettings",
    "LoggingSettings",
    "SchedulerSettings",
    "Settings",
    "WebSettings",
    "load_settings",
    "redact_url",
    "sqlite_path",
]
