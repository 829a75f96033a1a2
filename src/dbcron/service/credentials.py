"""Credentials of the web server: argon2 password hashes for dashboard logins and
random API tokens kept as their SHA-256.

``dbcron web-user hash`` and ``dbcron web-user token`` make the values that go into
``web.users`` and ``web.tokens``; :mod:`dbcron.web.auth` checks requests against them.
Passwords are hashed with argon2id (argon2-cffi's recommended parameters); tokens are
32 random bytes, so a plain SHA-256 of them cannot be reversed by guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dbcron.errors import ValidationError

__all__ = [
    "NewToken",
    "hash_password",
    "hash_token",
    "new_token",
    "token_matches",
    "verify_password",
]

_HASHER: Final = PasswordHasher()
#: Checked when a login names an unknown user, so that the answer takes as long as for
#: a known one (the time would otherwise tell which names exist).
_DUMMY_HASH: Final = _HASHER.hash(secrets.token_urlsafe(16))
#: Shortest password ``hash_password`` accepts.
MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly made API token: give ``token`` to the client, put ``token_hash`` in
    ``web.tokens``."""

    token: str
    token_hash: str


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (``$argon2id$...``)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must be at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; with None (an unknown user) a
    dummy hash is checked so that both cases take the same time."""
    try:
        ok = _HASHER.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def new_token() -> NewToken:
    """A random API token (``dbcron_`` and 43 URL-safe characters) and its hash."""
    token = "dbcron_" + secrets.token_urlsafe(32)
    return NewToken(token=token, token_hash=hash_token(token))


def hash_token(token: str) -> str:
    """The SHA-256 (hex) of an API token, as ``web.tokens`` keeps it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token_hash: str, token: str) -> bool:
    """True when ``token`` hashes to ``token_hash`` (compared in constant time)."""
    return hmac.compare_digest(hash_token(token), token_hash)
