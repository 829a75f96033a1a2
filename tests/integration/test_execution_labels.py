"""What a listing of executions prints beside them (issue 12): the shortest id prefix
that names each one alone in the whole database, cut at a dash (8 characters or more),
and each execution's job's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dbcron.manager import JobManager
from dbcron.models import Execution
from dbcron.service.queries import Queries
from dbcron.store import Store

NOOP = {"callable": "tests.support.handlers:noop"}
# Four ids that share more and more of their start with OTHER (a, b, c) or nothing (d).
OTHER = "01a22ef2-ca0e-7a52-be18-706c7622c64d"
A = "01a22ef2-cb00-7000-8000-000000000000"  # OTHER's first 8 characters
B = "01a22ef2-ca0e-7a52-bf00-000000000000"  # OTHER's first 18
C = "01a22ef2-ca0e-7a52-be18-706c7622c600"  # OTHER's first 34
D = "01a22ef3-0000-7000-8000-000000000000"  # nothing of OTHER's past 7


def test_short_ids_name_one_execution_each_and_zones_come_from_the_jobs(store: Store) -> None:
    jobs = JobManager(store)
    berlin = jobs.new_job("berlin", "python", "@hourly", NOOP, timezone="Europe/Berlin")
    tokyo = jobs.new_job("tokyo", "python", "@hourly", NOOP, timezone="Asia/Tokyo")
    fire = datetime(2026, 1, 5, 9, tzinfo=UTC)
    rows = {}
    for n, (execution_id, job) in enumerate(
        ((OTHER, tokyo), (A, berlin), (B, berlin), (C, berlin), (D, berlin))
    ):
        rows[execution_id] = store.insert_execution(
            Execution(
                job.job_id, fire + timedelta(minutes=n), execution_id=execution_id, created_at=fire
            )
        )
    queries = Queries(store)

    def short(*ids: str) -> dict[str, str]:
        return queries.execution_labels([rows[i] for i in ids]).short_ids

    # each cut where nothing else in the database starts the same way, even executions
    # that are not listed (OTHER is in none of these listings)
    assert short(D) == {D: "01a22ef3"}
    assert short(A) == {A: "01a22ef2-cb00"}
    assert short(B) == {B: "01a22ef2-ca0e-7a52-bf00"}
    assert short(C) == {C: C}
    # one cut for all the listing, so that the column lines up
    assert short(D, A) == {D: "01a22ef3-0000", A: "01a22ef2-cb00"}
    for execution_id, prefix in short(A, B, C, D, OTHER).items():
        assert queries.resolve_execution_id(prefix) == execution_id
        assert len(prefix) == 36
    # every prefix printed is accepted back, and names its own execution
    for execution_id in (A, B, D):
        prefix = short(execution_id)[execution_id]
        assert queries.execution(prefix).execution_id == execution_id

    labels = queries.execution_labels([rows[OTHER], rows[A]], short_ids=False)
    assert labels.short_ids == {} and labels.short(A) == A
    assert labels.zone(tokyo.job_id) == "Asia/Tokyo"
    assert labels.zone(berlin.job_id) == "Europe/Berlin"
    assert labels.zone("no-such-job") == "UTC"
    assert queries.execution_labels([]).zones == {}
