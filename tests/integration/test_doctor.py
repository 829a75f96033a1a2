"""The doctor's checks on real databases where a subprocess cannot set the scene: a
transaction pooler in between, a host clock that is off, a schema behind or ahead of
this release, a job type whose handler cannot be imported."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dbcron.clock import Clock, SystemClock
from dbcron.config import load_settings
from dbcron.handlers.registry import BUILTIN_TYPES, HandlerRegistry, HandlerSpec
from dbcron.service.doctor import Check, CheckStatus, Doctor
from dbcron.store import Store, open_store
from dbcron.store.postgres import PostgresStore
from tests.support.pgbouncer import Bouncer


class ShiftedClock(SystemClock):
    """This host's clock, set ``offset`` off (as a host whose time is not synchronised)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


class Opened:
    """Opens the store the doctor asks for, and closes it after the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stores: list[Store] = []

    def __call__(self) -> Store:
        store = open_store(self.url, check_schema=False)
        self.stores.append(store)
        return store

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def opened() -> Iterator[list[Opened]]:
    made: list[Opened] = []
    yield made
    for each in made:
        each.close()


def diagnose(
    url: str,
    opened: list[Opened],
    tmp_path: Path,
    *,
    host_clock: Clock | None = None,
    registry: HandlerRegistry | None = None,
) -> dict[str, list[Check]]:
    opener = Opened(url)
    opened.append(opener)
    doctor = Doctor(
        lambda: load_settings(flags={"database.url": url}, environ={}, cwd=tmp_path),
        opener,
        host_clock=host_clock,
        registry=registry,
    )
    found: dict[str, list[Check]] = {}
    for check in doctor.run().checks:
        found.setdefault(check.name, []).append(check)
    return found


def test_listen_through_a_transaction_pooler(
    pg_url: str, bouncer: Bouncer, opened: list[Opened], tmp_path: Path
) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    [silent] = diagnose(bouncer.url_for(dbname, flagged=False), opened, tmp_path)["pooler"]
    assert silent.status is CheckStatus.WARN, silent
    assert silent.detail.startswith("through a pooler or proxy; LISTEN/NOTIFY does not deliver")
    assert "add dbcron_listen=off to the URL" in silent.detail
    # the probe left the doctor's store as it found it: LISTEN still to be decided
    store = opened[-1].stores[0]
    assert isinstance(store, PostgresStore)
    assert store.listen_enabled is None
    [off] = diagnose(bouncer.url_for(dbname), opened, tmp_path)["pooler"]
    assert off.status is CheckStatus.OK, off
    assert "LISTEN is off (dbcron_listen=off in the URL" in off.detail
    assert "polls for changes every 0.5 s" in off.detail
    [direct] = diagnose(pg_url, opened, tmp_path)["pooler"]
    assert direct.status is CheckStatus.OK, direct
    assert direct.detail.startswith("direct connection; LISTEN/NOTIFY works")
    assert direct.unit == "ms" and direct.value is not None


@pytest.mark.parametrize(
    ("offset", "status", "said"),
    [
        (timedelta(seconds=5), CheckStatus.WARN, "s ahead of the database's: "),
        (timedelta(seconds=-45), CheckStatus.FAIL, "s behind the database's, more than a lease"),
    ],
)
def test_clock_skew_against_the_database(
    pg_url: str,
    opened: list[Opened],
    tmp_path: Path,
    offset: timedelta,
    status: CheckStatus,
    said: str,
) -> None:
    checks = diagnose(pg_url, opened, tmp_path, host_clock=ShiftedClock(offset))
    [clock] = checks["clock"]
    assert clock.status is status, clock
    assert clock.detail.startswith("this host's clock is ") and said in clock.detail
    assert "due times and leases are compared on the database clock" in clock.detail
    assert clock.unit == "ms" and clock.value is not None
    assert abs(clock.value - offset.total_seconds() * 1000) < 500


def test_schema_behind_or_ahead_of_this_release(
    sqlite_url: str, opened: list[Opened], tmp_path: Path
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    with conn:
        latest = conn.execute("SELECT max(version) FROM dbcron_schema_version").fetchone()[0]
        conn.execute("DELETE FROM dbcron_schema_version WHERE version = ?", [latest])
    checks = diagnose(sqlite_url, opened, tmp_path)
    [schema] = checks["schema"]
    assert schema.status is CheckStatus.WARN, schema
    assert f"version {latest - 1}, this dbcron ships {latest}: run `dbcron migrate`" in (
        schema.detail
    )
    assert checks["jobs"][0].status is CheckStatus.OK  # an older schema still answers
    with conn:
        conn.execute(
            "INSERT INTO dbcron_schema_version VALUES (?, 'x', '2026-01-01T00:00:00Z'), "
            "(?, 'future', '2026-01-01T00:00:00Z')",
            [latest, latest + 1],
        )
    conn.close()
    checks = diagnose(sqlite_url, opened, tmp_path)
    [schema] = checks["schema"]
    assert schema.status is CheckStatus.FAIL, schema
    assert f"version {latest + 1} is newer than this dbcron understands ({latest})" in (
        schema.detail
    )
    assert checks["schedulers"][0].status is CheckStatus.SKIP
    assert checks["jobs"][0].status is CheckStatus.SKIP


def test_a_job_type_whose_handler_cannot_be_imported(
    sqlite_url: str, opened: list[Opened], tmp_path: Path
) -> None:
    registry = HandlerRegistry(
        (
            *BUILTIN_TYPES,
            HandlerSpec("fax", "Send a fax.", func_path="no_such_fax_package.send:run"),
        )
    )
    [handlers] = diagnose(sqlite_url, opened, tmp_path, registry=registry)["handlers"]
    assert handlers.status is CheckStatus.FAIL
    assert handlers.detail == (
        "job type 'fax' cannot be imported: cannot import 'no_such_fax_package.send:run': "
        "No module named 'no_such_fax_package'"
    )
