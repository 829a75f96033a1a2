"""The paper_fetch handler against a real local HTTP server serving real arXiv answers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dbcron.cli.context import CliContext
from dbcron.cli.papers import register
from dbcron.handlers.context import (
    HandlerContext,
    HandlerFailed,
    HandlerTimedOut,
    RetryRequested,
)
from dbcron.handlers.paper_fetch import run
from dbcron.models import Execution, ExecutionStatus, Job
from dbcron.store import Store, open_store
from dbcron.store.papers import get_paper, list_papers
from dbcron.store.shared import close_shared_stores
from tests.support.httpserver import LocalServer, Reply, Request, free_port, serving

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv"
PAGE1 = (FIXTURES / "query_page1.xml").read_bytes()
PAGE2 = (FIXTURES / "query_page2.xml").read_bytes()
EMPTY = (FIXTURES / "query_empty.xml").read_bytes()
ERROR = (FIXTURES / "query_error.xml").read_bytes()
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}
FAKE_PDF = b"%PDF-1.4\n% a tiny stand-in for a paper\n%%EOF\n"


def paged(page1: bytes = PAGE1, page2: bytes = PAGE2) -> Callable[[Request], Reply]:
    """The two real pages of one query, chosen by the ``start`` parameter."""

    def answer(request: Request) -> Reply:
        start = int(request.query.get("start", "0"))
        return Reply(200, page1 if start < 3 else page2, ATOM)

    return answer


def with_newer_version(page: bytes) -> bytes:
    """Page 1 as arXiv shows it after 1210.7708 got a second version."""
    return (
        page.replace(b"1210.7708v1", b"1210.7708v2")
        .replace(
            b"<updated>2012-10-29T16:12:41Z</updated>",
            b"<updated>2013-01-02T10:00:00Z</updated>",
        )
        .replace(b"Landau--Kolmogorov inequality revisited", b"Landau-Kolmogorov, revisited")
    )


@pytest.fixture
def papers_url(db_url: str) -> Iterator[str]:
    """A migrated database of each backend with an empty papers table."""
    store = open_store(db_url)
    with store.transaction() as cur:  # type: ignore[attr-defined]
        cur.execute("DELETE FROM papers")
    store.close()
    yield db_url
    close_shared_stores()


@pytest.fixture
def sqlite_papers_url(sqlite_url: str) -> Iterator[str]:
    """One SQLite database, for tests of the HTTP behaviour (backend-independent)."""
    yield sqlite_url
    close_shared_stores()


def make_job(config: dict[str, Any]) -> Job:
    return Job(
        name="Daily Fetch", job_type="paper_fetch", schedule_expression="0 9 * * *", config=config
    )


def make_ctx(
    url: str, config: dict[str, Any], *, timeout: float = 20.0, job: Job | None = None
) -> HandlerContext:
    job = job or make_job(config)
    return HandlerContext(
        job=job,
        execution=Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)),
        config=config,
        logger=logging.getLogger("test.paper_fetch"),
        deadline=time.monotonic() + timeout,
        database_url=url,
    )


def config_for(server: LocalServer, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "keywords": ["electron", "inequality"],
        "api_url": f"{server.url}/api/query",
        "page_size": 3,
        "request_interval_seconds": 0,
        "max_retries": 2,
    }
    values.update(extra)
    return values


def test_pages_through_results_politely_and_stores_every_paper(papers_url: str) -> None:
    with serving(paged()) as server:
        config = config_for(server, request_interval_seconds=0.2)
        ctx = make_ctx(papers_url, config)
        result = run(ctx)
    assert {
        k: result[k] for k in ("queried", "fetched", "new", "updated", "downloaded", "pages")
    } == {
        "queried": 2,
        "fetched": 4,
        "new": 4,
        "updated": 0,
        "downloaded": 0,
        "pages": 2,
    }
    first, second = server.requests
    assert first.path == "/api/query"
    assert first.query == {
        "search_query": "(all:electron OR all:inequality)",
        "start": "0",
        "max_results": "3",
        "sortBy": "submittedDate",
        "sortOrder": "descending",
    }
    assert second.query["start"] == "3"
    assert first.headers["user-agent"].startswith("dbcron/")
    assert "+https://pypi.org/project/dbcron/" in first.headers["user-agent"]
    assert second.at - first.at >= 0.2

    store = open_store(papers_url)
    try:
        stored = {p.arxiv_id: p for p in list_papers(store, limit=10)}
        assert set(stored) == {"1210.7708", "0710.2073", "cond-mat/0102536", "hep-ex/0307015"}
        old_style = stored["cond-mat/0102536"]
        assert old_style.version == 1
        assert old_style.authors[0] == "David Prendergast"
        assert len(old_style.authors) == 5
        assert old_style.categories == ("cond-mat.str-el",)
        assert old_style.primary_category == "cond-mat.str-el"
        assert old_style.published == datetime(2001, 2, 28, 20, 12, 9, tzinfo=UTC)
        assert old_style.doi == "10.1063/1.1383585"
        assert old_style.journal_ref == "J. Chem. Phys. 115, 1626 (2001)"
        assert old_style.pdf_url == "http://arxiv.org/pdf/cond-mat/0102536v1"
        assert old_style.job_id == ctx.job.job_id
        assert old_style.first_seen_at == old_style.last_seen_at
        assert stored["hep-ex/0307015"].title == (
            "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
        )
        assert stored["0710.2073"].version == 2
        # newest publication first
        assert [p.arxiv_id for p in list_papers(store, limit=2)] == ["1210.7708", "0710.2073"]
    finally:
        store.close()


def test_second_run_stores_nothing_new(papers_url: str) -> None:
    with serving(paged()) as server:
        config = config_for(server)
        job = make_job(config)
        first = run(make_ctx(papers_url, config, job=job))
        store = open_store(papers_url)
        before = get_paper(store, "1210.7708")
        second = run(make_ctx(papers_url, config, job=job))
        after = get_paper(store, "1210.7708")
        count = len(list_papers(store, limit=100))
        store.close()
    assert (first["new"], second["new"], second["updated"]) == (4, 0, 0)
    assert second["fetched"] == 4
    assert count == 4
    assert before is not None and after is not None
    assert after.first_seen_at == before.first_seen_at
    assert after.last_seen_at is not None and before.last_seen_at is not None
    assert after.last_seen_at > before.last_seen_at


def test_newer_version_updates_the_row(papers_url: str) -> None:
    with serving(paged()) as server:
        config = config_for(server, max_papers=3)
        other_job = make_job(config)
        run(make_ctx(papers_url, config))
        store = open_store(papers_url)
        original = get_paper(store, "1210.7708")
        server.responder = paged(with_newer_version(PAGE1))
        result = run(make_ctx(papers_url, config, job=other_job))
        updated = get_paper(store, "1210.7708")
        count = len(list_papers(store, limit=100))
        store.close()
    assert (result["new"], result["updated"]) == (0, 1)
    assert original is not None and updated is not None
    assert (original.version, updated.version) == (1, 2)
    assert updated.title == "Landau-Kolmogorov, revisited"
    assert updated.updated == datetime(2013, 1, 2, 10, 0, tzinfo=UTC)
    assert updated.first_seen_at == original.first_seen_at
    assert updated.job_id == original.job_id  # the job that first found it
    assert count == 3


def test_max_papers_limits_the_page_and_the_requests(sqlite_papers_url: str) -> None:
    with serving(paged()) as server:
        result = run(make_ctx(sqlite_papers_url, config_for(server, max_papers=2)))
    assert (result["queried"], result["fetched"], result["new"], result["pages"]) == (1, 2, 2, 1)
    assert server.requests[0].query["max_results"] == "2"


def test_empty_result(sqlite_papers_url: str) -> None:
    with serving(lambda _: Reply(200, EMPTY, ATOM)) as server:
        result = run(make_ctx(sqlite_papers_url, config_for(server)))
    assert (result["queried"], result["fetched"], result["new"], result["pages"]) == (1, 0, 0, 0)


def test_error_feed_fails_with_arxivs_message(sqlite_papers_url: str) -> None:
    with (
        serving(lambda _: Reply(400, ERROR, ATOM)) as server,
        pytest.raises(HandlerFailed, match=r"incorrect id format for 1234\.12345"),
    ):
        run(make_ctx(sqlite_papers_url, config_for(server)))
    assert len(server.requests) == 1  # a refused query is not retried
    store = open_store(sqlite_papers_url)
    assert list_papers(store) == []
    store.close()


def test_503_is_retried_after_retry_after(sqlite_papers_url: str) -> None:
    answers = iter([Reply(503, b"busy", {"Retry-After": "1"})])

    def answer(request: Request) -> Reply:
        return next(answers, None) or paged()(request)

    with serving(answer) as server:
        result = run(make_ctx(sqlite_papers_url, config_for(server)))
    assert (result["queried"], result["new"], result["pages"]) == (3, 4, 2)
    busy, retried, _ = server.requests
    assert retried.at - busy.at >= 0.9
    assert retried.query == busy.query


def test_503_beyond_max_retries_asks_for_a_later_retry(sqlite_papers_url: str) -> None:
    with (
        serving(lambda _: Reply(503, b"busy", {"Retry-After": "0"})) as server,
        pytest.raises(RetryRequested, match="HTTP 503") as raised,
    ):
        run(make_ctx(sqlite_papers_url, config_for(server, max_retries=2)))
    assert len(server.requests) == 3
    assert raised.value.delay_seconds == 0


def test_backoff_never_sleeps_past_the_deadline(sqlite_papers_url: str) -> None:
    started = time.monotonic()
    with (
        serving(lambda _: Reply(503, b"busy", {"Retry-After": "30"})) as server,
        pytest.raises(HandlerTimedOut, match="deadline"),
    ):
        run(make_ctx(sqlite_papers_url, config_for(server), timeout=2.0))
    assert time.monotonic() - started < 1.5
    assert len(server.requests) == 1


def test_slow_server_times_out_at_the_deadline(sqlite_papers_url: str) -> None:
    started = time.monotonic()
    with (
        serving(lambda _: Reply(200, PAGE1, ATOM, delay=3.0)) as server,
        pytest.raises(HandlerTimedOut, match="deadline"),
    ):
        run(make_ctx(sqlite_papers_url, config_for(server), timeout=1.0))
    assert time.monotonic() - started < 2.0


def test_unreachable_api_asks_for_a_later_retry(sqlite_papers_url: str) -> None:
    config = {
        "keywords": ["electron"],
        "api_url": f"http://127.0.0.1:{free_port()}/api/query",
        "request_interval_seconds": 0,
        "max_retries": 0,
    }
    with pytest.raises(RetryRequested, match="cannot reach"):
        run(make_ctx(sqlite_papers_url, config))


def test_incremental_run_stops_at_the_last_success(papers_url: str) -> None:
    store: Store = open_store(papers_url)
    try:
        with serving(paged()) as server:
            config = config_for(server, incremental_overlap_hours=0)
            job = store.insert_job(
                make_job(config).with_changes(
                    created_at=datetime.now(UTC), updated_at=datetime.now(UTC)
                )
            )
            last = datetime(2005, 1, 1, tzinfo=UTC)
            store.insert_execution(
                Execution(
                    job_id=job.job_id,
                    scheduled_for=last,
                    status=ExecutionStatus.SUCCESS,
                    started_at=last,
                    finished_at=last + timedelta(seconds=5),
                    created_at=last,
                )
            )
            result = run(make_ctx(papers_url, config, job=job))
        assert (result["queried"], result["fetched"], result["new"]) == (1, 3, 2)
        assert result["skipped_older"] == 1
        assert result["since"] == "2005-01-01T00:00:00+00:00"
        assert {p.arxiv_id for p in list_papers(store)} == {"1210.7708", "0710.2073"}
    finally:
        store.close()


def test_configured_since_is_a_floor(sqlite_papers_url: str) -> None:
    with serving(paged()) as server:
        result = run(make_ctx(sqlite_papers_url, config_for(server, since="2010-01-01")))
    assert (result["queried"], result["new"]) == (1, 1)


def test_pdfs_are_downloaded_once(sqlite_papers_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    existing = folder / "cond-mat_0102536v1.pdf"
    existing.write_bytes(b"%PDF- kept as it is")

    def answer(request: Request) -> Reply:
        if request.path.startswith("/pdf/"):
            if request.path == "/pdf/0710.2073v2":
                return Reply(404, b"not here")
            return Reply(200, FAKE_PDF, {"Content-Type": "application/pdf"})
        return Reply(200, PAGE1.replace(b"http://arxiv.org/pdf/", f"{base}/pdf/".encode()), ATOM)

    with serving(answer) as server:
        base = server.url
        config = config_for(server, max_papers=3, download_pdfs=True, download_dir=str(folder))
        first = run(make_ctx(sqlite_papers_url, config))
        second = run(make_ctx(sqlite_papers_url, config))
    assert (first["downloaded"], first["download_failed"]) == (1, 1)
    assert (folder / "1210.7708v1.pdf").read_bytes() == FAKE_PDF
    assert existing.read_bytes() == b"%PDF- kept as it is"
    assert (second["downloaded"], second["download_failed"]) == (0, 1)
    pdf_paths = [r.path for r in server.requests if r.path.startswith("/pdf/")]
    assert pdf_paths.count("/pdf/1210.7708v1") == 1
    assert "/pdf/cond-mat/0102536v1" not in pdf_paths
    assert sorted(p.name for p in folder.iterdir()) == ["1210.7708v1.pdf", existing.name]


def test_config_path_provides_defaults_and_the_job_config_wins(
    sqlite_papers_url: str, tmp_path: Path
) -> None:
    with serving(paged()) as server:
        settings = tmp_path / "config.yaml"
        settings.write_text(
            "scheduler:\n  check_interval_seconds: 60\n"
            "paper_fetch:\n"
            "  keywords: [electron]\n"
            f"  api_url: {server.url}/api/query\n"
            "  page_size: 100\n"
            "  max_papers: 3\n"
            "  request_interval_seconds: 0\n",
            encoding="utf-8",
        )
        config = {"config_path": str(settings), "page_size": 2}
        result = run(make_ctx(sqlite_papers_url, config))
    assert server.requests[0].query["search_query"] == "all:electron"
    assert server.requests[0].query["max_results"] == "2"  # the job's page_size wins
    assert result["fetched"] == 3  # max_papers from the file


def test_missing_config_path_and_empty_search_fail_cleanly(sqlite_papers_url: str) -> None:
    with pytest.raises(HandlerFailed, match="cannot read config_path"):
        run(make_ctx(sqlite_papers_url, {"config_path": "/nonexistent/config.yaml"}))
    with pytest.raises(HandlerFailed, match="nothing to search for"):
        run(make_ctx(sqlite_papers_url, {}))


def test_papers_command_lists_and_filters(papers_url: str) -> None:
    with serving(paged()) as server:
        run(make_ctx(papers_url, config_for(server)))
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        state = CliContext(db_flag=papers_url)
        ctx.obj = state
        ctx.call_on_close(state.close)

    register(app)
    runner = CliRunner()
    listed = runner.invoke(app, ["papers", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["arxiv_id"] for r in rows] == [
        "1210.7708",
        "0710.2073",
        "hep-ex/0307015",
        "cond-mat/0102536",
    ]
    assert rows[0]["authors"] == ["Alexei Shadrin"]
    assert rows[0]["published"] == "2012-10-29T16:12:41+00:00"

    searched = runner.invoke(app, ["papers", "--json", "--search", "CUSP", "--since", "2000-01-01"])
    assert [r["arxiv_id"] for r in json.loads(searched.stdout)] == ["cond-mat/0102536"]
    since = runner.invoke(app, ["papers", "--json", "--since", "2005-01-01", "--limit", "1"])
    assert [r["arxiv_id"] for r in json.loads(since.stdout)] == ["1210.7708"]

    table = runner.invoke(app, ["papers", "--search", "electron", "--wide"])  # whole authors
    assert table.exit_code == 0
    assert "cond-mat/0102536v1" in table.stdout
    assert "Prendergast et al. (5)" in table.stdout

    bad = runner.invoke(app, ["papers", "--since", "yesterday"])
    assert bad.exit_code == 2
