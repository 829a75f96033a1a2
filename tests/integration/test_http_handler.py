"""The http handler against a real local HTTP server."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dbcron.handlers.configs import HttpConfig
from dbcron.handlers.context import HandlerContext, HandlerFailed, HandlerTimedOut
from dbcron.handlers.http import run
from dbcron.models import Execution, Job
from tests.support.httpserver import Reply, Request, free_port, serving


def make_ctx(config: dict[str, Any], *, timeout: float | None = 10.0) -> HandlerContext:
    job = Job(name="ping", job_type="http", schedule_expression="*/5 * * * *", config=config)
    return HandlerContext(
        job=job,
        execution=Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)),
        config=config,
        logger=logging.getLogger("test.http"),
        deadline=None if timeout is None else time.monotonic() + timeout,
    )


def test_get_success_returns_status_duration_and_body() -> None:
    with serving(lambda _: Reply(200, b'{"ok": true}', {"Content-Type": "application/json"})) as s:
        result = run(make_ctx({"url": f"{s.url}/health"}))
    assert result["status"] == 200
    assert result["body"] == '{"ok": true}'
    assert result["truncated"] is False
    assert 0 <= result["duration_seconds"] < 5
    (request,) = s.requests
    assert (request.method, request.path) == ("GET", "/health")
    assert request.headers["user-agent"].startswith("dbcron/")


def test_post_json_with_a_header_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCRON_TEST_TOKEN", "Bearer s3cret")

    def answer(request: Request) -> Reply:
        if request.headers.get("authorization") != "Bearer s3cret":
            return Reply(401, b"who are you?")
        return Reply(201, request.body)

    with serving(answer) as s:
        config = {
            "url": f"{s.url}/hooks",
            "method": "POST",
            "headers": {"Authorization": {"env": "DBCRON_TEST_TOKEN"}, "X-Plain": "yes"},
            "json": {"event": "nightly", "n": 3},
        }
        result = run(make_ctx(config))
    assert result["status"] == 201
    (request,) = s.requests
    assert json.loads(request.body) == {"event": "nightly", "n": 3}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-plain"] == "yes"


def test_missing_environment_variable_fails_before_sending() -> None:
    with serving(lambda _: Reply(200)) as s:
        config = {"url": s.url, "headers": {"Authorization": {"env": "DBCRON_TEST_UNSET_VAR"}}}
        with pytest.raises(HandlerFailed, match="DBCRON_TEST_UNSET_VAR is not set"):
            run(make_ctx(config))
    assert s.requests == []


def test_text_body_and_long_answer_is_truncated() -> None:
    with serving(lambda r: Reply(200, r.body * 100)) as s:
        config = {"url": s.url, "method": "PUT", "body": "abcdefghij", "max_body_bytes": 25}
        result = run(make_ctx(config))
    assert result["body"] == "abcdefghijabcdefghijabcde"
    assert result["truncated"] is True
    assert s.requests[0].body == b"abcdefghij"


def test_truncation_never_cuts_a_character_in_half() -> None:
    body = "héllo wörld".encode()
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    with serving(lambda _: Reply(200, body, headers)) as s:
        result = run(make_ctx({"url": s.url, "max_body_bytes": 2}))
    assert (result["body"], result["truncated"]) == ("h", True)


def test_unexpected_status_fails_with_status_and_excerpt() -> None:
    with (
        serving(lambda _: Reply(503, b"maintenance\n  until 10:00" + b"x" * 1000)) as s,
        pytest.raises(HandlerFailed, match=r"HTTP 503 \(expected 200, 201, 202, 204\)") as e,
    ):
        run(make_ctx({"url": s.url}))
    message = str(e.value)
    assert "maintenance until 10:00" in message
    assert len(message) < 400


def test_expected_status_is_configurable() -> None:
    with serving(lambda _: Reply(404, b"gone")) as s:
        result = run(make_ctx({"url": s.url, "expected_status": [404], "method": "DELETE"}))
    assert result["status"] == 404
    assert s.requests[0].method == "DELETE"


def test_timeout_at_the_job_deadline_is_a_timeout() -> None:
    started = time.monotonic()
    with (
        serving(lambda _: Reply(200, b"late", delay=3.0)) as s,
        pytest.raises(HandlerTimedOut, match="deadline"),
    ):
        run(make_ctx({"url": s.url}, timeout=0.5))
    assert time.monotonic() - started < 2.0


def test_request_timeout_shorter_than_the_deadline_is_a_failure() -> None:
    with (
        serving(lambda _: Reply(200, b"late", delay=3.0)) as s,
        pytest.raises(HandlerFailed, match=r"request_timeout_seconds=0\.3") as raised,
    ):
        run(make_ctx({"url": s.url, "request_timeout_seconds": 0.3}, timeout=10))
    assert not isinstance(raised.value, HandlerTimedOut)


def test_connection_refused_fails_cleanly() -> None:
    url = f"http://127.0.0.1:{free_port()}/health"
    with pytest.raises(HandlerFailed, match="cannot connect") as raised:
        run(make_ctx({"url": url}, timeout=None))
    assert raised.value.__cause__ is None
    assert not isinstance(raised.value, HandlerTimedOut)


def test_json_and_body_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="either json or body"):
        HttpConfig.model_validate({"url": "http://x.test", "json": {}, "body": "text"})
