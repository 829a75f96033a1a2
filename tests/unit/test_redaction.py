"""Hiding the database password from every message: the forms a driver may quote it in,
and the errors and psycopg log records that leave the PostgreSQL store (no server
needed: these URLs fail before any connection is made)."""

from __future__ import annotations

import logging
import traceback

import pytest

from dbcron.errors import ConfigError, DatabaseUnavailableError, DbcronError
from dbcron.store import open_store
from dbcron.urls import redact_secrets, url_secrets


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:s3cret@h/db", {"s3cret"}),
        ("postgresql://u:s3cr%zzet@h/db", {"s3cr%zzet", "s3cr%25zzet"}),
        ("postgresql://u:s3cr%25et@h/db", {"s3cr%25et", "s3cr%et", "s3cr%2525et"}),
        ("postgres://u:a%20b%2Fc@h:6543/db", {"a%20b%2Fc", "a b/c", "a%2520b%252Fc"}),
        ("postgresql://u@h/db?sslmode=require&password=p%41ss", {"p%41ss", "pAss"}),
        ("postgresql://u@h/db?password='quoted pw'", {"quoted pw", "quoted%20pw"}),
        ("postgresql://u:pa@ss3cret@h/db", {"pa@ss3cret", "pa%40ss3cret", "ss3cret"}),
        ("postgresql://u:pa/ss3cret@h/db", {"pa/ss3cret", "pa%2Fss3cret", "ss3cret"}),
    ],
)
def test_url_secrets_cover_every_form_of_the_password(url: str, expected: set[str]) -> None:
    secrets = url_secrets(url)
    assert expected <= secrets
    assert "" not in secrets
    assert "u" not in secrets and "h" not in secrets and "db" not in secrets


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h/db",
        "postgresql://h/db",
        "sqlite:///tmp/dbcron.db",
        "sqlite:///tmp/pass:word@dbcron.db",
        "not a url",
    ],
)
def test_url_secrets_are_empty_without_a_password(url: str) -> None:
    assert url_secrets(url) == frozenset()


def test_short_pieces_of_a_split_password_are_not_hidden_alone() -> None:
    # "pa" would blank every "pa" of every message; the whole password still is hidden
    assert "pa" not in url_secrets("postgresql://u:pa@ss3cret@h/db")


def test_redact_secrets_hides_every_form_longest_first() -> None:
    url = "postgresql://postgres:s3cr%25et@127.0.0.1/x"
    text = (
        'invalid percent-encoded token: "s3cr%25et"; decoded s3cr%et; '
        "encoded s3cr%2525et; at postgresql://other:pw@host/db"
    )
    clean = redact_secrets(text, url_secrets(url))
    assert clean == (
        'invalid percent-encoded token: "***"; decoded ***; '
        "encoded ***; at postgresql://other:***@host/db"
    )


def test_redact_secrets_leaves_clean_text_alone() -> None:
    text = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    assert redact_secrets(text, url_secrets("postgresql://u:s3cret@h/db")) == text
    assert redact_secrets(text, ()) == text


MALFORMED = [
    # libpq cannot parse these: a URL problem, not an unreachable database
    ("postgresql://postgres:s3cr%zzet@127.0.0.1:1/x", "s3cr%zzet", ConfigError),
    ("postgresql://postgres@127.0.0.1:1/x?password=s3cr%zzet", "s3cr%zzet", ConfigError),
    ("postgresql://postgres:s3cr etXY@127.0.0.1:1/x", "s3cr etXY", ConfigError),
    # a piece of the password becomes the host name that cannot be resolved
    (
        "postgresql://postgres:pa@ss3cretXY@nohost.invalid/x",
        "ss3cretXY",
        DatabaseUnavailableError,
    ),
]


@pytest.mark.parametrize(("url", "secret", "kind"), MALFORMED)
def test_store_errors_and_their_tracebacks_hold_no_password(
    url: str, secret: str, kind: type[DbcronError]
) -> None:
    with pytest.raises(kind) as caught:
        open_store(url)
    error = caught.value
    assert "postgresql://postgres" in str(error)
    shown = "".join(traceback.format_exception(error))
    assert error.__cause__ is not None  # the driver's error is still chained
    for form in url_secrets(url) | {secret}:
        assert form not in shown, form


def test_psycopg_log_records_hold_no_password(caplog: pytest.LogCaptureFixture) -> None:
    url = "postgresql://postgres:s3cr%zzet@127.0.0.1:1/x"
    with pytest.raises(ConfigError):
        open_store(url)  # a store was opened with this URL: its password is known
    driver_says = 'invalid percent-encoded token: "s3cr%zzet"'
    try:
        raise ValueError(driver_says)  # (a traceback shows this line, not the text)
    except ValueError as exc:
        problem = exc
    with caplog.at_level(logging.INFO):
        # what psycopg_pool logs when a connection attempt fails
        logging.getLogger("psycopg.pool").warning(
            "error connecting in %r: %s", "dbcron", driver_says
        )
        logging.getLogger("psycopg").warning("attempt failed", exc_info=problem)
        logging.getLogger("psycopg_pool.sched").warning("task failed: s3cr%25zzet")
    assert len(caplog.records) == 3
    assert "s3cr" not in caplog.text
    assert "***" in caplog.records[0].getMessage()
    assert "error connecting in 'dbcron'" in caplog.records[0].getMessage()
