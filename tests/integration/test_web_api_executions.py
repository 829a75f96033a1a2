"""The REST API's execution and cluster routes over real servers and databases
(SQLite, PostgreSQL, PgBouncer): pages of history, filters, detail, cancel; status,
statistics, job types, papers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.test_web_api_jobs import create, problem, unique
from tests.support.web import Api


def triggered(api: Api, job: dict[str, Any], times: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(times):
        response = api.http.post(f"/api/v1/jobs/{job['job_id']}/trigger")
        assert response.status_code == 202, response.text
        out.append(response.json())
    return out


def pages(api: Api, url: str, **params: Any) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.http.get(url, params=query)
        assert response.status_code == 200, response.text
        found.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


def test_history_pages_have_no_gaps_and_no_duplicates(api: Api) -> None:
    job = create(api, name=unique("Hist"))
    made = triggered(api, job, 5)
    got = pages(api, f"/api/v1/jobs/{job['job_id']}/executions", limit=2)
    assert [len(p) for p in got] == [2, 2, 1]
    ids = [e["execution_id"] for page in got for e in page]
    assert ids == [e["execution_id"] for e in reversed(made)]  # newest first, each once
    across = pages(api, "/api/v1/executions", limit=3, trigger="manual")
    across_ids = [e["execution_id"] for page in across for e in page]
    assert len(across_ids) == len(set(across_ids))
    assert set(ids) <= set(across_ids)


def test_history_filters(api: Api) -> None:
    job = create(api, name=unique("Filt"))
    [one] = triggered(api, job, 1)
    url = f"/api/v1/jobs/{job['job_id']}/executions"
    now = datetime.now(UTC)

    def ids(**params: Any) -> list[str]:
        response = api.http.get(url, params=params)
        assert response.status_code == 200, response.text
        return [e["execution_id"] for e in response.json()["items"]]

    assert ids(status="pending", trigger="manual") == [one["execution_id"]]
    assert ids(trigger="schedule") == []
    assert ids(status="success") == []
    hour = timedelta(hours=1)
    assert ids(since=(now - hour).isoformat(), until=(now + hour).isoformat()) == [
        one["execution_id"]
    ]
    assert ids(since=(now + hour).isoformat()) == []
    assert ids(until=(now - hour).isoformat()) == []
    problem(api.http.get(url, params={"trigger": "whim"}), 422, "trigger")
    problem(api.http.get(url, params={"status": "asleep"}), 422, "status")
    problem(api.http.get(url, params={"since": "yesterday"}), 422, "since")
    problem(api.http.get(url, params={"cursor": "e30"}), 422, "cursor")
    jobs_cursor = api.http.get("/api/v1/jobs", params={"limit": 1}).json()["next_cursor"]
    if jobs_cursor:
        problem(api.http.get(url, params={"cursor": jobs_cursor}), 422, "cursor")
    problem(api.http.get("/api/v1/jobs/no-such-job/executions"), 404)


def test_execution_detail_and_cancel_of_a_pending_execution(api: Api) -> None:
    job = create(api, name=unique("Cancel"))
    [pending] = triggered(api, job, 1)
    execution_id = pending["execution_id"]
    detail = api.http.get(f"/api/v1/executions/{execution_id[:13]}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["execution_id"] == execution_id and "logs" in detail.json()
    cancelled = api.http.post(
        f"/api/v1/executions/{execution_id}/cancel", json={"reason": "not today"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert "by local: not today" in cancelled.json()["error_message"]
    stored = api.runtime.queries.execution(execution_id)
    assert stored.status.value == "cancelled"
    again = api.http.post(f"/api/v1/executions/{execution_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    problem(api.http.get("/api/v1/executions/ffffffff-ffff"), 404)
    problem(api.http.get("/api/v1/executions/nope"), 422)
    problem(api.http.post(f"/api/v1/executions/{execution_id}/cancel", json={"why": 1}), 422)


def test_status_stats_types_and_papers(api: Api) -> None:
    job = create(api, name=unique("Stat"))
    triggered(api, job, 1)
    status = api.http.get("/api/v1/status")
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["pending_count"] >= 1 and body["window_hours"] == 24
    assert body["jobs_by_status"]["active"] >= 1
    assert body["overall"]["pending"] >= 1
    stats = api.http.get("/api/v1/stats", params={"window": "7d"})
    assert stats.status_code == 200, stats.text
    assert stats.json()["window_seconds"] == 7 * 86400 and stats.json()["pending"] >= 1
    for window in ("", "soon", "0s", "99999999999d", "1.5h"):
        problem(api.http.get("/api/v1/stats", params={"window": window}), 422, "window")
    types = api.http.get("/api/v1/types").json()
    http = next(t for t in types if t["name"] == "http")
    assert "url" in http["schema"]["properties"] and http["example"]["url"]
    papers = api.http.get("/api/v1/papers", params={"q": "quantum", "since": "2020-01-01"})
    assert papers.status_code == 200 and papers.json() == []
    problem(api.http.get("/api/v1/papers", params={"since": "last week"}), 422, "since")
