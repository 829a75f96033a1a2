"""Who is asking: the principal of a request, its role, and the CSRF token of forms.

Every route declares what it needs with :data:`ViewerDep` (read) or :data:`AdminDep`
(change); the dashboard's forms carry :func:`csrf_token` (a hidden ``csrf_token``
field, or the ``X-CSRF-Token`` header for htmx requests).

**Without authentication configured** (no ``web.users``, no ``web.tokens``) the server
only listens on loopback (:func:`dbcron.web.server.check_bind`), only answers requests
whose ``Host`` is a loopback name, and every request is the local operator, ``local``,
with the admin role. Cross-site form posts from the operator's browser are refused by
:mod:`dbcron.web.security` (``Origin`` / ``Sec-Fetch-Site``); :func:`csrf_token` is "".

**With authentication configured** every route but ``/healthz``, ``/readyz`` and the
login page needs a principal:

- API clients send ``Authorization: Bearer <token>``; the token's SHA-256 is looked up
  in ``web.tokens`` (constant-time comparison). No CSRF token is needed: a browser
  never adds that header on its own.
- Browsers log in at ``/login`` (a user of ``web.users``, argon2 password) and get a
  signed session cookie (``dbcron_session``: HttpOnly, SameSite=Lax, Secure over https,
  valid ``web.session_hours``; changing the user's password or ``web.secret_key`` ends
  it). A changing request (POST, PUT, PATCH, DELETE) authenticated by that cookie must
  send the session's CSRF token (:func:`csrf_token`) as the ``csrf_token`` form field or
  the ``X-CSRF-Token`` header; otherwise 403 and nothing changes.

A request without valid credentials gets 401 (``application/problem+json`` with
``WWW-Authenticate: Bearer``), except a browser asking for a dashboard page, which is
redirected to ``/login?next=...``. A viewer asking for a change gets 403.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from dbcron.config import WebSettings
from dbcron.errors import DbcronError
from dbcron.service.credentials import token_matches, verify_password
from dbcron.web.problems import problem

__all__ = [
    "LOCAL",
    "SESSION_COOKIE",
    "SESSION_SALT",
    "AdminDep",
    "Authenticator",
    "NotAuthenticatedError",
    "Principal",
    "Role",
    "Session",
    "ViewerDep",
    "csrf_token",
    "current_principal",
    "install",
    "require_admin",
    "require_viewer",
]

#: The cookie that carries a dashboard login.
SESSION_COOKIE: Final = "dbcron_session"
#: The salt of the session cookie's signature (a key used for nothing else).
SESSION_SALT: Final = "dbcron.web.session"
#: Methods that change nothing, and need no CSRF token.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
#: The form field and the header a changing request carries its CSRF token in.
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


class Role(enum.StrEnum):
    """What a principal may do."""

    VIEWER = "viewer"
    """Read jobs, executions, logs, status and metrics."""
    ADMIN = "admin"
    """Also create, change, run, cancel and delete."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The user (dashboard login) or token (API) a request is made by."""

    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """True when the principal may change things."""
        return self.role is Role.ADMIN


