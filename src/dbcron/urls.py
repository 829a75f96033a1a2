"""Database URLs: which backend they name, and how to show them without secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from dbcron.errors import ConfigError

_SUPPORTED_URLS: Final = "sqlite:///<path>, postgresql://..., postgres://..."


def _scheme(url: str) -> str | None:
    """The URL's scheme in lower case, or None when ``url`` does not start with one."""
    match = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return match.group(1).lower() if match else None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be used as ``database.url``, or None. Never quotes the URL."""
    scheme = _scheme(url)
    if scheme is None:
        return f"not a database URL (supported: {_SUPPORTED_URLS})"
    if scheme in ("http", "https"):
        return (
            f"unsupported scheme {scheme!r}: this is a REST URL (like SUPABASE_URL); dbcron "
            f"needs the Postgres connection string (supported: {_SUPPORTED_URLS})"
        )
    if scheme == "sqlite":
        if not url.strip().lower().startswith("sqlite:///"):
            return (
                "a sqlite URL needs three slashes: sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db"
            )
        path = url.strip()[len("sqlite:///") :]
        if not path:
            return "the sqlite URL has no file path (e.g. sqlite:///dbcron.db)"
        if "?" in path:
            return "a sqlite URL takes no query parameters (e.g. sqlite:///dbcron.db)"
        return None
    if scheme in ("postgresql", "postgres"):
        if "[your-password]" in url.lower():
            return (
                "the URL still contains the [YOUR-PASSWORD] placeholder from the Supabase "
                "dashboard; replace it with the database password"
            )
        return None
    return f"unsupported scheme {scheme!r} (supported: {_SUPPORTED_URLS})"


_USERINFO_PASSWORD = re.compile(
    # scheme://user:PASSWORD@ -- the password runs to the *last* '@', so a password with
    # an unescaped '@' (or anything else) is still hidden whole; over-redacting is safe.
    r"^(?P<head>\s*[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*):(?P<password>.*)@",
    re.DOTALL,
)
_PARAM_PASSWORD = re.compile(
    # password=... in a query string or a libpq "key=value" string, quoted or not;
    # also matches sslpassword=.
    r"(?P<key>password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^&#\s]*)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``url`` with every password replaced by ``***``; sqlite URLs come back unchanged.

    ``postgresql://user:secret@host/db`` becomes ``postgresql://user:***@host/db``, and
    ``...?password=secret`` becomes ``...?password=***``.
    """
    if _scheme(url) == "sqlite":
        return url
    redacted = _USERINFO_PASSWORD.sub(r"\g<head>:***@", url, count=1)
    return _PARAM_PASSWORD.sub(r"\g<key>***", redacted)


#: What a password can be split at by a URL parser that reads it differently than meant
#: (an unescaped ``@`` or ``/`` in it): the driver may then quote a piece as a host name.
_URL_DELIMITERS = re.compile(r"[/@?#]")
#: Pieces of a split password shorter than this are not hidden on their own: hiding
#: every "a" of a message would make it unreadable and gives away little.
_MIN_PIECE = 3
_EMBEDDED_USERINFO = re.compile(
    # scheme://user:PASSWORD@ anywhere in a message (a driver echoing some URL).
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#\s]*):[^@\s]*@"
)
#: What a hidden secret is replaced by.
REDACTED: Final = "***"


def url_secrets(url: str) -> frozenset[str]:
    """Every text in which a driver could quote the password of ``url``.

    The password of the user-info part and of every ``password=`` (or
    ``sslpassword=``) parameter, each as written, percent-decoded and percent-encoded;
    for a password holding an unescaped URL delimiter (``/ @ ? #``), where a parser may
    split it and quote a piece as a host or port, also each piece of at least three
    characters in the same forms. Empty for sqlite URLs and URLs without a password.
    """
    if _scheme(url) == "sqlite":
        return frozenset()
    passwords: list[str] = []
    userinfo = _USERINFO_PASSWORD.match(url)
    if userinfo is not None:
        passwords.append(userinfo.group("password"))
    for param in _PARAM_PASSWORD.finditer(url):
        value = param.group("value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        passwords.append(value)
    found: set[str] = set()
    for password in passwords:
        candidates = {password}
        candidates.update(
            piece for piece in _URL_DELIMITERS.split(password) if len(piece) >= _MIN_PIECE
        )
        for text in candidates:
            decoded = unquote(text)
            found.update(
                (
                    text,
                    decoded,
                    unquote_plus(text),
                    quote(text, safe=""),
                    quote(decoded, safe=""),
                    quote_plus(decoded, safe=""),
                )
            )
    found.discard("")
    return frozenset(found)


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``secrets`` (longest first) and the
    password of any ``scheme://user:password@`` in it replaced by ``***``.

    Meant for messages that leave dbcron (errors, log records) whatever the driver put
    in them: with ``url_secrets(url)`` it hides that URL's password in every form.
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _EMBEDDED_USERINFO.sub(rf"\g<head>:{REDACTED}@", text)
    return text


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, None for any other scheme.

    ``sqlite:///dbcron.db`` gives ``Path("dbcron.db")``, relative to the working
    directory; ``sqlite:////var/lib/dbcron.db`` gives an absolute path. A leading ``~`` is
    expanded. A malformed sqlite URL raises :class:`ConfigError`.
    """
    if _scheme(url) != "sqlite":
        return None
    problem = url_problem(url)
    if problem is not None:
        raise ConfigError(f"database.url: {problem}")
    return Path(url.strip()[len("sqlite:///") :]).expanduser()


def parse_database_url(url: str) -> tuple[str, str]:
    """Split a database URL into ``("sqlite", path)`` or ``("postgresql", url)``.

    ``sqlite:///dbcron.db`` is relative to the working directory and
    ``sqlite:////var/lib/dbcron.db`` is absolute. Raises ConfigError for anything else,
    without quoting the URL (it may hold a password).
    """
    problem = url_problem(url)
    if problem is not None:
        raise ConfigError(f"database.url: {problem}")
    path = sqlite_path(url)
    if path is not None:
        return "sqlite", str(path)
    return "postgresql", url.strip()
