"""The login page (``GET/POST /login``) and ``POST /logout`` of the dashboard.

The login form is protected against login CSRF by a short-lived double-submit cookie
(``dbcron_login``, SameSite=Strict) whose value the form sends back. Failed logins are
limited per client address (:class:`LoginThrottle`); the message never says whether the
user or the password was wrong.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from dbcron.clock import SYSTEM_CLOCK, Clock
from dbcron.web.auth import (
    SESSION_COOKIE,
    ViewerDep,
    authenticator,
    csrf_token,
)

__all__ = ["LOGIN_COOKIE", "LoginThrottle", "router", "safe_next"]

#: The double-submit cookie of the login form.
LOGIN_COOKIE: Final = "dbcron_login"
_LOGIN_FORM_SECONDS: Final = 600
_FAILED: Final = "unknown user or wrong password"

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


class LoginThrottle:
    """At most ``limit`` failed logins per client address in ``window`` seconds; later
    attempts (even right ones) are refused until the oldest failure ages out."""

    def __init__(self, limit: int = 5, window: float = 300.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        now = self.clock.monotonic()
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) < self.limit:
                if not failures:
                    self._failures.pop(client, None)
                return 0
            return max(1, int(failures[0] + self.window - now) + 1)

    def failed(self, client: str) -> None:
        """Record a failed login of ``client``."""
        with self._lock:
            now = self.clock.monotonic()
            self._recent(client, now).append(now)


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of this site, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ch in target for ch in "\\\r\n\t") or "://" in target.split("?", 1)[0]:
        return "/"
    return target


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _form(
    request: Request, *, next_page: str, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    """The login page with a fresh login CSRF token (and its cookie)."""
    token = secrets.token_urlsafe(24)
    request.state.login_csrf = token
    response = templates.TemplateResponse(
        request,
        "auth/login.html",
        {
            "next": next_page,
            "error": error,
            "username": username,
            "csrf_token": csrf_token(request),
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=_LOGIN_FORM_SECONDS,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (the dashboard when no authentication is configured; 404 with
    API tokens only)."""
    auth = authenticator(request)
    if not auth.web.users:
        if auth.enabled:
            raise HTTPException(404, "no dashboard logins are configured (web.users)")
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, next_page=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the user and password; on success set the session cookie and go to
    ``next`` (a path of this site)."""
    auth = authenticator(request)
    target = safe_next(next)
    if not auth.web.users:
        return RedirectResponse(target, status_code=303)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _form(
            request,
            next_page=target,
            username=username,
            error="The login form expired; please log in again.",
            status=403,
        )
    throttle, client = _throttle(request), _client(request)
    wait = throttle.retry_after(client)
    if wait:
        response = _form(
            request,
            next_page=target,
            username=username,
            error=f"Too many failed logins; try again in {wait} seconds.",
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    principal = auth.login(username, password)
    if principal is None:
        throttle.failed(client)
        return _form(
            request,
            next_page=target,
            username=username,
            error=_FAILED.capitalize() + ".",
            status=401,
        )
    done = RedirectResponse(target, status_code=303)
    done.set_cookie(
        SESSION_COOKIE,
        auth.session_cookie(principal),
        max_age=auth.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    done.delete_cookie(LOGIN_COOKIE, path="/login")
    return done


@router.post("/logout")
async def logout(request: Request, principal: ViewerDep) -> Response:
    """End the dashboard login (a changing request: it needs the CSRF token)."""
    target = "/login" if authenticator(request).web.users else "/"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response
