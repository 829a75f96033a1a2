"""Job types: what a job does. See :mod:`dbcron.handlers.registry`."""

from __future__ import annotations

from dbcron.handlers.registry import HandlerRegistry, HandlerSpec, default_registry, handler

__all__ = ["HandlerRegistry", "HandlerSpec", "default_registry", "handler"]
