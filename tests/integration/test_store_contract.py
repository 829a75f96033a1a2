"""The Store contract, run over every backend (SQLite file and PostgreSQL database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbcron.errors import ConflictError, NotFoundError, StoreError, ValidationError
from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    JobOrder,
    JobQuery,
    JobStatus,
    JobTableQuery,
    JobTableSort,
    MisfirePolicy,
    OverlapPolicy,
    RetryBackoff,
    Trigger,
)
from dbcron.store import Store

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def make_job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "name": "nightly",
        "job_type": "shell",
        "schedule_expression": "0 9 * * *",
        "config": {"command": ["echo", "hi"]},
        "created_at": T0,
        "updated_at": T0,
        "next_execution": T0 + timedelta(days=1),
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.schema_version() == store.latest_version()
    assert store.migrate() == []
    assert store.schema_version() == store.latest_version()


def test_job_round_trip_keeps_every_field(store: Store) -> None:
    job = make_job(
        description="Ünïcode ✓",
        config={"keywords": ["AI", "ML"], "nested": {"n": 1.5, "none": None}},
        timeout_seconds=60,
        retry_count=2,
        retry_delay_seconds=5,
        timezone="Europe/London",
        misfire_policy=MisfirePolicy.RUN_ALL,
        catchup_window_seconds=120,
        max_concurrency=3,
        overlap_policy=OverlapPolicy.QUEUE,
        priority=7,
        retry_backoff=RetryBackoff.EXPONENTIAL,
        last_execution=T0 - timedelta(microseconds=1),
        key="nightly.v2_x",
    )
    stored = store.insert_job(job)
    assert stored.version == 1
    loaded = store.get_job(job.job_id)
    assert loaded == stored
    assert loaded.created_at is not None and loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_timestamps_in_other_zones_are_stored_as_the_same_instant(store: Store) -> None:
    from zoneinfo import ZoneInfo

    local = T0.astimezone(ZoneInfo("America/New_York"))
    job = store.insert_job(make_job(next_execution=local))
    loaded = store.get_job(job.job_id)
    assert loaded is not None
    assert loaded.next_execution == T0


def test_insert_duplicate_id_conflicts(store: Store) -> None:
    job = store.insert_job(make_job())
    with pytest.raises(ConflictError, match="already exists"):
        store.insert_job(make_job(job_id=job.job_id, name="other"))
    assert store.get_job(job.job_id) == job


def test_get_missing_job_is_none(store: Store) -> None:
    assert store.get_job("00000000-0000-0000-0000-000000000000") is None


def test_find_job_ids_by_prefix(store: Store) -> None:
    a = store.insert_job(make_job(job_id="abc00000-0000-0000-0000-000000000001"))
    b = store.insert_job(make_job(job_id="abc00000-0000-0000-0000-000000000002"))
    store.insert_job(make_job(job_id="def00000-0000-0000-0000-000000000003"))
    assert store.find_job_ids("abc") == [a.job_id, b.job_id]
    assert store.find_job_ids(a.job_id) == [a.job_id]
    assert store.find_job_ids("abc", limit=1) == [a.job_id]
    assert store.find_job_ids("fff") == []


@pytest.mark.parametrize("prefix", ["%", "a_c", "ABC' OR 1=1 --", "", "x" * 40])
def test_find_job_ids_refuses_patterns(store: Store, prefix: str) -> None:
    with pytest.raises(ValidationError):
        store.find_job_ids(prefix)


def test_update_bumps_version_and_detects_conflicts(store: Store) -> None:
    job = store.insert_job(make_job())
    renamed = store.update_job(job.with_changes(name="renamed"), expected_version=1)
    assert renamed.version == 2
    assert store.get_job(job.job_id) == renamed
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.update_job(job.with_changes(name="stale"), expected_version=1)
    stored = store.get_job(job.job_id)
    assert stored is not None and stored.name == "renamed"


def test_update_missing_job_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.update_job(make_job(), expected_version=1)


def test_list_jobs_filters_and_hides_deleted(store: Store) -> None:
    a = store.insert_job(make_job(name="a", created_at=T0))
    b = store.insert_job(
        make_job(name="b", created_at=T0 + timedelta(seconds=1), job_type="http", config={})
    )
    c = store.insert_job(
        make_job(name="c", created_at=T0 + timedelta(seconds=2), status=JobStatus.PAUSED)
    )
    d = store.insert_job(
        make_job(name="d", created_at=T0 + timedelta(seconds=3), status=JobStatus.DELETED)
    )
    assert [j.name for j in store.list_jobs()] == ["a", "b", "c"]
    assert store.list_jobs(status=JobStatus.DELETED) == [d]
    assert store.list_jobs(status=JobStatus.PAUSED) == [c]
    assert store.list_jobs(job_type="http") == [b]
    assert store.list_jobs(status=JobStatus.ACTIVE, job_type="shell") == [a]


def test_search_jobs_filters_sorts_and_pages_by_keyset(store: Store) -> None:
    specs = [("Beta fetch", 3, 2), ("alpha FETCH", 1, None), ("gamma", 2, 1), ("Delta fetch", 0, 0)]
    made = {
        name: store.insert_job(
            make_job(
                name=name,
                created_at=T0 + timedelta(seconds=created),
                status=JobStatus.ACTIVE if nxt is not None else JobStatus.PAUSED,
                next_execution=None if nxt is None else T0 + timedelta(hours=nxt),
            )
        )
        for name, created, nxt in specs
    }
    fetch = ["Beta fetch", "alpha FETCH", "Delta fetch"]

    def names(order: JobOrder, limit: int = 10, after: str | None = None) -> list[str]:
        query = JobQuery(name_contains="fetch", order=order)
        return [j.name for j in store.search_jobs(query, limit=limit, after=after)]

    assert names(JobOrder.CREATED) == ["Delta fetch", "alpha FETCH", "Beta fetch"]
    assert names(JobOrder.NEXT_RUN) == ["Delta fetch", "Beta fetch", "alpha FETCH"]
    by_name = names(JobOrder.NAME)
    assert sorted(by_name) == sorted(fetch)
    for order in JobOrder:
        whole = names(order)
        first = names(order, limit=2)
        rest = names(order, after=made[first[-1]].job_id)
        assert first + rest == whole
        assert names(order, after="no-such-job") == []
    paused = store.search_jobs(JobQuery(status=JobStatus.PAUSED), limit=10)
    assert [j.name for j in paused] == ["alpha FETCH"]


def _table_key(sort: JobTableSort, job: Job) -> tuple[object, ...]:
    """The jobs table's order, spelled out in Python (the SQL must agree)."""
    far_future, far_past = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    name = job.name.lower()
    if sort is JobTableSort.TYPE:
        return (job.job_type, name, job.job_id)
    if sort is JobTableSort.STATUS:
        return (job.status.value, name, job.job_id)
    if sort is JobTableSort.NEXT:
        return (job.next_execution or far_future, name, job.job_id)
    if sort is JobTableSort.LAST:
        return (-((job.last_execution or far_past) - far_past).total_seconds(), name, job.job_id)
    return (name, job.job_id)


