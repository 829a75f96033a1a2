"""Loading the settings: the layers merged in order of precedence, then validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbcron.config.layers import (
    _SUPABASE_API_ENV_VARS,
    _Environment,
    _environment_layer,
    _flag_layer,
    _Layer,
    _locate_config,
    _read_config_file,
    _read_dotenv,
    _resolve,
)
from dbcron.config.settings import _DEFAULTS, LoadedSettings, _keys
from dbcron.config.validation import _validate
from dbcron.errors import ConfigError


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
