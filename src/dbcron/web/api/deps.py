"""What the API's routes share: the runtime of the app, as a dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dbcron.runtime import Runtime
from dbcron.web.health import runtime_of

__all__ = ["RuntimeDep"]


def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


#: The runtime the app was built with (its services: jobs, queries...).
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
