"""The database password never reaches the terminal, whatever the driver says.

libpq quotes a malformed part of a URL verbatim (``invalid percent-encoded token:
"s3cr%zzet"``), and a password with an unescaped ``@`` makes a piece of it part of the
host name it fails to resolve. The CLI runs as a real subprocess against the real test
server; every case must end in one ``error:`` line, no traceback, and no form of the
password (as written, percent-decoded or percent-encoded) on stdout or stderr.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from tests.acceptance.conftest import Cli


def _forms(secret: str) -> set[str]:
    return {secret, unquote(secret), quote(secret, safe=""), quote(unquote(secret), safe="")}


#: (what goes wrong, URL template, the secret that must not show, the CLI command).
#: ``{server}`` is the test server's host:port, ``{closed}`` a port nothing answers.
CASES = [
    (
        "malformed percent-encoding in the password",
        "postgresql://postgres:s3cr%zzet@{server}/x",
        "s3cr%zzet",
        ("list",),
    ),
    (
        "malformed password, scheduler start",
        "postgresql://postgres:s3cr%zzet@{server}/x",
        "s3cr%zzet",
        ("start",),
    ),
    (
        "malformed password, init",
        "postgresql://postgres:s3cr%zzet@{server}/x",
        "s3cr%zzet",
        ("init",),
    ),
    (
        "malformed password as a query parameter",
        "postgresql://postgres@{server}/x?password=s3cr%zzet",
        "s3cr%zzet",
        ("list",),
    ),
    (
        "a space in the password",
        "postgresql://postgres:s3cr etXY@{server}/x",
        "s3cr etXY",
        ("list",),
    ),
    (
        "malformed password and a bad port",
        "postgresql://postgres:s3cr%zzet@127.0.0.1:99999/x",
        "s3cr%zzet",
        ("list",),
    ),
    (
        "a port that is not a number",
        "postgresql://postgres:s3cret%21@127.0.0.1:abc/x",
        "s3cret%21",
        ("list",),
    ),
    (
        "malformed password and an unknown host",
        "postgresql://postgres:s3cr%zzet@nohost.invalid:5432/x",
        "s3cr%zzet",
        ("list",),
    ),
    (
        "an unescaped @ in the password: a piece becomes the host",
        "postgresql://postgres:pa@ss3cretXY@nohost.invalid/x",
        "ss3cretXY",
        ("list",),
    ),
    (
        "wrong password on a trust server, missing database",
        "postgresql://postgres:wr0ng%25s3cret@{server}/no_such_database",
        "wr0ng%25s3cret",
        ("list",),
    ),
    (
        "wrong password on a trust server, no dbcron tables",
        "postgresql://postgres:wr0ng%25s3cret@{server}/postgres",
        "wr0ng%25s3cret",
        ("list",),
    ),
    (
        "nothing listening",
        "postgresql://postgres:s3cr%zzet@127.0.0.1:{closed}/x",
        "s3cr%zzet",
        ("list",),
    ),
]


@pytest.mark.parametrize(("why", "template", "secret", "command"), CASES, ids=[c[0] for c in CASES])
def test_the_password_never_reaches_the_terminal(
    why: str,
    template: str,
    secret: str,
    command: tuple[str, ...],
    pg_admin_url: str,
    tmp_path: Path,
    hermetic_env: dict[str, str],
) -> None:
    server = urlsplit(pg_admin_url)
    url = template.format(server=f"{server.hostname}:{server.port or 5432}", closed=1)
    result = Cli(url=url, cwd=tmp_path, env=hermetic_env)(*command)
    assert result.code in (1, 2), (why, result)
    for form in _forms(secret):
        assert form not in result.err, (why, form, result.err)
        assert form not in result.out, (why, form, result.out)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, (why, result.err)
    assert lines[0].startswith("error: ")
