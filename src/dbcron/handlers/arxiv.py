"""The arXiv query API: building queries, parsing its Atom feeds, and a polite client.

The API (``GET http://export.arxiv.org/api/query?search_query=...&start=N&max_results=M``)
answers with an Atom 1.0 feed; a query it refuses comes back as HTTP 400 with a feed
holding one entry titled ``Error`` whose summary is the reason. Its terms ask for at
most one request every three seconds, and it answers HTTP 503 (sometimes with
``Retry-After``) to clients that call too often.

:func:`parse_feed` is pure (bytes in, records out). :class:`ArxivClient` adds the
manners: a pause between requests, a descriptive User-Agent, bounded retries with
backoff that honour ``Retry-After``, and no wait or request that would outlive the
job's deadline.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from dbcron.clock import Clock, SystemClock
from dbcron.handlers.context import HandlerFailed, HandlerTimedOut, RetryRequested
from dbcron.models import Paper
from dbcron.version import __version__

#: How dbcron introduces itself to arXiv (and to any server the http job type calls).
USER_AGENT = f"dbcron/{__version__} (+https://pypi.org/project/dbcron/)"

DEFAULT_API_URL = "http://export.arxiv.org/api/query"

_ATOM = "{http://www.w3.org/2005/Atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ARXIV = "{http://arxiv.org/schemas/atom}"

#: New-style ids (``0704.0001``, ``1210.7708``, ``2401.01234``) and old-style ones
#: (``cond-mat/0102536``, ``math.GT/0309136``), each with an optional ``vN``.
_ID = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Za-z\-]{2,})?/\d{7})(?:v(?P<version>\d+))?$"
)

#: Statuses worth retrying: rate limiting and server-side trouble.
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
#: Longest wait a ``Retry-After`` may impose on one retry.
MAX_RETRY_AFTER_SECONDS = 300.0
#: Longest exponential backoff between two attempts (without ``Retry-After``).
MAX_BACKOFF_SECONDS = 60.0


class ArxivParseError(ValueError):
    """The answer is not an arXiv Atom feed."""


@dataclass(frozen=True, slots=True)
class Feed:
    """One page of results."""

    total_results: int
    start_index: int
    items_per_page: int
    papers: list[Paper] = field(default_factory=list)
    error: str | None = None
    """arXiv's reason when the feed is an error report (an entry titled ``Error``)."""
    skipped: list[str] = field(default_factory=list)
    """Ids of entries that could not be read as papers."""


def normalize_space(text: str | None) -> str:
    """``text`` with every run of whitespace (line breaks included) made one space."""
    return " ".join((text or "").split())


def split_arxiv_id(text: str) -> tuple[str, int]:
    """``(id, version)`` from an id or abs/pdf URL; version 1 when none is given.

    >>> split_arxiv_id("http://arxiv.org/abs/cond-mat/0102536v1")
    ('cond-mat/0102536', 1)
    >>> split_arxiv_id("1210.7708v2")
    ('1210.7708', 2)
    """
    value = text.strip().removesuffix(".pdf").rstrip("/")
    for marker in ("/abs/", "/pdf/"):
        if marker in value:
            value = value.split(marker, 1)[1]
            break
    else:
        value = value.removeprefix("arXiv:").removeprefix("arxiv:")
    match = _ID.fullmatch(value)
    if match is None:
        raise ArxivParseError(f"not an arXiv id: {text!r}")
    return match.group("id"), int(match.group("version") or 1)


def _timestamp(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    if found is None:
        return None
    text = normalize_space(found.text)
    return text or None


def _int(root: ET.Element, tag: str) -> int:
    text = root.findtext(tag)
    try:
        return int((text or "0").strip())
    except ValueError:
        return 0


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _paper(entry: ET.Element) -> Paper:
    arxiv_id, version = split_arxiv_id(entry.findtext(f"{_ATOM}id") or "")
    pdf_url = None
    for link in entry.findall(f"{_ATOM}link"):
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf_url = link.get("href")
            break
    primary = entry.find(f"{_ARXIV}primary_category")
    categories = _unique(c.get("term", "") for c in entry.findall(f"{_ATOM}category"))
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=normalize_space(entry.findtext(f"{_ATOM}title")),
        authors=_unique(
            normalize_space(a.findtext(f"{_ATOM}name")) for a in entry.findall(f"{_ATOM}author")
        ),
        abstract=_text(entry, f"{_ATOM}summary"),
        categories=categories,
        primary_category=(primary.get("term") if primary is not None else None)
        or (categories[0] if categories else None),
        published=_timestamp(entry.findtext(f"{_ATOM}published")),
        updated=_timestamp(entry.findtext(f"{_ATOM}updated")),
        doi=_text(entry, f"{_ARXIV}doi"),
        journal_ref=_text(entry, f"{_ARXIV}journal_ref"),
        comment=_text(entry, f"{_ARXIV}comment"),
        pdf_url=pdf_url or f"https://arxiv.org/pdf/{arxiv_id}v{version}",
    )


