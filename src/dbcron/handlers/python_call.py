"""The ``python`` job type: call ``package.module:function`` with keyword arguments.

The function receives the config's ``kwargs`` (with ``{"env": "NAME"}`` values resolved)
and, when it declares a parameter called ``ctx``, the :class:`HandlerContext`. Its return
value is the execution's result.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from dbcron.handlers.configs import PythonConfig
from dbcron.handlers.context import HandlerContext
from dbcron.handlers.registry import import_callable


@functools.lru_cache(maxsize=1024)
def _target(path: str) -> tuple[Callable[..., Any], bool]:
    """The function at ``path`` and whether it takes ``ctx`` (looked up once)."""
    func = import_callable(path)
    try:
        wants_ctx = "ctx" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        wants_ctx = False
    return func, wants_ctx


def run(ctx: HandlerContext) -> Any:
    """Import and call the configured function."""
    config = PythonConfig.model_validate(ctx.config)
    func, wants_ctx = _target(config.callable)
    kwargs = ctx.resolve(dict(config.kwargs))
    if wants_ctx:
        kwargs["ctx"] = ctx
    return func(**kwargs)