#: The principal of every request when no authentication is configured (loopback only).
LOCAL: Final = Principal("local", Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Session:
    """A valid dashboard login, as read from its cookie."""

    principal: Principal
    csrf: str
    """The token changing requests of this session must send back."""


class NotAuthenticatedError(DbcronError):
    """The request carries no valid credentials (answered 401, or a redirect to the
    login page for a browser asking for a page)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _fingerprint(password_hash: str) -> str:
    """A short digest of a user's password hash, kept in the session: a new password
    ends the sessions opened with the old one."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


class Authenticator:
    """Checks credentials against ``web.users`` and ``web.tokens``; signs and reads
    session cookies with ``web.secret_key``."""

    def __init__(self, web: WebSettings) -> None:
        self.web = web
        self.max_age = int(web.session_hours * 3600)
        self._signer = (
            URLSafeTimedSerializer(web.secret_key, salt=SESSION_SALT) if web.secret_key else None
        )

    @property
    def enabled(self) -> bool:
        """True when requests must authenticate."""
        return self.web.auth_configured

    def bearer(self, token: str) -> Principal | None:
        """The principal of an API token, or None. Every configured token is compared
        (in constant time), so the time taken tells nothing about which one matched."""
        found: Principal | None = None
        for name, entry in self.web.tokens.items():
            if token_matches(entry.token_hash, token) and found is None:
                found = Principal(name, Role(entry.role))
        return found

    def login(self, name: str, password: str) -> Principal | None:
        """The principal of a user whose password matches, or None (an unknown name
        takes as long as a wrong password)."""
        user = self.web.users.get(name)
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok:
            return None
        return Principal(name, Role(user.role))

    def session_cookie(self, principal: Principal) -> str:
        """The signed cookie value of a new login of ``principal`` (a user)."""
        assert self._signer is not None, "logins need web.secret_key"
        user = self.web.users[principal.name]
        payload = {
            "u": principal.name,
            "p": _fingerprint(user.password_hash),
            "c": secrets.token_urlsafe(24),
        }
        return self._signer.dumps(payload)

    def session(self, cookie: str) -> Session | None:
        """The login a cookie carries, or None when it is forged, expired, or its user
        is gone or has a new password."""
        if self._signer is None:
            return None
        try:
            payload: Any = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(payload, dict):
            return None
        name, fingerprint, csrf = payload.get("u"), payload.get("p"), payload.get("c")
        user = self.web.users.get(name) if isinstance(name, str) else None
        if user is None or not isinstance(fingerprint, str) or not isinstance(csrf, str):
            return None
        if not hmac.compare_digest(_fingerprint(user.password_hash), fingerprint):
            return None
        return Session(Principal(str(name), Role(user.role)), csrf)


def authenticator(request: Request) -> Authenticator:
    """The app's authenticator (built by :func:`install`)."""
    auth: Authenticator = request.app.state.auth
    return auth


def _bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None without one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticatedError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def current_session(request: Request) -> Session | None:
    """The dashboard login of ``request`` (from its cookie), or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    return authenticator(request).session(cookie)


def current_principal(request: Request) -> Principal:
    """The principal of ``request``: ``local`` without authentication configured, else
    the API token's or the session's; raises :class:`NotAuthenticatedError` without valid
    credentials."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    auth = authenticator(request)
    if not auth.enabled:
        principal = LOCAL
    elif (token := _bearer_token(request)) is not None:
        found = auth.bearer(token)
        if found is None:
            raise NotAuthenticatedError("the API token is not valid")
        principal = found
    elif (session := current_session(request)) is not None:
        principal = session.principal
        request.state.session = session
    else:
        raise NotAuthenticatedError("authentication required: a Bearer token or a login")
    request.state.principal = principal
    return principal


async def _sent_csrf_token(request: Request) -> str:
    """The CSRF token a changing request sent: its header, else its form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, expected: str) -> None:
    """403 unless the request sends ``expected`` as its CSRF token."""
    sent = await _sent_csrf_token(request)
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            403, f"missing or wrong CSRF token: send the form's {CSRF_FIELD} or {CSRF_HEADER}"
        )


#: Declares Bearer authentication in the OpenAPI document (the docs page's "Authorize");
#: the token itself is checked by :func:`current_principal`.
_BEARER: Final = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (dbcron web-user token) when authentication is configured.",
)
_BearerScheme = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]


async def require_viewer(request: Request, _scheme: _BearerScheme = None) -> Principal:
    """Any authenticated principal; a changing request authenticated by the session
    cookie must also carry the session's CSRF token."""
    principal = current_principal(request)
    session: Session | None = getattr(request.state, "session", None)
    if session is not None and request.method not in SAFE_METHODS:
        await check_csrf(request, session.csrf)
    return principal


async def require_admin(request: Request, _scheme: _BearerScheme = None) -> Principal:
    """A principal with the admin role; 403 otherwise."""
    principal = await require_viewer(request)
    if not principal.is_admin:
        raise HTTPException(403, f"{principal.name} has the viewer role: changes need admin")
    return principal


def csrf_token(request: Request) -> str:
    """The CSRF token a form of this request's session must send back: the session's
    token for a logged-in browser, the login form's before a login, "" otherwise
    (without authentication, cross-site posts are refused by their ``Origin`` instead:
    see :mod:`dbcron.web.security`)."""
    session: Session | None = getattr(request.state, "session", None)
    if session is None and authenticator(request).enabled:
        session = current_session(request)
    if session is not None:
        return session.csrf
    login: str | None = getattr(request.state, "login_csrf", None)
    return login or ""


#: Dependency of read routes: the requesting principal.
ViewerDep = Annotated[Principal, Depends(require_viewer)]
#: Dependency of routes that change something: an admin principal.
AdminDep = Annotated[Principal, Depends(require_admin)]


def wants_page(request: Request) -> bool:
    """True for a browser asking for a dashboard page (redirected to the login page
    rather than answered 401)."""
    path = request.url.path
    if path.startswith("/api") or path == "/metrics" or request.method not in SAFE_METHODS:
        return False
    return "text/html" in request.headers.get("accept", "")


def login_url(request: Request) -> str:
    """``/login?next=<this page>``."""
    from urllib.parse import urlencode

    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": here})


def install(app: FastAPI, web: WebSettings) -> None:
    """Authenticate with ``web``'s users and tokens: answer :class:`NotAuthenticatedError`
    (401 problem, login redirect) and serve the login and logout pages."""
    from dbcron.web import login

    app.state.auth = Authenticator(web)
    app.state.login_throttle = login.LoginThrottle()

    @app.exception_handler(NotAuthenticatedError)
    async def _unauthenticated(request: Request, exc: NotAuthenticatedError) -> Response:
        logins = bool(authenticator(request).web.users)
        if logins and request.headers.get("hx-request"):
            # htmx would swap a redirect's page into a fragment: tell it to navigate.
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        if logins and wants_page(request):
            return RedirectResponse(login_url(request), status_code=303)
        response: JSONResponse = problem(
            401,
            "Unauthorized",
            exc.detail,
            headers={"WWW-Authenticate": 'Bearer realm="dbcron"'},
        )
        return response

    app.include_router(login.router)