def test_table_jobs_searches_sorts_and_counts_in_the_database(store: Store) -> None:
    specs = [
        ("Beta fetch", "shell", JobStatus.ACTIVE, 3, 2, "nightly"),
        ("alpha FETCH", "http", JobStatus.PAUSED, None, None, None),
        ("gamma", "python", JobStatus.ACTIVE, 2, 5, "fetches the gamma feed"),
        ("Delta", "shell", JobStatus.ACTIVE, None, 1, None),
        ("epsilon", "http", JobStatus.INACTIVE, 1, None, None),
        ("zeta", "shell", JobStatus.DELETED, 4, 4, "fetch"),
    ]
    made = [
        store.insert_job(
            make_job(
                name=name,
                job_type=kind,
                config={"command": "true"} if kind == "shell" else {"url": "http://x"},
                status=status,
                next_execution=None if nxt is None else T0 + timedelta(hours=nxt),
                last_execution=None if last is None else T0 - timedelta(hours=last),
                description=about,
            )
        )
        for name, kind, status, nxt, last, about in specs
    ]
    shown = [job for job in made if job.status is not JobStatus.DELETED]
    for sort in JobTableSort:
        for descending in (False, True):
            query = JobTableQuery(sort=sort, descending=descending)
            jobs, matched = store.table_jobs(query, limit=10)
            want = sorted(shown, key=lambda j: _table_key(sort, j), reverse=descending)
            assert [j.name for j in jobs] == [j.name for j in want], (sort, descending)
            assert matched == 5
            first, matched = store.table_jobs(query, limit=2)
            assert [j.name for j in first] == [j.name for j in want[:2]] and matched == 5
    # the search looks at name, key, type, description (any case) and the id's start
    found, matched = store.table_jobs(JobTableQuery(search="fetch"), limit=10)
    assert [j.name for j in found] == ["alpha FETCH", "Beta fetch", "gamma"] and matched == 3
    assert [j.name for j in store.table_jobs(JobTableQuery(search="http"), limit=10)[0]] == [
        "alpha FETCH",
        "epsilon",
    ]
    prefix = made[3].job_id[:8]
    assert [j.name for j in store.table_jobs(JobTableQuery(search=prefix), limit=10)[0]] == [
        "Delta"
    ]
    deleted = JobTableQuery(search="fetch", status=JobStatus.DELETED)
    assert [j.name for j in store.table_jobs(deleted, limit=10)[0]] == ["zeta"]
    assert store.table_jobs(JobTableQuery(search="no such text"), limit=10) == ([], 0)


