"""A real uvicorn server on 127.0.0.1 (any free port) over a runtime, for web tests.

Authentication comes from the runtime's settings (``web.users``, ``web.tokens``,
``web.secret_key``): build the runtime with them to serve an authenticated app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from dbcron.config import WebSettings
from dbcron.runtime import Runtime
from dbcron.web.server import WebServer


@contextmanager
def serving(runtime: Runtime, host: str = "127.0.0.1") -> Iterator[httpx.Client]:
    """Serve ``runtime``'s web app on ``host`` for the block; an HTTP client whose base
    URL is it (on 127.0.0.1 when ``host`` is a wildcard address)."""
    with started(WebServer(runtime, WebSettings(host=host, port=0))) as client:
        yield client


@contextmanager
def started(server: WebServer) -> Iterator[httpx.Client]:
    """Start ``server`` (whose app a test may have added routes to) for the block; an
    HTTP client whose base URL is it."""
    server.start()
    host = "127.0.0.1" if server.web.host in ("0.0.0.0", "::") else server.web.host
    try:
        with httpx.Client(base_url=f"http://{host}:{server.port}", timeout=30) as client:
            yield client
    finally:
        server.stop()
