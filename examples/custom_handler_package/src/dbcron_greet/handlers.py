"""The ``greet`` custom handler.

Registered through the ``dbcron.handlers`` entry point in ``pyproject.toml``; jobs use
it with ``{"handler": "greet", "name": "Ada"}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dbcron.handlers.context import HandlerContext, HandlerFailed


class GreetConfig(BaseModel):
    """The handler's own config keys (everything but ``handler``)."""

    name: str = Field(min_length=1)
    times: int = Field(default=1, ge=1, le=10)


def greet(ctx: HandlerContext) -> dict[str, Any]:
    """Greet someone, ``times`` times, in the execution's logs."""
    try:
        config = GreetConfig.model_validate(ctx.config)
    except ValueError as exc:
        raise HandlerFailed(f"invalid greet config: {exc}") from None
    for _ in range(config.times):
        ctx.logger.info("Hello, %s!", config.name)
    return {"greeted": config.name, "times": config.times}
