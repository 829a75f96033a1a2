"""Secrets in job configs are never shown: what the web, the API and exports display.

A job's config may hold credentials: a password or token under a key named like one
(``password``, ``api_key``, ``Authorization``...), a URL with a password in it
(``https://user:pw@host``), or a reference to an environment variable
(``{"env": "NAME"}``: the reference is shown, the variable's value never is, since it is
only read inside the worker). :func:`mask_config` hides the first two; a config sent back
with the mask in place (an edit form, an API round trip) is given its stored secrets
again by :func:`unmask_config`, so that showing a job and saving it unchanged keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from dbcron.urls import redact_url

__all__ = ["MASK", "is_secret_key", "mask_config", "unmask_config"]

#: What a hidden value is shown as.
MASK: Final = "********"

_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_]?key|auth(orization)?|credential|cookie"
    r"|private[-_]?key|access[-_]?key|signature|session",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """True for a key or header name that names a credential (``password``,
    ``X-Api-Key``, ``Authorization``, ``client_secret``, ``token``...)."""
    return _SECRET_KEY.search(key) is not None


def _is_env_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"env"} and isinstance(value["env"], str)


def mask_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every secret replaced by :data:`MASK` (values under a secret-named
    key) or with its password replaced by ``***`` (URLs); ``{"env": ...}`` references
    are kept as they are. A new dict; ``config`` is not changed."""
    return {key: _masked(value, secret=is_secret_key(str(key))) for key, value in config.items()}


def _masked(value: Any, *, secret: bool) -> Any:
    if _is_env_ref(value):
        return dict(value)
    if isinstance(value, Mapping):
        return {k: _masked(v, secret=secret or is_secret_key(str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, secret=secret) for item in value]
    if secret and value is not None and not isinstance(value, bool):
        return MASK
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def unmask_config(config: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` (as sent back by a client that was shown :func:`mask_config`'s form)
    with each value still masked replaced by ``stored``'s value at the same place: a
    :data:`MASK` left unchanged, or a URL equal to the stored URL's redacted form.
    Anything the client changed is kept as sent."""
    return {key: _unmasked(value, stored.get(key)) for key, value in config.items()}


def _unmasked(value: Any, stored: Any) -> Any:
    if isinstance(value, Mapping):
        inner = stored if isinstance(stored, Mapping) else {}
        return {k: _unmasked(v, inner.get(k)) for k, v in value.items()}
    if isinstance(value, list):
        before = stored if isinstance(stored, list | tuple) else []
        return [
            _unmasked(item, before[i] if i < len(before) else None) for i, item in enumerate(value)
        ]
    if value == MASK and stored is not None:
        return stored
    if (
        isinstance(value, str)
        and isinstance(stored, str)
        and "://" in stored
        and value != stored
        and value == redact_url(stored)
    ):
        return stored
    return value
