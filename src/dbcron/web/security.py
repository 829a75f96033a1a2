"""Security headers on every response, and the refusal of cross-site changes.

:class:`SecurityMiddleware` (an ASGI middleware around the whole app):

- adds :data:`HEADERS` and the Content-Security-Policy (:data:`CSP`) to every
  response (a header a route set itself is kept), and ``Strict-Transport-Security``
  when the request came over https;
- refuses (403 problem) a changing request (POST, PUT, PATCH, DELETE) that a browser
  says comes from another site: ``Sec-Fetch-Site: cross-site``/``same-site``, or an
  ``Origin`` whose host is not the request's ``Host``. Clients that are not browsers
  (curl, scripts) send neither header and pass;
- without authentication configured, refuses any request whose ``Host`` is not a
  loopback name (``localhost``, ``127.0.0.1``, ``[::1]``): a web page cannot then
  reach the unauthenticated dashboard through DNS rebinding.

The CSP allows scripts, styles, fonts and connections from the dashboard's own origin
only: pages load their JavaScript and CSS from ``/static``; no inline ``<script>``, no
``style=`` attribute, no ``on...=`` handler, no ``javascript:`` URL. Images may also be
``data:`` URLs. The OpenAPI page (``/api/docs``, FastAPI's Swagger UI) gets
:data:`DOCS_CSP`, which also allows its inline start-up script.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dbcron.web.problems import PROBLEM_JSON

__all__ = ["CSP", "DOCS_CSP", "HEADERS", "SecurityMiddleware", "is_loopback_host"]

#: The dashboard's Content-Security-Policy.
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
#: The Content-Security-Policy of the OpenAPI page: its assets are the package's own
#: (:mod:`dbcron.web.apidocs`); Swagger UI needs its inline start-up script.
DOCS_CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
#: Headers every response carries.
HEADERS: Final = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_DOCS_PATHS: Final = ("/api/docs",)
_HSTS: Final = "max-age=31536000"
_UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _hostname(host: str) -> str:
    """The name of a ``Host`` header value: ``[::1]:8080`` -> ``::1``, ``a:80`` -> ``a``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_host(host: str) -> bool:
    """True for a ``Host`` header naming this machine's loopback interface."""
    name = _hostname(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cross_site(headers: Headers) -> str | None:
    """Why a browser's changing request comes from another site, or None."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        return f"a {fetch_site} request"
    origin = headers.get("origin")
    if origin is None:
        return None
    origin_host = urlsplit(origin).netloc.lower() if origin != "null" else ""
    if origin_host != headers.get("host", "").lower():
        return f"a request from origin {origin[:80]}"
    return None


class SecurityMiddleware:
    """Security headers, cross-site change refusal and (without authentication) the
    loopback ``Host`` rule, around an ASGI app."""

    def __init__(self, app: ASGIApp, *, auth_configured: bool) -> None:
        self.app = app
        self.auth_configured = auth_configured

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what must be refused; add the headers to everything else."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        https = scope.get("scheme") == "https"
        path = str(scope.get("path", ""))
        csp = DOCS_CSP if path.startswith(_DOCS_PATHS) else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in (*HEADERS, ("Content-Security-Policy", csp)):
                    if name not in out:
                        out[name] = value
                if https and "strict-transport-security" not in out:
                    out["Strict-Transport-Security"] = _HSTS
            await send(message)

        if refusal is not None:
            response = JSONResponse(
                {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": refusal},
                status_code=403,
                media_type=PROBLEM_JSON,
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: Headers) -> str | None:
        """Why the request is refused, or None."""
        host = headers.get("host", "")
        if not self.auth_configured and not is_loopback_host(host):
            return (
                f"Host {host[:80]!r} is not a loopback name: without authentication "
                "dbcron only answers requests to localhost / 127.0.0.1"
            )
        if scope.get("method") in _UNSAFE_METHODS:
            why = cross_site(headers)
            if why is not None:
                return f"{why} may not change anything: cross-site requests are refused"
        return None