def test_list_executions_filters_by_trigger_and_creation_time(store: Store) -> None:
    job = store.insert_job(make_job())
    rows = [
        Execution(
            job_id=job.job_id,
            scheduled_for=T0 + timedelta(minutes=i),
            created_at=T0 + timedelta(minutes=i),
            trigger=Trigger.MANUAL if i % 2 else Trigger.SCHEDULE,
            status=ExecutionStatus.SUCCESS,
        )
        for i in range(6)
    ]
    store.insert_executions(rows)
    minute = timedelta(minutes=1)

    def ids(job_id: str | None = None, **filters: object) -> list[str]:
        found = store.list_executions(job_id, limit=50, **filters)  # type: ignore[arg-type]
        return [e.execution_id for e in found]

    newest_first = [r.execution_id for r in reversed(rows)]
    for of in (None, job.job_id):
        assert ids(of, trigger=Trigger.MANUAL) == newest_first[0::2]
        assert ids(of, since=T0 + 2 * minute, until=T0 + 4 * minute) == newest_first[2:4]
        assert ids(of, until=T0) == []
        assert ids(of, trigger=Trigger.RETRY) == []
        below = store.list_executions(of, limit=50, before=newest_first[0], since=T0 + 3 * minute)
        assert [e.execution_id for e in below] == newest_first[1:3]


def test_due_jobs_are_active_and_due_earliest_first(store: Store) -> None:
    late = store.insert_job(make_job(name="late", next_execution=T0 - timedelta(minutes=1)))
    early = store.insert_job(make_job(name="early", next_execution=T0 - timedelta(minutes=5)))
    store.insert_job(make_job(name="now", next_execution=T0 + timedelta(microseconds=1)))
    store.insert_job(
        make_job(name="paused", status=JobStatus.PAUSED, next_execution=T0 - timedelta(hours=1))
    )
    store.insert_job(make_job(name="never", next_execution=None))
    assert [j.job_id for j in store.due_jobs(T0)] == [early.job_id, late.job_id]
    assert [j.job_id for j in store.due_jobs(T0, limit=1)] == [early.job_id]


def make_execution(job_id: str, **overrides: object) -> Execution:
    values: dict[str, object] = {"job_id": job_id, "scheduled_for": T0, "created_at": T0}
    values.update(overrides)
    return Execution(**values)  # type: ignore[arg-type]


def test_execution_round_trip(store: Store) -> None:
    job = store.insert_job(make_job())
    execution = make_execution(
        job.job_id,
        status=ExecutionStatus.SUCCESS,
        trigger=Trigger.MANUAL,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        duration_seconds=2.0,
        result={"papers": 3, "list": [1, "two"]},
        error_message=None,
        logs="line 1\nline 2",
        node_id="node-a",
        fencing_token=4,
    )
    store.insert_execution(execution)
    loaded = store.get_execution(execution.execution_id)
    assert loaded == execution.with_changes(run_after=T0)


