"""A real uvicorn server on 127.0.0.1 (any free port) over a runtime, for web tests.

Authentication comes from the runtime's settings (``web.users``, ``web.tokens``,
``web.secret_key``): build the runtime with them to serve an authenticated app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from dbcron.config import Settings, WebSettings
from dbcron.runtime import Runtime
from dbcron.store import open_store
from dbcron.web.server import WebServer
from tests.conftest import STORE_BACKENDS
from tests.support.pgbouncer import Bouncer


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


@dataclass
class Api:
    """A web server over its own migrated database of one backend, for a test module."""

    backend: str
    runtime: Runtime
    http: httpx.Client


@contextmanager
def api_over(url: str, backend: str) -> Iterator[Api]:
    """Serve the web app over the database at ``url`` (migrated) for the block."""
    runtime = Runtime(Settings.model_validate({"database": {"url": url}}))
    try:
        with serving(runtime) as http:
            yield Api(backend, runtime, http)
    finally:
        runtime.close()


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server per test module and backend (sqlite, postgres, pgbouncer), each over a
    database of its own; tests keep apart by the names of the jobs they create."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'dbcron.db'}"
        store = open_store(url, create=True, check_schema=False)
    else:
        url = request.getfixturevalue("make_pg_database")()
        store = open_store(url, check_schema=False)
    store.migrate()
    store.close()
    if request.param == "pgbouncer":
        bouncer: Bouncer = request.getfixturevalue("bouncer")
        url = bouncer.url_for(url.rsplit("/", 1)[1])
    with api_over(url, request.param) as served:
        yield served
