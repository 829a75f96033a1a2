"""Serving the web app with uvicorn: in the foreground (``dbcron web``) or in a
background thread of the scheduler process (``dbcron start --web``)."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from typing import Final

import uvicorn

from dbcron.config import Settings, WebSettings
from dbcron.errors import ConfigError
from dbcron.runtime import Runtime
from dbcron.web.app import create_app

__all__ = ["WebServer", "check_bind", "is_loopback", "web_settings"]

log = logging.getLogger("dbcron.web")

#: How long :meth:`WebServer.start` waits for the socket to listen.
_START_TIMEOUT: Final = 15.0


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def web_settings(base: WebSettings, *, host: str | None, port: int | None) -> WebSettings:
    """``base`` with the command line's ``--host`` and ``--port`` (validated)."""
    values = base.model_dump()
    if host is not None:
        values["host"] = host
    if port is not None:
        if not 0 <= port <= 65535:
            raise ConfigError(f"--port must be between 0 and 65535, not {port}")
        values["port"] = port
    if not str(values["host"]).strip():
        raise ConfigError("--host must not be empty")
    return WebSettings.model_validate(values)


def check_bind(settings: Settings, web: WebSettings) -> None:
    """Refuse to serve on a non-loopback address without authentication: anyone who can
    reach the port could change and run jobs."""
    host = web.host
    if not is_loopback(host) and not settings.web.auth_configured:
        raise ConfigError(
            f"web.host {host} is not a loopback address and no authentication is "
            "configured: anyone reaching it could run jobs; configure web.users or "
            "web.tokens (see docs/security.md) or serve on 127.0.0.1"
        )


class WebServer:
    """One uvicorn server over a runtime's app."""

    def __init__(self, runtime: Runtime, web: WebSettings | None = None) -> None:
        """Serve on ``web`` (by default the runtime's ``web`` settings); refuses an
        address that :func:`check_bind` refuses."""
        self.web = web or runtime.settings.web
        check_bind(runtime.settings, self.web)
        self.app = create_app(runtime)
        config = uvicorn.Config(
            self.app,
            host=self.web.host,
            port=self.web.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (useful with ``port: 0``)."""
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.web.port

    @property
    def url(self) -> str:
        """The base URL of the dashboard."""
        host = self.web.host
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{shown}:{self.port}/"

    def start(self) -> None:
        """Serve in a background thread; returns once the socket listens."""
        self._check_free()
        self._thread = threading.Thread(target=self._run, name="dbcron-web", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise ConfigError(f"the web server did not start: {self._failed}")
            self._thread.join(0.02)

    def _run(self) -> None:
        try:
            self._server.run()
        except BaseException as exc:  # reported by start(); the scheduler carries on
            self._failed = exc
            raise

    def stop(self) -> None:
        """Stop serving (open requests get a few seconds to finish)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.app.state.metrics.close()

    def _check_free(self) -> None:
        """A clear one-line error when the port is taken (uvicorn would log and exit)."""
        family = socket.AF_INET6 if ":" in self.web.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.web.host.strip("[]"), self.web.port))
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {self.web.host}:{self.web.port}: {exc.strerror or exc}"
                ) from None
