"""The ``custom`` job type: run a handler registered under the name in ``config.handler``.

Handlers register with ``@dbcron.handler("name")`` in a module that worker processes
import, through the ``dbcron.handlers`` entry-point group of an installed package, or
are named by dotted path (``{"handler": "package.module:function"}``). The handler
receives the context with the config minus the ``handler`` key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dbcron.handlers.context import HandlerContext, HandlerFailed
from dbcron.handlers.imports import import_target
from dbcron.handlers.registry import default_registry, load_plugins


def run(ctx: HandlerContext) -> Any:
    """Find the named handler and call it."""
    name = str(ctx.config.get("handler", ""))
    spec = default_registry.get_custom(name)
    if spec is None:
        load_plugins()
        spec = default_registry.get_custom(name)
    if spec is not None:
        func = spec.resolve()
    elif ":" in name:
        func = import_target(name, ctx.import_dirs, what="custom handler")
    else:
        known = ", ".join(s.name for s in default_registry.custom_handlers()) or "none"
        raise HandlerFailed(
            f"no custom handler named {name!r} is registered in this process (known: {known}); "
            "process workers do not import the main script: register it in an importable "
            "module (dotted path or a dbcron.handlers entry point) or use the thread executor"
        )
    own = {k: v for k, v in ctx.config.items() if k != "handler"}
    return func(replace(ctx, config=own))
