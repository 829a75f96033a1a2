"""Database URLs: which backend they name, and how to show them without secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

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