def test_a_fire_cannot_be_recorded_twice(store: Store) -> None:
    job = store.insert_job(make_job())
    store.insert_execution(make_execution(job.job_id))
    with pytest.raises(ConflictError, match="already has an execution"):
        store.insert_execution(make_execution(job.job_id))
    store.insert_execution(make_execution(job.job_id, retry_attempt=1, trigger=Trigger.RETRY))
    assert len(store.list_executions(job_id=job.job_id)) == 2


def test_execution_needs_an_existing_job(store: Store) -> None:
    with pytest.raises(StoreError):
        store.insert_execution(make_execution("00000000-0000-0000-0000-00000000dead"))


def test_list_executions_newest_first_with_filters(store: Store) -> None:
    job = store.insert_job(make_job())
    other = store.insert_job(make_job(name="other"))
    for minute in range(5):
        at = T0 + timedelta(minutes=minute)
        status = ExecutionStatus.FAILED if minute % 2 else ExecutionStatus.SUCCESS
        store.insert_execution(
            make_execution(job.job_id, scheduled_for=at, created_at=at, status=status)
        )
    store.insert_execution(make_execution(other.job_id))
    history = store.list_executions(job_id=job.job_id)
    assert [e.scheduled_for.minute for e in history] == [4, 3, 2, 1, 0]
    assert len(store.list_executions(job_id=job.job_id, limit=2)) == 2
    failed = store.list_executions(job_id=job.job_id, status=ExecutionStatus.FAILED)
    assert [e.scheduled_for.minute for e in failed] == [3, 1]
    assert len(store.list_executions()) == 6


def test_job_stats(store: Store) -> None:
    job = store.insert_job(make_job())
    outcomes = [
        (ExecutionStatus.SUCCESS, 1.0),
        (ExecutionStatus.SUCCESS, 3.0),
        (ExecutionStatus.FAILED, 2.0),
        (ExecutionStatus.TIMEOUT, 10.0),
        (ExecutionStatus.MISSED, None),
        (ExecutionStatus.PENDING, None),
    ]
    for minute, (status, duration) in enumerate(outcomes):
        at = T0 + timedelta(minutes=minute)
        store.insert_execution(
            make_execution(
                job.job_id,
                scheduled_for=at,
                created_at=at,
                status=status,
                duration_seconds=duration,
            )
        )
    old = T0 - timedelta(days=2)
    store.insert_execution(
        make_execution(job.job_id, scheduled_for=old, created_at=old, status=ExecutionStatus.FAILED)
    )
    stats = store.job_stats(T0 - timedelta(hours=1), job.job_id)
    assert (stats.success, stats.failed, stats.timeout, stats.missed, stats.pending) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert stats.runs == 4  # the missed fire and the pending run did not run
    assert stats.mean_duration == pytest.approx(4.0)
    assert stats.p95_duration == pytest.approx(10.0)
    assert stats.success_rate == pytest.approx(0.5)
    assert store.job_stats(T0 - timedelta(days=3)).failed == 2


def test_last_results_are_each_jobs_newest_ended_execution(store: Store) -> None:
    ran = store.insert_job(make_job(name="ran"))
    never = store.insert_job(make_job(name="never"))
    for minute, status in enumerate(
        [ExecutionStatus.SUCCESS, ExecutionStatus.FAILED, ExecutionStatus.MISSED]
    ):
        at = T0 + timedelta(minutes=minute)
        store.insert_execution(
            make_execution(ran.job_id, scheduled_for=at, created_at=at, status=status)
        )
    later = T0 + timedelta(minutes=9)
    store.insert_execution(make_execution(ran.job_id, scheduled_for=later, created_at=later))
    store.insert_execution(make_execution(never.job_id, status=ExecutionStatus.PENDING))
    last = store.last_results([ran.job_id, never.job_id, "no-such-job"])
    assert list(last) == [ran.job_id]
    assert last[ran.job_id].status is ExecutionStatus.FAILED
    assert store.last_results([]) == {}