def parse_feed(data: bytes | str) -> Feed:
    """Read one arXiv API answer. Raises ArxivParseError when it is not an Atom feed."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ArxivParseError(f"not XML: {exc}") from None
    if root.tag != f"{_ATOM}feed":
        raise ArxivParseError(f"not an Atom feed (root element {root.tag})")
    papers: list[Paper] = []
    skipped: list[str] = []
    error: str | None = None
    for entry in root.findall(f"{_ATOM}entry"):
        entry_id = entry.findtext(f"{_ATOM}id") or ""
        title = normalize_space(entry.findtext(f"{_ATOM}title"))
        if title == "Error" and "/api/errors" in entry_id:
            error = _text(entry, f"{_ATOM}summary") or entry_id
            continue
        try:
            papers.append(_paper(entry))
        except ArxivParseError:
            skipped.append(entry_id)
    return Feed(
        total_results=_int(root, f"{_OPENSEARCH}totalResults"),
        start_index=_int(root, f"{_OPENSEARCH}startIndex"),
        items_per_page=_int(root, f"{_OPENSEARCH}itemsPerPage"),
        papers=papers,
        error=error,
        skipped=skipped,
    )


def _term(field_prefix: str, value: str) -> str:
    cleaned = normalize_space(value.replace('"', " "))
    if not cleaned:
        return ""
    if " " in cleaned or "-" in cleaned:
        return f'{field_prefix}:"{cleaned}"'
    return f"{field_prefix}:{cleaned}"


def _any_of(terms: Iterable[str]) -> str:
    present = [t for t in terms if t]
    if not present:
        return ""
    return present[0] if len(present) == 1 else "(" + " OR ".join(present) + ")"


def build_search_query(
    keywords: Iterable[str] = (),
    categories: Iterable[str] = (),
    author: str | None = None,
    query: str | None = None,
) -> str:
    """The API's ``search_query``: any keyword, AND any category, AND the author, AND
    the raw ``query`` (passed through as written). Empty when nothing is given.

    >>> build_search_query(["RAG", "large language model"], ["cs.CL"])
    '(all:RAG OR all:"large language model") AND cat:cs.CL'
    """
    parts = [
        _any_of(_term("all", k) for k in keywords),
        _any_of(_term("cat", c) for c in categories),
        _term("au", author) if author else "",
        f"({query.strip()})" if query and query.strip() else "",
    ]
    return " AND ".join(p for p in parts if p)


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """Seconds the ``Retry-After`` header asks for (a delay or an HTTP date, measured
    from ``now``), bounded by MAX_RETRY_AFTER_SECONDS; None without a usable header."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


