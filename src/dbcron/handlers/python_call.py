"""The ``python`` job type: call ``package.module:function`` with keyword arguments.

The function receives the config's ``kwargs`` (with ``{"env": "NAME"}`` values resolved)
and, when it declares a parameter called ``ctx``, the :class:`HandlerContext`. Its return
value is the execution's result.
"""

from __future__ import annotations

import inspect
from typing import Any

from dbcron.handlers.configs import PythonConfig
from dbcron.handlers.context import HandlerContext
from dbcron.handlers.registry import import_callable


def run(ctx: HandlerContext) -> Any:
    """Import and call the configured function."""
    config = PythonConfig.model_validate(ctx.config)
    func = import_callable(config.callable)
    kwargs = ctx.resolve(dict(config.kwargs))
    try:
        wants_ctx = "ctx" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        wants_ctx = False
    if wants_ctx:
        kwargs["ctx"] = ctx
    return func(**kwargs)
