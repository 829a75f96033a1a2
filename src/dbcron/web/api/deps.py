"""What the API's routes share: the runtime of the app, as a dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dbcron.runtime import Runtime
from dbcron.web.state import runtime_of

__all__ = ["RuntimeDep"]

#: The runtime the app was built with (its services: jobs, queries...).
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
