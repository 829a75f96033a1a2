"""The web server over real databases: health, readiness, problem documents."""

from __future__ import annotations

from pathlib import Path

from dbcron.config import Settings
from dbcron.runtime import Runtime
from dbcron.store import Store
from dbcron.web.app import create_app
from tests.support.web import serving


def runtime_for(url: str, store: Store | None = None) -> Runtime:
    return Runtime(Settings.model_validate({"database": {"url": url}}), store=store)


def test_health_and_readiness(store: Store, db_url: str) -> None:
    with serving(runtime_for(db_url, store)) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "schema_version": store.latest_version()}


def test_not_ready_without_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    (tmp_path / "empty.db").write_bytes(b"")
    runtime = runtime_for(url)
    try:
        with serving(runtime) as http:
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "unavailable"
            assert "dbcron init" in ready.json()["detail"]
    finally:
        runtime.close()


def test_unknown_routes_are_problem_documents(store: Store, db_url: str) -> None:
    with serving(runtime_for(db_url, store)) as http:
        missing = http.get("/api/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["status"] == 404
        assert http.get("/api/openapi.json").json()["info"]["title"] == "dbcron"


def test_page_and_api_route_names_do_not_collide(tmp_path: Path) -> None:

    app = create_app(runtime_for(f"sqlite:///{tmp_path / 'unused.db'}"))
    assert app.url_path_for("create_job") == "/jobs/new"
    assert app.url_path_for("api.create_job") == "/api/v1/jobs"
    assert app.url_path_for("pause", ref="x") == "/jobs/x/pause"
    assert app.url_path_for("api.pause_job", ref="x") == "/api/v1/jobs/x/pause"


def test_page_links_are_the_routes_paths(tmp_path: Path) -> None:
    from starlette.requests import Request

    from dbcron.web.app import create_app
    from dbcron.web.pages.render import Links

    app = create_app(runtime_for(f"sqlite:///{tmp_path / 'unused.db'}"))
    links = Links(Request({"type": "http", "root_path": ""}))
    assert links.job("3f2a 9c") == app.url_path_for("job_page", ref="3f2a 9c").replace(" ", "%20")
    assert links.execution("01a2-7f") == app.url_path_for("execution_page", execution_id="01a2-7f")
    mounted = Links(Request({"type": "http", "root_path": "/cron/"}))
    assert mounted.job("x") == "/cron/jobs/x"