class ArxivClient:
    """A polite, deadline-aware client of the arXiv API (and of arXiv's PDF links).

    ``remaining`` tells the seconds left before the job's deadline (None: no
    deadline). No pause, backoff or request is started that would end after it: the
    client raises HandlerTimedOut instead.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        request_interval_seconds: float = 3.0,
        max_retries: int = 3,
        request_timeout_seconds: float = 60.0,
        remaining: Callable[[], float | None] = lambda: None,
        logger: logging.Logger | None = None,
        user_agent: str = USER_AGENT,
        clock: Clock | None = None,
    ) -> None:
        """Prepare a client; nothing is sent yet. ``clock`` tells the time an HTTP-date
        ``Retry-After`` is measured from."""
        self.api_url = api_url
        self.request_interval_seconds = request_interval_seconds
        self.max_retries = max_retries
        self.request_timeout_seconds = request_timeout_seconds
        self._remaining = remaining
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._log = logger or logging.getLogger(__name__)
        self._http = httpx.Client(headers={"User-Agent": user_agent}, follow_redirects=True)
        self._last_request: float | None = None
        self.requests = 0
        """API and PDF requests sent so far (retries included)."""
        self.api_requests = 0
        """API query requests sent so far (retries included)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    # -- time ----------------------------------------------------------------------

    def _sleep(self, seconds: float, why: str) -> None:
        left = self._remaining()
        if left is not None and seconds >= left:
            raise HandlerTimedOut(
                f"{why}: waiting {seconds:.1f}s would pass the job's deadline ({left:.1f}s left)"
            )
        if seconds > 0:
            time.sleep(seconds)

    def _pause_between_requests(self) -> None:
        if self._last_request is None:
            return
        wait = self._last_request + self.request_interval_seconds - self._clock.monotonic()
        if wait > 0:
            self._sleep(wait, "pausing between requests to arXiv")

    def _timeout(self) -> tuple[float, bool]:
        """The request's timeout and whether the job's deadline is what limits it."""
        left = self._remaining()
        if left is None or left > self.request_timeout_seconds:
            return self.request_timeout_seconds, False
        if left <= 0.05:
            raise HandlerTimedOut("the job's deadline passed before the next request to arXiv")
        return left, True

    def _backoff(self, attempt: int) -> float:
        base = max(1.0, self.request_interval_seconds)
        return float(min(MAX_BACKOFF_SECONDS, base * 2**attempt))

    # -- requests ------------------------------------------------------------------

    def _send(self, url: str, params: dict[str, Any] | None) -> tuple[httpx.Response | None, str]:
        """One request; ``(response, "")`` or ``(None, why)`` for a retryable failure."""
        self._pause_between_requests()
        timeout, deadline_bound = self._timeout()
        self._last_request = self._clock.monotonic()
        self.requests += 1
        try:
            response = self._http.get(url, params=params, timeout=timeout)
        except httpx.TimeoutException:
            if deadline_bound:
                raise HandlerTimedOut(
                    f"{url} did not answer before the job's deadline ({timeout:.1f}s)"
                ) from None
            return None, f"no answer within {timeout:.0f}s"
        except httpx.TransportError as exc:
            return None, f"cannot reach {url}: {exc or type(exc).__name__}"
        finally:
            self._last_request = self._clock.monotonic()
        return response, ""

    def search(self, search_query: str, start: int, max_results: int) -> Feed:
        """One page of results, newest submissions first.

        Retries rate limiting (429/503, honouring ``Retry-After``), server errors,
        timeouts and connection failures up to ``max_retries`` times, then raises
        RetryRequested; an error feed (a refused query) raises HandlerFailed with
        arXiv's reason.
        """
        params = {
            "search_query": search_query,
            "start": start,
            "max_results": max_results,
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        attempt = 0
        while True:
            self.api_requests += 1
            response, problem = self._send(self.api_url, params)
            retry_after: float | None = None
            if response is not None:
                status = response.status_code
                if status == 200:
                    try:
                        feed = parse_feed(response.content)
                    except ArxivParseError as exc:
                        problem = f"unreadable answer ({exc})"
                    else:
                        if feed.error:
                            raise HandlerFailed(f"arXiv refused the query: {feed.error}")
                        return feed
                elif status in _RETRYABLE:
                    retry_after = _retry_after(response, self._clock.now())
                    problem = f"HTTP {status}" + (
                        f" (Retry-After {retry_after:g}s)" if retry_after is not None else ""
                    )
                else:
                    raise HandlerFailed(f"arXiv answered HTTP {status}: {_reason(response)}")
            if attempt >= self.max_retries:
                raise RetryRequested(
                    f"arXiv API failed {attempt + 1} time(s), last: {problem}",
                    delay_seconds=retry_after,
                )
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            attempt += 1
            self._log.warning(
                "arXiv API: %s; retry %d of %d in %.1fs", problem, attempt, self.max_retries, delay
            )
            self._sleep(delay, f"backing off after {problem}")

    def download(self, url: str, target: Path) -> bool:
        """Save ``url`` (a PDF) to ``target`` atomically; False when the answer is not a
        PDF or the download failed (logged). Deadline overruns raise HandlerTimedOut."""
        attempt = 0
        while True:
            response, problem = self._send(url, None)
            retry_after: float | None = None
            if response is not None:
                if response.status_code == 200:
                    if not response.content.startswith(b"%PDF"):
                        self._log.warning("%s did not answer with a PDF; not saved", url)
                        return False
                    _write_atomically(target, response.content)
                    return True
                if response.status_code not in _RETRYABLE:
                    self._log.warning("%s answered HTTP %d; not saved", url, response.status_code)
                    return False
                retry_after = _retry_after(response, self._clock.now())
                problem = f"HTTP {response.status_code}"
            if attempt >= self.max_retries:
                self._log.warning("%s: %s; giving up on this PDF", url, problem)
                return False
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            attempt += 1
            self._sleep(delay, f"backing off after {problem}")


def _reason(response: httpx.Response) -> str:
    try:
        feed = parse_feed(response.content)
    except ArxivParseError:
        return normalize_space(response.text)[:200] or "(empty answer)"
    return feed.error or "(no reason given)"


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".pdf", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pdf_filename(paper: Paper) -> str:
    """``<arxiv_id with / replaced by _>v<version>.pdf``: ``cond-mat_0102536v1.pdf``."""
    return f"{paper.arxiv_id.replace('/', '_')}v{paper.version}.pdf"
