"""The ``python`` job type: call ``package.module:function`` with keyword arguments.

The function receives the config's ``kwargs`` (with ``{"env": "NAME"}`` values resolved)
and, when it declares a parameter called ``ctx``, the :class:`HandlerContext`. Its return
value is the execution's result. The module is imported from the scheduler's working
directory, the ``handlers.paths`` directories, then ``sys.path``
(:mod:`dbcron.handlers.imports`); when it cannot be, the run fails with one line naming
the module and the directories searched.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from dbcron.handlers.configs import PythonConfig
from dbcron.handlers.context import HandlerContext
from dbcron.handlers.imports import ImportDirs, import_target


@functools.lru_cache(maxsize=1024)
def _target(path: str, dirs: ImportDirs | None) -> tuple[Callable[..., Any], bool]:
    """The function at ``path`` and whether it takes ``ctx`` (looked up once; failures
    are not cached)."""
    func: Callable[..., Any] = import_target(path, dirs)
    try:
        wants_ctx = "ctx" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        wants_ctx = False
    return func, wants_ctx


def run(ctx: HandlerContext) -> Any:
    """Import and call the configured function."""
    config = PythonConfig.model_validate(ctx.config)
    func, wants_ctx = _target(config.callable, ctx.import_dirs)
    kwargs = ctx.resolve(dict(config.kwargs))
    if wants_ctx:
        kwargs["ctx"] = ctx
    return func(**kwargs)