def test_purge_removes_job_and_history(store: Store) -> None:
    job = store.insert_job(make_job())
    store.insert_execution(make_execution(job.job_id))
    assert store.purge_job(job.job_id) is True
    assert store.get_job(job.job_id) is None
    assert store.list_executions(job_id=job.job_id) == []
    assert store.purge_job(job.job_id) is False


def test_schema_rejects_unknown_states(store: Store) -> None:
    job = store.insert_job(make_job())
    for table, column, key in (
        ("jobs", "status", "job_id"),
        ("jobs", "misfire_policy", "job_id"),
        ("jobs", "overlap_policy", "job_id"),
    ):
        placeholder = ":v" if store.backend == "sqlite" else "%(v)s"
        sql = f"UPDATE {table} SET {column} = 'bogus' WHERE {key} = {placeholder}"
        with pytest.raises(StoreError):
            _execute(store, sql, {"v": job.job_id})
    assert store.get_job(job.job_id) == job


def test_nodes_start_empty(store: Store) -> None:
    assert store.list_nodes() == []


def _execute(store: Store, sql: str, params: dict[str, object]) -> None:
    with store.transaction() as cur:  # type: ignore[attr-defined]
        cur.execute(sql, params)


def test_libpq_parameters_in_the_url_are_honoured(pg_url: str) -> None:
    from dbcron.store import open_store as open_

    url = f"{pg_url}?sslmode=disable&application_name=dbcron-contract&connect_timeout=3"
    store = open_(url)
    try:
        with store.transaction() as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT current_setting('application_name') AS name", {})
            assert cur.fetchone()["name"] == "dbcron-contract"
    finally:
        store.close()


def test_postgres_text_array_literals_round_trip(pg_url: str) -> None:
    """Ids are bound as one text[] literal: quoting must survive any character."""
    import psycopg

    from dbcron.store.postgres_values import _text_array

    items = ["plain", 'with "quotes"', "back\\slash", "comma,brace}{", "", "NULL", "é ü"]
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT %s::text[]", (_text_array(items),)).fetchone()
        assert row is not None and row[0] == items
        empty = conn.execute("SELECT %s::text[]", (_text_array([]),)).fetchone()
        assert empty is not None and empty[0] == []


def test_completion_with_a_nul_character_in_its_logs_is_stored(store: Store) -> None:
    """A handler may print NUL bytes or return them in its result; PostgreSQL refuses
    them in text and jsonb, so they are replaced instead of failing (and blocking) the
    whole batch of completions."""
    from dbcron.models import Outcome

    now = datetime.now(UTC)
    job = store.insert_job(
        Job(
            name="nul",
            job_type="shell",
            schedule_expression="@daily",
            created_at=now,
            updated_at=now,
        )
    )
    store.insert_execution(Execution(job_id=job.job_id, scheduled_for=now, created_at=now))
    [(execution, _)] = store.acquire(now, "n", now + timedelta(seconds=30), 1)
    outcome = Outcome(
        execution.execution_id,
        job.job_id,
        execution.fencing_token,
        ExecutionStatus.SUCCESS,
        now,
        0.1,
        result={"ok": True, "text": "a\x00b"},
        logs="before\x00after",
    )
    assert store.complete([outcome]) == {execution.execution_id}
    stored = store.get_execution(execution.execution_id)
    assert stored is not None and stored.status is ExecutionStatus.SUCCESS
    assert stored.logs is not None and stored.logs.startswith("before")
    assert stored.logs.endswith("after") and stored.result is not None
    assert stored.result["ok"] is True and stored.result["text"] in ("a\x00b", "a\ufffdb")


