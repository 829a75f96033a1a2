"""The REST API's job routes over real servers and databases (SQLite, PostgreSQL,
PgBouncer): create, read, change with optimistic concurrency, pause, resume, trigger,
delete, next fires with DST notes, pages; every bad input a 4xx problem that changes
nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.web import Api

PROBLEM = "application/problem+json"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(api: Api, **fields: Any) -> dict[str, Any]:
    body = {
        "job_type": "http",
        "config": {"url": "http://127.0.0.1:9/"},
        "schedule_expression": "*/5 * * * *",
        **fields,
    }
    response = api.http.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"] and "\n" not in body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def test_create_and_read_a_job_by_every_kind_of_reference(api: Api) -> None:
    name = unique("Fetch")
    created = create(
        api,
        name=name,
        key=name.lower(),
        schedule_expression=None,
        config={"url": "https://user:hunter2@example.com/x", "headers": {"Authorization": "t0k"}},
    )
    defaults = api.runtime.jobs.defaults
    assert created["schedule_expression"] == api.runtime.jobs.default_schedule
    assert created["timezone"] == defaults.timezone
    assert created["timeout_seconds"] == defaults.timeout_seconds
    assert created["version"] >= 0 and created["next_execution"].endswith("Z")
    assert "hunter2" not in str(created["config"]) and "t0k" not in str(created["config"])
    job_id = created["job_id"]
    for ref in (job_id, name.lower(), name, job_id[:8]):
        got = api.http.get(f"/api/v1/jobs/{ref}")
        assert got.status_code == 200, (ref, got.text)
        assert got.json()["job_id"] == job_id
        assert got.headers["etag"] == f'"{created["version"]}"'
    stored = api.runtime.queries.get_job(job_id)
    assert stored.config["headers"]["Authorization"] == "t0k"


def test_update_needs_the_current_version_and_keeps_masked_secrets(api: Api) -> None:
    secret = {"url": "http://127.0.0.1:9/", "headers": {"X-Api-Key": "s3cret"}}
    job = create(api, name=unique("Patch"), config=secret)
    url = f"/api/v1/jobs/{job['job_id']}"
    first = api.http.patch(url, json={"version": job["version"], "description": "one"})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == job["version"] + 1
    # a second writer that read the same version loses, and changes nothing
    stale = api.http.patch(url, json={"version": job["version"], "description": "two"})
    problem(stale, 409)
    assert api.http.get(url).json()["description"] == "one"
    # If-Match instead of version; the masked token is sent back as shown
    shown = api.http.get(url)
    config = shown.json()["config"]
    assert config["headers"]["X-Api-Key"] != "s3cret"
    changed = api.http.patch(
        url,
        json={"config": {**config, "method": "POST"}},
        headers={"If-Match": shown.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert api.runtime.queries.get_job(job["job_id"]).config == {**secret, "method": "POST"}
    problem(api.http.patch(url, json={"description": "x"}), 422, "version")
    problem(api.http.patch(url, json={"description": "x"}, headers={"If-Match": "v"}), 422)


def test_pause_resume_trigger_delete_and_purge(api: Api) -> None:
    job = create(api, name=unique("Life"))
    base = f"/api/v1/jobs/{job['job_id']}"
    paused = api.http.post(f"{base}/pause")
    assert paused.json()["status"] == "paused" and paused.json()["next_execution"] is None
    resumed = api.http.post(f"{base}/resume")
    assert resumed.json()["status"] == "active" and resumed.json()["next_execution"]
    triggered = api.http.post(f"{base}/trigger")
    assert triggered.status_code == 202
    assert triggered.json()["trigger"] == "manual" and triggered.json()["status"] == "pending"
    deleted = api.http.delete(base)
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert api.http.get(base).json()["status"] == "deleted"  # soft: still there by id
    problem(api.http.post(f"{base}/trigger"), 422)
    assert api.http.delete(base, params={"purge": "true"}).status_code == 200
    problem(api.http.get(base), 404)


def test_next_fires_are_in_the_job_zone_with_dst_notes(api: Api) -> None:
    job = create(
        api, name=unique("Dst"), schedule_expression="30 2 * * *", timezone="America/New_York"
    )
    response = api.http.get(f"/api/v1/jobs/{job['job_id']}/next", params={"count": 400})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/New_York" and body["description"]
    fires = body["fires"]
    assert len(fires) == 400
    assert all(f["local"][-6:] in ("-05:00", "-04:00") for f in fires)
    shifted = [f for f in fires if f["dst_shifted"]]
    assert shifted and "spring-forward" in shifted[0]["note"]
    problem(api.http.get(f"/api/v1/jobs/{job['job_id']}/next", params={"count": 0}), 422, "count")


@pytest.mark.parametrize("sort", ["created", "name", "next_run"])
def test_pages_cover_every_job_once_in_order(api: Api, sort: str) -> None:
    tag = unique("page")
    names = [f"{tag}-{i}" for i in (3, 1, 4, 0, 6, 2, 5)]
    made = [create(api, name=n, schedule_expression=f"{i} * * * *") for i, n in enumerate(names)]
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"name": tag.upper(), "sort": sort, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = api.http.get("/api/v1/jobs", params=params)
        assert response.status_code == 200, response.text
        pages += 1
        seen += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(j["job_id"] for j in seen) == sorted(j["job_id"] for j in made)
    key = {"created": "created_at", "name": "name", "next_run": "next_execution"}[sort]
    values = [j[key] for j in seen]
    if sort == "created" or sort == "name":
        assert values == sorted(values)
    else:
        assert values == sorted(values)


def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(api: Api) -> None:
    tag = unique("bad")
    job = create(api, name=f"{tag}-one")
    create(api, name=f"{tag}-twin")
    create(api, name=f"{tag}-twin")
    before = api.http.get("/api/v1/jobs", params={"name": tag}).json()["items"]
    cases = [
        (
            api.http.post("/api/v1/jobs", json={"name": f"{tag}-x", "job_type": "nope"}),
            422,
            "job_type",
        ),
        (
            api.http.post(
                "/api/v1/jobs",
                json={"name": f"{tag}-x", "job_type": "http", "schedule_expression": "61 * * * *"},
            ),
            422,
            "schedule_expression",
        ),
        (
            api.http.post(
                "/api/v1/jobs",
                json={"name": f"{tag}-x", "job_type": "http", "timezone": "Mars/Base"},
            ),
            422,
            "timezone",
        ),
        (
            api.http.post(
                "/api/v1/jobs",
                json={"name": f"{tag}-x", "job_type": "http", "misfire_policy": "sometimes"},
            ),
            422,
            "misfire_policy",
        ),
        (api.http.post("/api/v1/jobs", json={"name": " ", "job_type": "http"}), 422, "name"),
        (
            api.http.post(
                "/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
            ),
            422,
            None,
        ),
        (api.http.post("/api/v1/jobs", json={"job_type": "http"}), 422, "name"),
        (
            api.http.post(
                "/api/v1/jobs", json={"name": f"{tag}-x", "job_type": "http", "retries": 3}
            ),
            422,
            "retries",
        ),
        (
            api.http.patch(
                f"/api/v1/jobs/{job['job_id']}",
                json={"version": job["version"], "schedule_expression": "bad"},
            ),
            422,
            "schedule_expression",
        ),
        (api.http.patch(f"/api/v1/jobs/{job['job_id']}", json={"version": 999}), 422, "body"),
        (api.http.get("/api/v1/jobs/no-such-job"), 404, None),
        (api.http.get(f"/api/v1/jobs/{tag}-twin"), 409, None),
        (api.http.get("/api/v1/jobs", params={"limit": 0}), 422, "limit"),
        (api.http.get("/api/v1/jobs", params={"limit": 100000}), 422, "limit"),
        (api.http.get("/api/v1/jobs", params={"cursor": "%%%"}), 422, "cursor"),
        (api.http.get("/api/v1/jobs", params={"sort": "size"}), 422, "sort"),
        (api.http.get("/api/v1/jobs", params={"status": "asleep"}), 422, "status"),
        (api.http.get("/api/v1/jobs", params={"job_type": "nope"}), 422, "job_type"),
    ]
    for response, status, field in cases:
        problem(response, status, field)
    assert "61" in cases[1][0].json()["detail"]
    after = api.http.get("/api/v1/jobs", params={"name": tag}).json()["items"]
    assert after == before
    assert api.runtime.queries.get_job(job["job_id"]).version == job["version"]


def test_odd_input_never_gives_a_server_error(api: Api) -> None:
    """What schemathesis found, and NUL characters (which PostgreSQL refuses in text)."""
    job = create(api, name=unique("Odd"))
    http = api.http
    valid = {"name": "x", "job_type": "http", "config": {"url": "http://127.0.0.1:9/"}}
    odd = [
        http.post("/api/v1/jobs", json={**valid, "timeout_seconds": 2**70}),
        http.post("/api/v1/jobs", json={**valid, "priority": -(2**70)}),
        http.patch(f"/api/v1/jobs/{job['job_id']}", json={"version": 2**40, "name": "z"}),
        http.get("/api/v1/executions", params={"since": "0001-01-01T00:00:00+14:00"}),
        http.get("/api/v1/papers", params={"since": "9999-12-31T23:59:59-14:00"}),
        http.get("/api/v1/jobs", params={"name": "\x00"}),
        http.get("/api/v1/jobs/%00"),
        http.get("/api/v1/jobs/%00/executions"),
        http.get("/api/v1/executions/%00"),
        http.get("/api/v1/papers", params={"q": "\x00"}),
        http.get("/api/v1/jobs", params={"job_type": "\x00"}),
    ]
    for response in odd:
        assert response.status_code < 500, (response.request.url, response.text)
        if response.status_code >= 400:
            problem(response, response.status_code)
    assert odd[0].json()["field"] == "timeout_seconds"
    assert odd[3].json()["field"] == "since"
