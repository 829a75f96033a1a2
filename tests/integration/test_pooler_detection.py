"""A transaction-mode pooler that the URL does not announce (a real PgBouncer on a port
other than 6543, without ``dbcron_listen=off``): dbcron finds out by itself, polls
instead of trusting a LISTEN that never delivers, and uses no server-side prepared
statements through it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from dbcron.manager import JobManager
from dbcron.models import Execution, Job
from dbcron.store import open_store
from dbcron.store.postgres import PostgresStore
from tests.support.engine import make_scheduler, running
from tests.support.pgbouncer import Bouncer
from tests.support.waiting import wait_for

#: What psycopg's errors say when a prepared statement met another server session:
#: 'prepared statement "_pg3_0" does not exist' or '... already exists'.
PREPARED_STATEMENT_TROUBLE = ('prepared statement "', "_pg3_")


@pytest.fixture
def direct_url(make_pg_database: Callable[[], str]) -> str:
    """A new migrated database, reached directly."""
    url = make_pg_database()
    store = open_store(url, check_schema=False)
    store.migrate()
    store.close()
    return url


@pytest.fixture
def pooled_url(direct_url: str, bouncer: Bouncer) -> str:
    """The same database through PgBouncer in transaction mode, unannounced."""
    url = bouncer.url_for(direct_url.rsplit("/", 1)[1], flagged=False)
    assert "dbcron_listen" not in url and ":6543/" not in url
    return url


@contextmanager
def opened(url: str) -> Iterator[PostgresStore]:
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    try:
        yield store
    finally:
        store.close()


def noop_job(manager: JobManager) -> Job:
    return manager.create_job(
        Job(
            name="noop",
            job_type="python",
            schedule_expression="0 0 1 1 *",
            config={"callable": "tests.support.handlers:noop", "kwargs": {}},
            retry_count=0,
            timeout_seconds=30,
        )
    )


def prepared_statement_trouble(records: list[logging.LogRecord]) -> list[str]:
    return [
        r.getMessage()
        for r in records
        if any(mark in r.getMessage() for mark in PREPARED_STATEMENT_TROUBLE)
    ]


def test_listen_through_an_unannounced_transaction_pooler_falls_back_to_polling(
    pooled_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with opened(pooled_url) as store, caplog.at_level(logging.WARNING):
        began = time.monotonic()
        stopper = store.listen(lambda: None)
        took = time.monotonic() - began
        assert stopper is None, "LISTEN through a transaction pooler never delivers"
        assert took < 5
        warnings = [r for r in caplog.records if "LISTEN" in r.getMessage()]
        assert len(warnings) == 1
        assert warnings[0].levelno == logging.WARNING
        assert "pooler" in warnings[0].getMessage()
        assert not store.listen_supported
        assert not store.prepared_statements
        # decided once: no second probe, no second warning
        assert store.listen(lambda: None) is None
        assert len([r for r in caplog.records if "LISTEN" in r.getMessage()]) == 1


def test_listen_on_a_direct_connection_still_listens(direct_url: str) -> None:
    woke = threading.Event()
    with opened(direct_url) as store, opened(direct_url) as other:
        assert store.prepared_statements
        stopper = store.listen(woke.set)
        assert stopper is not None
        try:
            assert woke.wait(5)  # the first call, for changes made before listening
            woke.clear()
            JobManager(other).trigger_job(noop_job(JobManager(other)).job_id)
            assert woke.wait(5), "the NOTIFY of another connection did not arrive"
        finally:
            stopper()
        assert store.prepared_statements


def test_scheduler_through_an_unannounced_pooler_starts_manual_triggers_at_once(
    pooled_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with opened(pooled_url) as store:
        job = noop_job(JobManager(store))
        with running(
            make_scheduler(store, pooled_url, max_workers=2, check_interval_seconds=60)
        ) as scheduler:
            for _ in range(3):
                # as the CLI would: another process, another connection
                with opened(pooled_url) as other:
                    execution = JobManager(other).trigger_job(job.job_id)

                def done(wanted: Execution = execution) -> Execution | None:
                    found = store.get_execution(wanted.execution_id)
                    return found if found is not None and found.status.is_final else None

                finished = wait_for(done, 10, what="the triggered run")
                assert finished.started_at is not None and execution.created_at is not None
                assert finished.started_at - execution.created_at < timedelta(seconds=2)
            assert scheduler.stats["completed"] == 3
    assert prepared_statement_trouble(caplog.records) == []
    found = [r for r in caplog.records if "LISTEN does not work" in r.getMessage()]
    assert [r.levelno for r in found] == [logging.WARNING]


def test_many_queries_through_an_unannounced_pooler_need_no_prepared_statements(
    pooled_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    errors: list[BaseException] = []
    with opened(pooled_url) as store:  # no listen(): as the CLI or a JobManager
        assert not store.prepared_statements
        manager = JobManager(store)
        job = noop_job(manager)
        manager.trigger_job(job.job_id)

        def work() -> None:
            for _ in range(40):
                try:
                    manager.get_job(job.job_id)
                    store.list_executions(job_id=job.job_id, limit=5)
                    store.database_now()
                except Exception as exc:  # every failure is the finding
                    errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads)
    assert [str(e) for e in errors] == []
    assert prepared_statement_trouble(caplog.records) == []