def test_capabilities_say_what_the_backend_offers(store: Store) -> None:
    caps = store.capabilities()
    assert store.capabilities() == caps
    assert caps.papers is not None
    assert caps.maintenance is not None
    assert caps.diagnostics is not None
    caps.diagnostics.ping()
    if store.backend == "sqlite":
        assert caps.diagnostics.journal_mode() == "wal"
        assert caps.diagnostics.row_security(["jobs"], ["anon"]) is None
        assert caps.change_feed is None
        assert caps.commit_counter is not None
        before = caps.commit_counter.data_version()
        assert caps.commit_counter.data_version() == before  # no commit elsewhere
    else:
        assert caps.diagnostics.journal_mode() is None
        secured = caps.diagnostics.row_security(["jobs", "no_such_table"], ["no_such_role"])
        assert secured is not None and secured.roles == []
        assert [(t.table, t.row_security, t.privileges) for t in secured.tables] == [
            ("jobs", True, {})
        ]
        assert caps.change_feed is not None
        assert caps.commit_counter is None


def test_cancel_execution_ends_pending_and_running_rows_once(store: Store) -> None:
    from dbcron.models import Outcome

    now = datetime.now(UTC)
    job = store.insert_job(make_job(name="cancel me", retry_count=3))
    queued = store.insert_execution(Execution(job_id=job.job_id, scheduled_for=now, created_at=now))
    started = store.insert_execution(
        Execution(job_id=job.job_id, scheduled_for=now - timedelta(minutes=1), created_at=now)
    )
    [(running, _)] = store.acquire(now, "node-a", now + timedelta(seconds=30), 1)
    assert running.execution_id == started.execution_id
    assert store.not_running_on_node("node-a", [running.execution_id]) == {}

    before, after = store.cancel_execution(queued.execution_id, now, "cancelled by me")
    assert before is not None and before.status is ExecutionStatus.PENDING
    assert after is not None and after.status is ExecutionStatus.CANCELLED

    later = now + timedelta(seconds=4)
    before, after = store.cancel_execution(running.execution_id, later, "cancelled: why")
    assert before is not None and before.status is ExecutionStatus.RUNNING
    assert after == store.get_execution(running.execution_id)
    assert after is not None and after.status is ExecutionStatus.CANCELLED
    assert after.error_message == "cancelled: why" and after.finished_at == later
    assert after.duration_seconds is not None and after.duration_seconds >= 0
    assert after.lease_expires_at is None and after.node_id == "node-a"
    # its node learns that it must stop the run; the late completion is rejected and
    # inserts no retry
    assert store.not_running_on_node("node-a", [running.execution_id, "other"]) == {
        running.execution_id: ExecutionStatus.CANCELLED
    }
    late = Outcome(
        running.execution_id, job.job_id, running.fencing_token, ExecutionStatus.FAILED, later, 1.0
    )
    assert store.complete([late]) == set()
    # a second cancel finds it ended and changes nothing; an unknown id is (None, None)
    again, same = store.cancel_execution(running.execution_id, later, "twice")
    assert again == same == after
    assert store.cancel_execution("no-such-id", later, "x") == (None, None)
    rows = store.list_executions(job.job_id)
    assert sorted(e.status for e in rows) == [ExecutionStatus.CANCELLED] * 2
    assert store.acquire(later, "node-b", later + timedelta(seconds=30), 5) == []


def test_live_logs_are_stored_only_while_the_run_holds_its_token(store: Store) -> None:
    from dbcron.models import Outcome

    now = datetime.now(UTC)
    job = store.insert_job(make_job(name="chatty"))
    store.insert_execution(Execution(job_id=job.job_id, scheduled_for=now, created_at=now))
    [(running, _)] = store.acquire(now, "node-a", now + timedelta(seconds=30), 1)
    key, token = running.execution_id, running.fencing_token
    assert token is not None
    store.save_live_logs([(key, token, "first\x00line\n")])
    stored = store.get_execution(key)
    assert stored is not None and stored.logs == "first\ufffdline\n"
    store.save_live_logs([(key, token + 1, "stale token\n")])  # not this run's token
    stored = store.get_execution(key)
    assert stored is not None and stored.logs == "first\ufffdline\n"
    done = Outcome(key, job.job_id, token, ExecutionStatus.SUCCESS, now, 0.5, logs="final\n")
    assert store.complete([done]) == {key}
    store.save_live_logs([(key, token, "late\n")])  # ended: its final logs stay
    stored = store.get_execution(key)
    assert stored is not None and stored.logs == "final\n"
