"""``/metrics`` through a real server: the documented families, event-fed counters
that move when a job runs, cluster gauges read from the database, bounded cardinality."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from dbcron.config import Settings
from dbcron.models import SchedulerNode
from dbcron.runtime import Runtime
from dbcron.store import Store
from tests.support.engine import history, running
from tests.support.waiting import wait_for
from tests.support.web import serving

NOOP = {"callable": "tests.support.handlers:noop"}
FAMILIES = {
    "dbcron_database_up": "gauge",
    "dbcron_executions_running": "gauge",
    "dbcron_executions_pending": "gauge",
    "dbcron_nodes": "gauge",
    "dbcron_node_heartbeat_age_seconds": "gauge",
    "dbcron_executions_started": "counter",
    "dbcron_executions": "counter",
    "dbcron_execution_duration_seconds": "histogram",
    "dbcron_execution_lateness_seconds": "histogram",
    "dbcron_execution_retries": "counter",
    "dbcron_executions_rescued": "counter",
    "dbcron_missed_fires": "counter",
    "dbcron_claim_seconds": "histogram",
    "dbcron_fires_claimed": "counter",
}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text: str) -> tuple[dict[str, str], Samples]:
    """(family name -> type, (sample name, labels) -> value)."""
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return types, samples


def runtime_for(url: str, store: Store) -> Runtime:
    return Runtime(Settings.model_validate({"database": {"url": url}}), store=store)


def test_metrics_families_counters_and_cluster_gauges(store: Store, db_url: str) -> None:
    runtime = runtime_for(db_url, store)
    job = runtime.jobs.new_job("j", "python", "0 0 1 1 *", NOOP)
    now = runtime.queries.clock.now()
    for node_id, age in (("node-alive", 5), ("node-dead", 600)):
        beat = now - timedelta(seconds=age)
        store.register_node(SchedulerNode(node_id, "host", 1, "test", beat, beat))
    with serving(runtime) as http:
        first = http.get("/metrics")
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/plain; version=")
        types, samples = scrape(first.text)
        assert {name: types.get(name) for name in FAMILIES} == FAMILIES
        assert samples[("dbcron_database_up", ())] == 1
        assert samples[("dbcron_executions_running", ())] == 0
        assert samples[("dbcron_executions_pending", ())] == 0
        assert samples[("dbcron_nodes", (("state", "running"),))] == 1
        assert samples[("dbcron_nodes", (("state", "dead"),))] == 1
        alive = samples[("dbcron_node_heartbeat_age_seconds", (("node", "node-alive"),))]
        assert 4 <= alive < 120
        assert samples[("dbcron_node_heartbeat_age_seconds", (("node", "node-dead"),))] >= 599
        assert not any(name == "dbcron_executions_total" for name, _ in samples)

        runtime.jobs.trigger_job(job.job_id)
        done = runtime.operations.run_now(job.job_id, mode="thread")
        _types, after = scrape(http.get("/metrics").text)
        assert after[("dbcron_executions_pending", ())] == 1  # the trigger, still waiting
        ended = ("dbcron_executions_total", (("job_type", "python"), ("status", "success")))
        assert after[ended] == 1
        trigger = done.trigger.value
        started = (
            "dbcron_executions_started_total",
            (("job_type", "python"), ("trigger", trigger)),
        )
        assert after[started] == 1
        assert after[("dbcron_execution_duration_seconds_count", (("job_type", "python"),))] == 1
        late = (
            "dbcron_execution_lateness_seconds_count",
            (("job_type", "python"), ("trigger", trigger)),
        )
        assert after[late] == 1


def test_series_do_not_grow_with_the_number_of_jobs(sqlite_url: str) -> None:
    from dbcron.store import open_store

    store = open_store(sqlite_url)
    runtime = runtime_for(sqlite_url, store)
    try:
        jobs = [runtime.jobs.new_job(f"j{i}", "python", "0 0 1 1 *", NOOP) for i in range(40)]
        with serving(runtime) as http:
            runtime.operations.run_now(jobs[0].job_id, mode="thread")
            _types, few = scrape(http.get("/metrics").text)
            for job in jobs[1:12]:
                runtime.operations.run_now(job.job_id, mode="thread")
            _types, many = scrape(http.get("/metrics").text)
        assert set(many) == set(few)
        ended = ("dbcron_executions_total", (("job_type", "python"), ("status", "success")))
        assert many[ended] == 12
        assert not any(job.job_id in repr(key) for key in many for job in jobs)
    finally:
        store.close()


def test_metrics_need_a_viewer_when_auth_is_configured(store: Store, db_url: str) -> None:
    from dbcron.service.credentials import hash_token

    web = {"tokens": {"prometheus": {"role": "viewer", "token_hash": hash_token("scrape-me")}}}
    runtime = Runtime(
        Settings.model_validate({"database": {"url": db_url}, "web": web}), store=store
    )
    with serving(runtime) as http:
        assert http.get("/metrics").status_code == 401
        scraped = http.get("/metrics", headers={"authorization": "Bearer scrape-me"})
        assert scraped.status_code == 200 and "dbcron_database_up 1.0" in scraped.text


def test_metrics_say_when_the_database_is_down() -> None:
    url = "postgresql://nobody@127.0.0.1:1/nothing"  # nothing listens on port 1
    settings = {"database": {"url": url, "connect_timeout_seconds": 1}}
    runtime = Runtime(Settings.model_validate(settings))
    with serving(runtime) as http:
        scraped = http.get("/metrics")
        assert scraped.status_code == 200
        _types, samples = scrape(scraped.text)
        assert samples[("dbcron_database_up", ())] == 0
        assert ("dbcron_executions_pending", ()) not in samples


def test_claims_of_a_running_engine_are_timed(store: Store, db_url: str) -> None:
    runtime = runtime_for(db_url, store)
    job = runtime.jobs.new_job("every second", "python", "@every 1s", NOOP)
    engine = runtime.engine(runtime.engine_settings(executor="thread"))
    assert engine is not None
    with serving(runtime) as http, running(engine):
        wait_for(lambda: history(store, job.job_id), 20, what="the claimed fire")
        _types, samples = scrape(http.get("/metrics").text)
    assert samples[("dbcron_fires_claimed_total", ())] >= 1
    assert samples[("dbcron_claim_seconds_count", ())] >= 1
    # only the claims that claimed something are timed
    assert (
        samples[("dbcron_claim_seconds_count", ())] <= samples[("dbcron_fires_claimed_total", ())]
    )
    assert 0 < samples[("dbcron_claim_seconds_sum", ())] < 10
