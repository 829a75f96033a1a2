"""Shared fixtures: real SQLite files and real PostgreSQL databases.

Every PostgreSQL database a test uses is created by this run and dropped at its end.
The PostgreSQL tests never skip: without a server they fail, telling how to get one
(``make test`` finds or starts one).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dbcron.store import Store, open_store
from tests.support.pgbouncer import Bouncer, start_bouncer
from tests.support.pgserver import DEFAULT_URL, answers

BACKENDS = ["sqlite", "postgres"]
#: The backends of the store-level suites: PostgreSQL also through PgBouncer
#: (transaction mode), as through Supabase's transaction pooler.
STORE_BACKENDS = [*BACKENDS, "pgbouncer"]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of a PostgreSQL database with the right to create databases."""
    url = os.environ.get("DBCRON_TEST_PG_URL", DEFAULT_URL)
    if not answers(url):
        pytest.fail(
            f"no PostgreSQL answers at {url}: run the suite with `make test`, which finds or "
            "starts a server, or set DBCRON_TEST_PG_URL"
        )
    return url


def _with_dbname(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


@pytest.fixture(scope="session")
def make_pg_database(pg_admin_url: str) -> Iterator[Callable[[], str]]:
    """A factory of new empty PostgreSQL databases, all dropped when the run ends."""
    created: list[str] = []

    def make() -> str:
        name = f"dbcron_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_dbname(pg_admin_url, name)

    yield make
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(make_pg_database: Callable[[], str]) -> str:
    """One migrated PostgreSQL database shared by the run (tables emptied per test)."""
    url = make_pg_database()
    store = open_store(url, check_schema=False)
    store.migrate()
    store.close()
    return url


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE job_executions, jobs, scheduler_nodes, papers CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a new, migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'dbcron.db'}"
    store = open_store(url, create=True, check_schema=False)
    store.migrate()
    store.close()
    return url


@pytest.fixture(scope="session")
def bouncer(pg_admin_url: str) -> Iterator[Bouncer]:
    """A PgBouncer in transaction mode in front of the test server."""
    running = start_bouncer(pg_admin_url)
    yield running
    running.stop()


@pytest.fixture(params=STORE_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend in turn (PostgreSQL directly and
    through PgBouncer)."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("pg_url")
    _truncate(url)
    if request.param == "pgbouncer":
        bouncer: Bouncer = request.getfixturevalue("bouncer")
        return bouncer.url_for(url.rsplit("/", 1)[1])
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open store on each backend in turn."""
    opened = open_store(db_url)
    yield opened
    opened.close()
