"""Web security without a server: credentials, the auth settings, session cookies, the
login throttle, the ``next`` rule, the loopback ``Host`` rule and cross-site detection."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.datastructures import Headers

from dbcron.clock import FakeClock
from dbcron.config import Settings, WebSettings, load_settings
from dbcron.errors import ConfigError, ValidationError
from dbcron.service.credentials import (
    hash_password,
    hash_token,
    new_token,
    token_matches,
    verify_password,
)
from dbcron.web.auth import SESSION_SALT, Authenticator, Principal, Role
from dbcron.web.login import LoginThrottle, safe_next
from dbcron.web.security import cross_site, is_loopback_host
from dbcron.web.server import check_bind

KEY = "k" * 40


@pytest.fixture(scope="module")
def secret_hash() -> str:
    return hash_password("correct horse")


def web_with(secret_hash: str, **extra: object) -> WebSettings:
    return WebSettings.model_validate(
        {
            "secret_key": KEY,
            "users": {"alice": {"role": "admin", "password_hash": secret_hash}},
            "tokens": {"ci": {"role": "viewer", "token_hash": hash_token("tok-1")}},
            **extra,
        }
    )


def test_passwords_and_tokens(secret_hash: str) -> None:
    assert secret_hash.startswith("$argon2id$")
    assert verify_password(secret_hash, "correct horse")
    assert not verify_password(secret_hash, "correct horsE")
    assert not verify_password(None, "correct horse")
    assert not verify_password("$argon2id$garbage", "x")
    with pytest.raises(ValidationError, match="at least 8 characters"):
        hash_password("short")
    made = new_token()
    assert made.token.startswith("dbcron_") and len(made.token) > 40
    assert token_matches(made.token_hash, made.token)
    assert not token_matches(made.token_hash, made.token + "x")
    assert new_token().token != made.token


def test_auth_settings_are_checked(secret_hash: str) -> None:
    assert not WebSettings().auth_configured
    assert web_with(secret_hash).auth_configured
    only_tokens = WebSettings.model_validate({"tokens": {"ci": {"token_hash": "A" * 64}}})
    assert only_tokens.auth_configured and only_tokens.tokens["ci"].token_hash == "a" * 64
    cases = {
        "web.secret_key: is required when web.users is set": {
            "users": {"bob": {"password_hash": secret_hash}}
        },
        "web.secret_key: must be at least 32 characters": {"secret_key": "short"},
        "web.users.bob.password_hash: must be an argon2 hash": {
            "secret_key": KEY,
            "users": {"bob": {"password_hash": "plain-password"}},
        },
        "web.tokens.ci.token_hash: must be the SHA-256": {"tokens": {"ci": {"token_hash": "x"}}},
        "web.tokens.ci.role: Input should be 'viewer' or 'admin'": {
            "tokens": {"ci": {"role": "root", "token_hash": "a" * 64}}
        },
    }
    for message, web in cases.items():
        with pytest.raises(ConfigError) as caught:
            load_settings(document={"web": web}, environ={}, cwd=Path("/"))
        assert str(caught.value).startswith(message), str(caught.value)
        assert "plain-password" not in str(caught.value)


def test_auth_from_the_environment_and_hidden_in_the_effective_config(
    secret_hash: str,
) -> None:
    environ = {
        "DBCRON_WEB__SECRET_KEY": KEY,
        "DBCRON_WEB__USERS": f'{{"alice": {{"role": "admin", "password_hash": "{secret_hash}"}}}}',
        "DBCRON_WEB__TOKENS": "{ci: {token_hash: " + "b" * 64 + "}}",
    }
    loaded = load_settings(environ=environ, cwd=Path("/"))
    web = loaded.settings.web
    assert web.users["alice"].role == "admin" and web.tokens["ci"].role == "viewer"
    shown = {key: value for key, value, _source in loaded.effective()}
    assert shown["web.secret_key"] == "(hidden)"
    assert shown["web.users"] == {"alice": {"role": "admin", "hash": "(hidden)"}}
    assert KEY not in repr(loaded.effective()) and secret_hash not in repr(loaded.effective())


def test_non_loopback_bind_is_accepted_with_auth(secret_hash: str) -> None:
    with pytest.raises(ConfigError, match="no authentication is configured"):
        check_bind(Settings(), WebSettings(host="0.0.0.0"))
    settings = Settings(web=web_with(secret_hash))
    check_bind(settings, WebSettings(host="0.0.0.0"))


def test_sessions_are_signed_and_end_with_a_new_password(secret_hash: str) -> None:
    auth = Authenticator(web_with(secret_hash))
    alice = auth.login("alice", "correct horse")
    assert alice == Principal("alice", Role.ADMIN)
    assert auth.login("alice", "wrong") is None and auth.login("mallory", "correct horse") is None
    assert auth.bearer("tok-1") == Principal("ci", Role.VIEWER)
    assert auth.bearer("tok-2") is None
    cookie = auth.session_cookie(alice)
    session = auth.session(cookie)
    assert session is not None and session.principal == alice and len(session.csrf) >= 32
    assert auth.session(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    other_key = Authenticator(web_with(secret_hash, secret_key="z" * 40))
    assert other_key.session(cookie) is None
    new_password = Authenticator(web_with(hash_password("another password")))
    assert new_password.session(cookie) is None
    one_hour = Authenticator(web_with(secret_hash, session_hours=1))
    assert one_hour.session(cookie) is not None
    assert one_hour.session(_signed_long_ago(cookie, seconds=3601)) is None


class _LongAgo(TimestampSigner):
    seconds = 0

    def get_timestamp(self) -> int:
        return int(time.time()) - self.seconds


def _signed_long_ago(cookie: str, seconds: int) -> str:
    """The same session payload, signed with the same key ``seconds`` ago."""
    _LongAgo.seconds = seconds
    payload = URLSafeTimedSerializer(KEY, salt=SESSION_SALT).loads(cookie)
    return URLSafeTimedSerializer(KEY, salt=SESSION_SALT, signer=_LongAgo).dumps(payload)


def test_login_throttle() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    throttle = LoginThrottle(limit=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        clock.advance(10)
    assert throttle.retry_after("10.0.0.1") == 31  # the first failure ages out at 60 s
    assert throttle.retry_after("10.0.0.2") == 0
    clock.advance(31)
    assert throttle.retry_after("10.0.0.1") == 0


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/jobs?status=paused", "/jobs?status=paused"),
        ("/", "/"),
        (None, "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("jobs", "/"),
    ],
)
def test_next_is_a_local_path(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("localhost:8080", True),
        ("[::1]:8080", True),
        ("localhost", True),
        ("127.0.0.1", True),
        ("evil.example:8080", False),
        ("10.0.0.1", False),
        ("", False),
        ("[::]:80", False),
    ],
)
def test_loopback_host_names(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_cross_site_requests() -> None:
    def check(**headers: str) -> str | None:
        return cross_site(Headers({k.replace("_", "-"): v for k, v in headers.items()}))

    host = "127.0.0.1:8080"
    assert check(host=host) is None
    assert check(host=host, origin="http://127.0.0.1:8080") is None
    assert check(host=host, sec_fetch_site="same-origin") is None
    assert check(host=host, sec_fetch_site="none") is None
    assert check(host=host, origin="http://evil.example") is not None
    assert check(host=host, origin="null") is not None
    assert check(host=host, sec_fetch_site="cross-site") is not None
    assert check(host=host, sec_fetch_site="same-site") is not None
