"""Debian's Chromium for the browser tests (installed with apt-get when missing; never
Playwright's own browser downloads) and a running dashboard to point it at."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbcron.config import Settings, WebSettings
from dbcron.runtime import Runtime
from dbcron.store import open_store
from dbcron.web.server import WebServer

#: Where Debian's chromium package puts its launcher.
CHROMIUM = "/usr/bin/chromium"


def chromium_binary(install: bool = True) -> str:
    """The path of Debian's Chromium, installing the package first when asked and it
    is missing."""
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None and install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env)
        found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    return found


def launch_args() -> list[str]:
    """Chromium's flags: no sandbox under root (it refuses to start otherwise)."""
    return ["--no-sandbox"] if os.geteuid() == 0 else []


@dataclass
class Dashboard:
    """A dashboard served over a SQLite database with a scheduler node running on it."""

    runtime: Runtime
    url: str


@contextmanager
def dashboard(folder: Path, web: dict[str, Any] | None = None) -> Iterator[Dashboard]:
    """A migrated SQLite database in ``folder``, a scheduler node in a thread (so that
    triggered runs really run) and the web server on a free port, for the block;
    ``web`` is the ``web:`` settings (users, tokens, secret_key) when given."""
    url = f"sqlite:///{folder / 'dash.db'}"
    store = open_store(url, create=True, check_schema=False)
    store.migrate()
    store.close()
    settings = Settings.model_validate(
        {
            "database": {"url": url},
            "scheduler": {"max_workers": 2, "lease_seconds": 5, "shutdown_grace_seconds": 5},
            "web": web or {},
        }
    )
    runtime = Runtime(settings)
    engine = runtime.engine()
    assert engine is not None
    thread = threading.Thread(target=engine.run, name="browser-test-scheduler", daemon=True)
    thread.start()
    server = WebServer(runtime, WebSettings(host="127.0.0.1", port=0))
    try:
        engine.ready.wait(30)
        server.start()
        yield Dashboard(runtime, server.url.rstrip("/"))
    finally:
        server.stop()
        engine.stop()
        thread.join(30)
        runtime.close()
