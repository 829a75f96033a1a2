"""Loading the settings: the layers merged in order of precedence, then validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbcron.config.layers import (
    _SUPABASE_API_ENV_VARS,
    _document_layer,
    _Environment,
    _environment_layer,
    _flag_layer,
    _Layer,
    _locate_config,
    _Others,
    _read_config_file,
    _read_dotenv,
    _resolve,
)
from dbcron.config.sections import validate_sections
from dbcron.config.settings import _DEFAULTS, LoadedSettings, Settings, _keys
from dbcron.config.validation import _validate
from dbcron.errors import ConfigError

#: How the Python API's config dict is named in messages and provenance.
CONFIG_DICT = "config dict"


def load_settings(
    *,
    config_path: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    dotenv_path: Path | None = None,
    document: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """Merge defaults, config file, ``.env``, environment and flags into :class:`Settings`.

    ``config_path`` is the ``--config`` flag; ``flags`` maps dotted keys to flag values
    (None means "not given"); ``environ`` defaults to ``os.environ`` and ``cwd`` to the
    working directory, where ``.env`` and ``config.yaml`` are looked for.
    ``dotenv_path`` names a ``.env`` file that must exist.

    ``document`` is the Python API's config dict, shaped like ``config.yaml``: it takes
    the place of the config file (none is read) and wins over ``.env`` and the
    environment for the keys it sets, as flags do. The sections of a config file or dict
    that job types or handlers own (``paper_fetch:``) are validated by their owner.
    Raises :class:`ConfigError`.
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
    others: _Others = {}
    shown = CONFIG_DICT
    located = None
    if document is None:
        located = _locate_config(config_path, env, base)
        if located is not None:
            file_layer, others = _read_config_file(*located)
            merged.update(file_layer)
            shown = located[1]
    merged.update(_environment_layer(env))
    if document is not None:
        dict_layer, others = _document_layer(document, CONFIG_DICT, CONFIG_DICT)
        merged.update(dict_layer)
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

    config_file = located[0] if located is not None else None
    settings = _validate(merged)
    sections = validate_sections(others, shown)
    return LoadedSettings(
        settings=_with_absolute_paths(settings, merged, config_file, base),
        sources={dotted: source for dotted, (_value, source) in merged.items()},
        config_path=config_file,
        dotenv_path=dotenv_file,
        sections=sections,
    )


def _with_absolute_paths(
    settings: Settings, merged: _Layer, config_file: Path | None, cwd: Path
) -> Settings:
    """``settings`` with ``handlers.paths`` made absolute: against the config file's
    directory when the file set them, else against the working directory."""
    paths = settings.handlers.paths
    if not paths:
        return settings
    from_file = config_file is not None and merged["handlers.paths"][1].startswith("config file")
    base = config_file.parent if from_file and config_file is not None else cwd
    absolute = tuple(str(_resolve(entry, base)) for entry in paths)
    handlers = settings.handlers.model_copy(update={"paths": absolute})
    return settings.model_copy(update={"handlers": handlers})
