"""What every route reads from the app it is mounted on: the runtime it was built with."""

from __future__ import annotations

from fastapi import Request

from dbcron.runtime import Runtime

__all__ = ["runtime_of"]


def runtime_of(request: Request) -> Runtime:
    """The runtime (services, settings, bus) the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime
