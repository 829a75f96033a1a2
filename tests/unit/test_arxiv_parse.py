"""Parsing the arXiv API's Atom feeds and ids (pure functions, real API answers)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dbcron.handlers.arxiv import (
    ArxivParseError,
    build_search_query,
    parse_feed,
    pdf_filename,
    split_arxiv_id,
)
from dbcron.models import Paper

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_first_page_has_paging_figures_and_three_papers() -> None:
    feed = parse_feed(fixture("query_page1.xml"))
    assert (feed.total_results, feed.start_index, feed.items_per_page) == (4, 0, 3)
    assert feed.error is None
    assert [p.versioned_id for p in feed.papers] == [
        "1210.7708v1",
        "0710.2073v2",
        "cond-mat/0102536v1",
    ]


def test_new_style_entry_is_read_completely() -> None:
    paper = parse_feed(fixture("query_page1.xml")).papers[0]
    assert paper == Paper(
        arxiv_id="1210.7708",
        version=1,
        title="Landau--Kolmogorov inequality revisited",
        authors=("Alexei Shadrin",),
        abstract=(
            "The Landau-Kolmogorov problem consists of finding the upper bound for the norm "
            "of intermediate derivatives of a function in terms of the norms of the function "
            "and its highest derivative."
        ),
        categories=("math.NA",),
        primary_category="math.NA",
        published=datetime(2012, 10, 29, 16, 12, 41, tzinfo=UTC),
        updated=datetime(2012, 10, 29, 16, 12, 41, tzinfo=UTC),
        doi=None,
        journal_ref=None,
        comment=None,
        pdf_url="http://arxiv.org/pdf/1210.7708v1",
    )


def test_multi_line_title_and_comment_are_joined_and_versions_kept() -> None:
    paper = parse_feed(fixture("query_page1.xml")).papers[1]
    assert paper.arxiv_id == "0710.2073"
    assert paper.version == 2
    assert paper.title == (
        "On coincidence of Alday-Maldacena-regularized $\N{GREEK SMALL LETTER SIGMA}$-model and "
        "Nambu-Goto areas of minimal surfaces"
    )
    assert paper.comment == (
        "3 pages, submitted to JETP Letters, corrected some misprints and missing factors "
        "in formulas (10) and (11)"
    )
    assert paper.doi == "10.1134/S0021364007210011"
    assert paper.journal_ref == "JETP Lett.86:559-561,2008"
    assert paper.published == datetime(2007, 10, 10, 17, 58, 6, tzinfo=UTC)
    assert paper.updated == datetime(2007, 10, 12, 11, 18, 49, tzinfo=UTC)


def test_old_style_id_and_several_authors_without_affiliations() -> None:
    paper = parse_feed(fixture("query_page1.xml")).papers[2]
    assert (paper.arxiv_id, paper.version) == ("cond-mat/0102536", 1)
    assert paper.authors == (
        "David Prendergast",
        "M. Nolan",
        "Claudia Filippi",
        "Stephen Fahy",
        "J. C. Greer",
    )
    assert paper.primary_category == "cond-mat.str-el"
    assert pdf_filename(paper) == "cond-mat_0102536v1.pdf"


def test_second_page_multi_line_title() -> None:
    feed = parse_feed(fixture("query_page2.xml"))
    assert feed.start_index == 3
    (paper,) = feed.papers
    assert paper.arxiv_id == "hep-ex/0307015"
    assert paper.title == (
        "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    )


def test_empty_feed() -> None:
    feed = parse_feed(fixture("query_empty.xml"))
    assert feed.total_results == 0
    assert feed.papers == []
    assert feed.error is None


def test_error_feed_carries_arxivs_reason() -> None:
    feed = parse_feed(fixture("query_error.xml"))
    assert feed.error == "incorrect id format for 1234.12345"
    assert feed.papers == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://arxiv.org/abs/1210.7708v1", ("1210.7708", 1)),
        ("http://arxiv.org/abs/cond-mat/0102536v3", ("cond-mat/0102536", 3)),
        ("https://arxiv.org/pdf/2401.01234v12", ("2401.01234", 12)),
        ("math.GT/0309136", ("math.GT/0309136", 1)),
        ("arXiv:0704.0001", ("0704.0001", 1)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
    ],
)
def test_split_arxiv_id(text: str, expected: tuple[str, int]) -> None:
    assert split_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["", "http://arxiv.org/api/errors#x", "1234", "abc/12"])
def test_split_arxiv_id_refuses_non_ids(text: str) -> None:
    with pytest.raises(ArxivParseError):
        split_arxiv_id(text)


def test_not_a_feed_is_refused() -> None:
    with pytest.raises(ArxivParseError):
        parse_feed(b"<html><body>Service unavailable</body></html>")
    with pytest.raises(ArxivParseError):
        parse_feed(b"not xml at all")


def test_entry_with_unreadable_id_is_skipped_not_fatal() -> None:
    text = fixture("query_page1.xml").replace(b"abs/1210.7708v1</id>", b"abs/garbage</id>")
    feed = parse_feed(text)
    assert [p.arxiv_id for p in feed.papers] == ["0710.2073", "cond-mat/0102536"]
    assert feed.skipped == ["http://arxiv.org/abs/garbage"]


def test_build_search_query() -> None:
    assert build_search_query(["AI", "ML", "RAG"]) == "(all:AI OR all:ML OR all:RAG)"
    assert (
        build_search_query(["large language model"], ["cs.CL", "cs.AI"], author="Hinton")
        == 'all:"large language model" AND (cat:cs.CL OR cat:cs.AI) AND au:Hinton'
    )
    assert build_search_query(query="ti:transformer") == "(ti:transformer)"
    assert build_search_query([], []) == ""


def test_retry_after_as_an_http_date_is_measured_from_the_given_now() -> None:
    import httpx

    from dbcron.handlers.arxiv import _retry_after

    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    response = httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"})
    assert _retry_after(response, now) == 30.0
    assert _retry_after(httpx.Response(503, headers={"Retry-After": "7"}), now) == 7.0
    assert _retry_after(httpx.Response(503), now) is None
