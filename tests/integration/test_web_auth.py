"""Authentication, roles, CSRF and security headers through a real server.

Changing requests go to the REST API (``/api/v1``) and ``POST /logout``; a page route
the tests add (``GET /test/page``) stands for a dashboard page showing its form's CSRF
token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse

from dbcron.config import Settings, WebSettings
from dbcron.models import JobStatus
from dbcron.runtime import Runtime
from dbcron.service.credentials import hash_password, hash_token
from dbcron.store import Store, open_store
from dbcron.web.auth import ViewerDep, csrf_token
from dbcron.web.security import CSP, DOCS_CSP
from dbcron.web.server import WebServer
from tests.support.web import serving, started

NOOP = {"callable": "tests.support.handlers:noop"}
ADMIN_TOKEN, VIEWER_TOKEN = "admin-token-0123456789", "viewer-token-0123456789"
PASSWORDS = {"alice": "alice password", "victor": "victor password"}
WEB = {
    "secret_key": "s" * 40,
    "users": {
        "alice": {"role": "admin", "password_hash": hash_password(PASSWORDS["alice"])},
        "victor": {"role": "viewer", "password_hash": hash_password(PASSWORDS["victor"])},
    },
    "tokens": {
        "deploy": {"role": "admin", "token_hash": hash_token(ADMIN_TOKEN)},
        "grafana": {"role": "viewer", "token_hash": hash_token(VIEWER_TOKEN)},
    },
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def runtime_for(url: str, store: Store, web: dict[str, object] | None = None) -> Runtime:
    settings = {"database": {"url": url}, "web": WEB if web is None else web}
    return Runtime(Settings.model_validate(settings), store=store)


@contextmanager
def serving_with_routes(runtime: Runtime) -> Iterator[httpx.Client]:
    """The app with a page route added (a dashboard page with its form's CSRF token)."""
    server = WebServer(runtime, WebSettings(host="127.0.0.1", port=0))

    def page_route(request: Request, principal: ViewerDep) -> HTMLResponse:
        token = csrf_token(request)
        return HTMLResponse(
            f'<p>hello {principal.name}</p><input name="csrf_token" value="{token}">'
        )

    server.app.add_api_route("/test/page", page_route, methods=["GET"])
    with started(server) as client:
        yield client


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    opened = open_store(sqlite_url)
    yield opened
    opened.close()


def log_in(
    http: httpx.Client, user: str, password: str, next_page: str = "/test/page"
) -> httpx.Response:
    form = http.get("/login", params={"next": next_page})
    assert form.status_code == 200
    token = _CSRF.search(form.text)
    assert token is not None and token.group(1)
    return http.post(
        "/login",
        data={
            "username": user,
            "password": password,
            "next": next_page,
            "csrf_token": token.group(1),
        },
    )


def page_csrf(http: httpx.Client) -> str:
    page = http.get("/test/page", headers={"accept": "text/html"})
    assert page.status_code == 200
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def test_tokens_and_roles(store: Store, db_url: str) -> None:
    runtime = runtime_for(db_url, store)
    job = runtime.jobs.new_job("j", "python", "@hourly", NOOP)
    pause, one = f"/api/v1/jobs/{job.job_id}/pause", f"/api/v1/jobs/{job.job_id}"
    with serving_with_routes(runtime) as http:
        # open endpoints
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200
        # no token, a wrong one, a malformed header: 401 problems asking for a Bearer token
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic eDp5"}):
            for denied in (http.get("/metrics", headers=headers), http.get(one, headers=headers)):
                assert denied.status_code == 401, headers
                assert denied.headers["content-type"] == "application/problem+json"
                assert denied.headers["www-authenticate"].startswith("Bearer")
            assert http.post(pause, headers=headers).status_code == 401
        viewer = {"authorization": f"Bearer {VIEWER_TOKEN}"}
        assert http.get("/metrics", headers=viewer).status_code == 200
        assert http.get(one, headers=viewer).json()["status"] == "active"
        # a viewer changing a job: 403, nothing changed
        for refused in (
            http.post(pause, headers=viewer),
            http.patch(one, headers=viewer, json={"description": "x"}),
            http.delete(one, headers=viewer),
        ):
            assert refused.status_code == 403
            assert refused.headers["content-type"] == "application/problem+json"
            assert "viewer role" in refused.json()["detail"]
        unchanged = runtime.jobs.get_job(job.job_id)
        assert unchanged.status is JobStatus.ACTIVE and unchanged.description is None
        # an admin token changes it, with no CSRF token (not a cookie login)
        admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        done = http.post(pause, headers=admin)
        assert done.status_code == 200 and done.json()["status"] == "paused"
        assert runtime.jobs.get_job(job.job_id).status is JobStatus.PAUSED
        # changes are attributed to the token's name
        pending = runtime.jobs.trigger_job(job.job_id)
        cancel = f"/api/v1/executions/{pending.execution_id}/cancel"
        assert http.post(cancel, headers=viewer).status_code == 403
        assert http.post(cancel, headers=admin).json()["error_message"] == "cancelled by deploy"


def test_login_page_cookie_and_logout(sqlite_store: Store, sqlite_url: str) -> None:
    with serving_with_routes(runtime_for(sqlite_url, sqlite_store)) as http:
        # a browser asking for a page goes to the login page, API clients get 401
        page = http.get("/test/page?x=1", headers={"accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Ftest%2Fpage%3Fx%3D1"
        assert http.get("/test/page").status_code == 401
        htmx = http.get("/test/page", headers={"accept": "text/html", "hx-request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login?next=")
        # wrong password and unknown user: the same answer, no session
        for user, password in (("alice", "wrong password"), ("mallory", PASSWORDS["alice"])):
            failed = log_in(http, user, password)
            assert failed.status_code == 401
            assert "Unknown user or wrong password." in failed.text
            assert "dbcron_session" not in failed.headers.get("set-cookie", "")
        # a login form posted without its token (login CSRF) is refused
        forged = http.post("/login", data={"username": "alice", "password": PASSWORDS["alice"]})
        assert forged.status_code == 403 and "dbcron_session" not in http.cookies
        # the right password: a session cookie, then the page
        ok = log_in(http, "victor", PASSWORDS["victor"])
        assert ok.status_code == 303 and ok.headers["location"] == "/test/page"
        cookie = ok.headers["set-cookie"]
        assert "dbcron_session=" in cookie and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie  # plain http here; https sets Secure
        assert "hello victor" in http.get("/test/page").text
        # logout needs the CSRF token too, then the cookie is gone
        assert http.post("/logout").status_code == 403
        out = http.post("/logout", data={"csrf_token": page_csrf(http)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert http.get("/test/page").status_code == 401
        # no open redirect after login
        assert (
            log_in(http, "victor", PASSWORDS["victor"], "//evil.example/").headers["location"]
            == "/"
        )


def test_csrf_of_cookie_logins(store: Store, db_url: str) -> None:
    runtime = runtime_for(db_url, store)
    job = runtime.jobs.new_job("j", "python", "@hourly", NOOP)
    pause = f"/api/v1/jobs/{job.job_id}/pause"
    with serving_with_routes(runtime) as http:
        assert log_in(http, "alice", PASSWORDS["alice"]).status_code == 303
        token = page_csrf(http)
        # missing or wrong token: 403, nothing changed
        for attempt in (
            http.post(pause),
            http.post(pause, headers={"x-csrf-token": "wrong"}),
            http.post(pause, data={"csrf_token": token[:-1]}),
            http.patch(f"/api/v1/jobs/{job.job_id}", json={"description": "x"}),
        ):
            assert attempt.status_code == 403
            assert "CSRF token" in attempt.json()["detail"]
        unchanged = runtime.jobs.get_job(job.job_id)
        assert unchanged.status is JobStatus.ACTIVE and unchanged.description is None
        # the session's token as the header (htmx) or the form field
        assert http.post(pause, headers={"x-csrf-token": token}).json()["status"] == "paused"
        runtime.jobs.resume_job(job.job_id)
        assert http.post(pause, data={"csrf_token": token}).status_code == 200
        assert runtime.jobs.get_job(job.job_id).status is JobStatus.PAUSED
        pending = runtime.jobs.trigger_job(job.job_id)
        cancel = f"/api/v1/executions/{pending.execution_id}/cancel"
        cancelled = http.post(cancel, headers={"x-csrf-token": token})
        assert cancelled.json()["error_message"] == "cancelled by alice"


def test_viewer_login_cannot_change(sqlite_store: Store, sqlite_url: str) -> None:
    runtime = runtime_for(sqlite_url, sqlite_store)
    job = runtime.jobs.new_job("j", "python", "@hourly", NOOP)
    with serving_with_routes(runtime) as http:
        log_in(http, "victor", PASSWORDS["victor"])
        token = page_csrf(http)
        refused = http.post(f"/api/v1/jobs/{job.job_id}/pause", headers={"x-csrf-token": token})
        assert refused.status_code == 403 and "viewer role" in refused.json()["detail"]
        assert runtime.jobs.get_job(job.job_id).status is JobStatus.ACTIVE


def test_failed_logins_are_limited(sqlite_store: Store, sqlite_url: str) -> None:
    with serving_with_routes(runtime_for(sqlite_url, sqlite_store)) as http:
        for _ in range(5):
            assert log_in(http, "alice", "wrong password").status_code == 401
        limited = log_in(http, "alice", PASSWORDS["alice"])
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "dbcron_session" not in http.cookies


def test_cross_site_changes_are_refused_without_auth(store: Store, db_url: str) -> None:
    runtime = runtime_for(db_url, store, web={})
    job = runtime.jobs.new_job("j", "python", "@hourly", NOOP)
    pause = f"/api/v1/jobs/{job.job_id}/pause"
    with serving_with_routes(runtime) as http:
        origin = str(http.base_url).rstrip("/")
        for headers in (
            {"origin": "http://evil.example"},
            {"sec-fetch-site": "cross-site"},
            {"origin": "null"},
        ):
            refused = http.post(pause, headers=headers, data={"x": "1"})
            assert refused.status_code == 403, headers
            assert "cross-site" in refused.json()["detail"]
        # DNS rebinding: a page of evil.example resolving to 127.0.0.1
        rebound = http.get("/healthz", headers={"host": "evil.example:8080"})
        assert rebound.status_code == 403 and "loopback" in rebound.json()["detail"]
        assert runtime.jobs.get_job(job.job_id).status is JobStatus.ACTIVE
        # the dashboard's own form posts and non-browser clients pass as the local admin
        same = http.post(pause, headers={"origin": origin, "sec-fetch-site": "same-origin"})
        assert same.json()["status"] == "paused"
        runtime.jobs.resume_job(job.job_id)
        assert http.post(pause).status_code == 200
        # nothing to log in to: the login page sends to the dashboard
        assert http.get("/login").status_code == 303


def test_security_headers(sqlite_store: Store, sqlite_url: str) -> None:
    with serving_with_routes(runtime_for(sqlite_url, sqlite_store)) as http:
        for response in (http.get("/healthz"), http.get("/login"), http.get("/nothing")):
            headers = response.headers
            assert headers["content-security-policy"] == CSP
            assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "same-origin"
            assert "strict-transport-security" not in headers  # http here
        # behind a TLS proxy on this host (X-Forwarded-Proto): HSTS and Secure cookies
        https = http.get("/login", headers={"x-forwarded-proto": "https"})
        assert https.headers["strict-transport-security"].startswith("max-age=")
        assert "Secure" in https.headers["set-cookie"]
        docs = http.get("/api/docs")
        assert docs.headers["content-security-policy"] == DOCS_CSP
        assert docs.headers["x-frame-options"] == "DENY"
        login = http.get("/login")
        assert "<script" not in login.text and "style=" not in login.text
        assert login.headers["cache-control"] == "no-store"


def test_non_loopback_bind_is_accepted_with_auth(sqlite_store: Store, sqlite_url: str) -> None:
    with serving(runtime_for(sqlite_url, sqlite_store), host="0.0.0.0") as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/metrics").status_code == 401
        # with auth configured any Host is answered (behind a proxy, a DNS name)
        assert http.get("/healthz", headers={"host": "dbcron.example"}).status_code == 200


def test_tokens_only_have_no_login_page(sqlite_store: Store, sqlite_url: str) -> None:
    web = {"tokens": WEB["tokens"]}
    with serving_with_routes(runtime_for(sqlite_url, sqlite_store, web=web)) as http:
        page = http.get("/test/page", headers={"accept": "text/html"})
        assert page.status_code == 401  # not a redirect to a login page that does not exist
        assert http.get("/login").status_code == 404
        viewer = {"authorization": f"Bearer {VIEWER_TOKEN}"}
        assert http.get("/test/page", headers=viewer).text.startswith("<p>hello grafana")
