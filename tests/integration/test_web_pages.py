"""The dashboard's pages over HTTP (a real server on a real SQLite file): every page
renders, bad input is a 4xx (never a 500), the form keeps the secrets it never shows,
and the pages still work when the front-end packages were not built."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from dbcron.clock import FakeClock
from dbcron.config import Settings
from dbcron.runtime import Runtime
from dbcron.web.pages import render
from tests.support.web import serving

SECRET_URL = "https://api.example.com/hook"


@pytest.fixture
def runtime(sqlite_url: str) -> Iterator[Runtime]:
    served = Runtime(Settings.model_validate({"database": {"url": sqlite_url}}))
    yield served
    served.close()


@pytest.fixture
def http(runtime: Runtime) -> Iterator[httpx.Client]:
    with serving(runtime) as client:
        yield client


def _http_job(runtime: Runtime) -> str:
    job = runtime.jobs.new_job(
        "Hook",
        "http",
        "*/5 * * * *",
        {"url": SECRET_URL, "headers": {"Authorization": "Bearer s3cr3t-t0ken"}},
    )
    return job.job_id


def test_every_page_renders(runtime: Runtime, http: httpx.Client) -> None:
    job_id = _http_job(runtime)
    run = runtime.jobs.trigger_job(job_id)
    for path in (
        "/",
        "/?window=7d",
        "/jobs",
        "/jobs?q=hook&sort=next&desc=true&status=active",
        f"/jobs/{job_id}",
        f"/jobs/{job_id}/edit",
        "/jobs/new",
        "/jobs/new?job_type=maintenance",
        "/jobs/form/config?job_type=paper_fetch",
        "/executions?status=pending&within=1h",
        f"/executions/{run.execution_id}",
        "/papers?q=x&since=2024-01-01",
    ):
        answer = http.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html")
    assert "Hook" in http.get("/jobs?q=HOO", headers={"HX-Request": "true"}).text
    assert "<html" not in http.get("/jobs", headers={"HX-Request": "true"}).text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/jobs/no-such-job", 404),
        ("/executions/0000000000", 404),
        ("/executions/not-an-id", 422),
        ("/executions?status=bogus", 422),
        ("/jobs?sort=bogus", 422),
        ("/jobs?status=bogus", 422),
        ("/?window=1y", 422),
        ("/papers?since=yesterday", 422),
        ("/jobs/new?job_type=nope", 422),
    ],
)
def test_bad_input_is_a_client_error(http: httpx.Client, path: str, status: int) -> None:
    answer = http.get(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    # a browser gets the same status and message as a dashboard page
    shown = http.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert shown.status_code == status
    assert shown.headers["content-type"].startswith("text/html")
    assert answer.json()["detail"] in html.unescape(shown.text)
    assert '<nav aria-label="Main">' in shown.text


def test_the_api_answers_browsers_with_problem_documents(http: httpx.Client) -> None:
    for path in ("/api/v1/jobs/no-such-job", "/api/v1/nothing-here"):
        answer = http.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


def test_the_form_never_shows_secrets_and_keeps_them_on_save(
    runtime: Runtime, http: httpx.Client
) -> None:
    job_id = _http_job(runtime)
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/edit"):
        assert "s3cr3t-t0ken" not in http.get(path).text
    form = http.get(f"/jobs/{job_id}/edit").text
    assert "********" in form
    job = runtime.jobs.get_job(job_id)
    saved = http.post(
        f"/jobs/{job_id}/edit",
        data={
            "job_id": job_id,
            "version": str(job.version),
            "name": "Hook renamed",
            "job_type": "http",
            "schedule_expression": "*/10 * * * *",
            "timezone": "UTC",
            "status": "active",
            "config.url": SECRET_URL,
            "config.method": "GET",
            "config.headers": '{"Authorization": "********"}',
        },
    )
    assert saved.status_code == 303, saved.text
    stored = runtime.jobs.get_job(job_id)
    assert stored.name == "Hook renamed"
    assert stored.schedule_expression == "*/10 * * * *"
    assert stored.config["headers"] == {"Authorization": "Bearer s3cr3t-t0ken"}


def test_a_stale_edit_is_a_conflict_and_changes_nothing(
    runtime: Runtime, http: httpx.Client
) -> None:
    job_id = _http_job(runtime)
    stale = runtime.jobs.get_job(job_id).version
    runtime.jobs.update_fields(job_id, description="changed meanwhile")
    answer = http.post(
        f"/jobs/{job_id}/edit",
        data={
            "version": str(stale),
            "name": "Lost update",
            "job_type": "http",
            "schedule_expression": "*/5 * * * *",
            "config.url": SECRET_URL,
        },
    )
    assert answer.status_code == 409
    assert "version" in answer.text
    assert runtime.jobs.get_job(job_id).name == "Hook"


def test_a_refused_job_is_the_form_again_with_the_service_message(
    runtime: Runtime, http: httpx.Client
) -> None:
    answer = http.post(
        "/jobs/new",
        data={"name": "x", "job_type": "shell", "schedule_expression": "0 25 * * *"},
    )
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "hour" in answer.text
    assert runtime.jobs.list_jobs() == []
    check = http.post(
        "/jobs/form/check",
        data={"name": "x", "job_type": "shell", "schedule_expression": "@every 90s"},
    )
    assert check.status_code == 200
    assert "config" in check.text and 'id="check-error"' in check.text


def test_pages_work_without_the_front_end_packages(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(render, "STATIC_DIR", tmp_path)  # no vendor/ in it
    page = http.get("/")
    assert page.status_code == 200
    assert "front-end packages are not built" in page.text
    assert "vendor/htmx.min.js" not in page.text


def test_the_job_page_flags_fires_that_dst_moves(sqlite_url: str) -> None:
    """Europe/London springs forward at 01:00 on 2027-03-28: a daily 01:30 job's fire
    that day does not exist and runs at 02:30, which the page says."""
    clock = FakeClock(datetime(2027, 3, 26, 12, tzinfo=UTC))
    runtime = Runtime(Settings.model_validate({"database": {"url": sqlite_url}}), clock=clock)
    try:
        job = runtime.jobs.new_job(
            "Early", "shell", "30 1 * * *", {"command": "true"}, timezone="Europe/London"
        )
        with serving(runtime) as client:
            text = client.get(f"/jobs/{job.job_id}").text
            check = client.post(
                "/jobs/form/check",
                data={
                    "name": "x",
                    "job_type": "shell",
                    "schedule_expression": "30 1 * * *",
                    "timezone": "Europe/London",
                    "config.command": "true",
                },
            ).text
    finally:
        runtime.close()
    assert "At 01:30" in text
    for shown in (text, check):
        assert shown.count('class="dst-note"') == 1
        assert "01:30 does not exist on 2027-03-28" in shown
