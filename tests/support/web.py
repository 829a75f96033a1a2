"""A real uvicorn server on 127.0.0.1 (any free port) over a runtime, for web tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from dbcron.config import WebSettings
from dbcron.runtime import Runtime
from dbcron.web.server import WebServer


@contextmanager
def serving(runtime: Runtime) -> Iterator[httpx.Client]:
    """Serve ``runtime``'s web app for the block; an HTTP client whose base URL is it."""
    server = WebServer(runtime, WebSettings(host="127.0.0.1", port=0))
    server.start()
    try:
        with httpx.Client(base_url=server.url.rstrip("/"), timeout=30) as client:
            yield client
    finally:
        server.stop()
