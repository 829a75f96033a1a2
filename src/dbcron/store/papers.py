"""The ``papers`` table: what ``paper_fetch`` jobs found on arXiv.

One row per paper, keyed by its arXiv id without the version (``2401.01234``,
``cond-mat/0102536``). Storing a paper again is an upsert:

- a paper not yet stored is inserted (``first_seen_at`` = ``last_seen_at`` = now, and
  ``job_id`` names the job that found it; not a foreign key, so purging the job keeps
  its papers);
- a newer version replaces every descriptive column and counts as *updated*;
- the same (or an older) version only refreshes ``last_seen_at`` and fills in a DOI,
  journal reference or comment that arXiv added since.

:class:`SqlPapers` is the :class:`~dbcron.store.protocol.PaperStore` capability of the
SQL backends: it runs the backend's named queries from ``sql/<backend>/papers.sql``
through the store's public methods only. The functions below take any
:class:`~dbcron.store.protocol.Store` (what :func:`dbcron.store.open_store` returns)
and ask it for that capability. The records live in :mod:`dbcron.models`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dbcron.errors import StoreError
from dbcron.models import Paper, StoredPaper, UpsertResult
from dbcron.store.base import SqlStore
from dbcron.store.protocol import PaperStore, Store

__all__ = [
    "Paper",
    "SqlPapers",
    "StoredPaper",
    "UpsertResult",
    "get_paper",
    "last_success_started_at",
    "list_papers",
    "upsert_papers",
]


def _like_pattern(search: str) -> str:
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlPapers:
    """The ``papers`` table of a SQL store (see :class:`~dbcron.store.protocol.PaperStore`)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _params(self, paper: Paper, job_id: str | None, now: datetime) -> dict[str, Any]:
        store = self._store
        return {
            "arxiv_id": paper.arxiv_id,
            "version": paper.version,
            "title": paper.title,
            "authors": store.encode_json(list(paper.authors)),
            "abstract": paper.abstract,
            "categories": store.encode_json(list(paper.categories)),
            "primary_category": paper.primary_category,
            "published": store.encode_ts(paper.published),
            "updated": store.encode_ts(paper.updated),
            "doi": paper.doi,
            "journal_ref": paper.journal_ref,
            "comment": paper.comment,
            "pdf_url": paper.pdf_url,
            "now": store.encode_ts(now),
            "job_id": job_id,
        }

    def _stored(self, row: Mapping[str, Any]) -> StoredPaper:
        store = self._store
        return StoredPaper(
            arxiv_id=row["arxiv_id"],
            version=row["version"],
            title=row["title"],
            authors=tuple(store.decode_json(row["authors"])),
            abstract=row["abstract"],
            categories=tuple(store.decode_json(row["categories"])),
            primary_category=row["primary_category"],
            published=store.decode_ts(row["published"]),
            updated=store.decode_ts(row["updated"]),
            doi=row["doi"],
            journal_ref=row["journal_ref"],
            comment=row["comment"],
            pdf_url=row["pdf_url"],
            first_seen_at=store.decode_ts(row["first_seen_at"]),
            last_seen_at=store.decode_ts(row["last_seen_at"]),
            job_id=row["job_id"],
        )

    def upsert_papers(
        self, papers: Iterable[Paper], job_id: str | None, now: datetime
    ) -> UpsertResult:
        """See :meth:`PaperStore.upsert_papers`: the insert is an ``ON CONFLICT DO
        NOTHING`` and the version bump is conditional on the stored version."""
        sql = self._store
        new = updated = 0
        batch = list(papers)
        if not batch:
            return UpsertResult(0, 0)
        with sql.transaction() as cur:
            for paper in batch:
                params = self._params(paper, job_id, now)
                cur.execute(sql.sql("papers_insert_new"), params)
                if cur.rowcount == 1:
                    new += 1
                    continue
                cur.execute(sql.sql("papers_update_newer"), params)
                if cur.rowcount == 1:
                    updated += 1
                    continue
                cur.execute(sql.sql("papers_touch"), params)
        return UpsertResult(new, updated)

    def list_papers(
        self, search: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[StoredPaper]:
        """See :meth:`PaperStore.list_papers`."""
        sql = self._store
        params = {
            "pattern": _like_pattern(search) if search else None,
            "since": sql.encode_ts(since),
            "limit": max(0, limit),
        }
        with sql.transaction(write=False) as cur:
            cur.execute(sql.sql("papers_list"), params)
            rows = cur.fetchall()
        return [self._stored(row) for row in rows]

    def get_paper(self, arxiv_id: str) -> StoredPaper | None:
        """See :meth:`PaperStore.get_paper`."""
        sql = self._store
        with sql.transaction(write=False) as cur:
            cur.execute(sql.sql("papers_get"), {"arxiv_id": arxiv_id})
            row = cur.fetchone()
        return None if row is None else self._stored(row)

    def last_success_started_at(self, job_id: str) -> datetime | None:
        """See :meth:`PaperStore.last_success_started_at`."""
        sql = self._store
        with sql.transaction(write=False) as cur:
            cur.execute(sql.sql("papers_last_success_started_at"), {"job_id": job_id})
            row = cur.fetchone()
        return None if row is None else sql.decode_ts(row["started_at"])


def papers_of(store: Store) -> PaperStore:
    """The store's papers table; StoreError when the backend has none."""
    papers = store.capabilities().papers
    if papers is None:
        raise StoreError(f"the papers table needs a SQL store, not {type(store).__name__}")
    return papers


def upsert_papers(
    store: Store, papers: Iterable[Paper], job_id: str | None, now: datetime
) -> UpsertResult:
    """Store ``papers`` in one transaction; return how many were new and how many updated
    (see :meth:`PaperStore.upsert_papers`)."""
    return papers_of(store).upsert_papers(papers, job_id, now)


def list_papers(
    store: Store,
    search: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[StoredPaper]:
    """Stored papers, newest publication first (see :meth:`PaperStore.list_papers`)."""
    return papers_of(store).list_papers(search, since, limit)


def get_paper(store: Store, arxiv_id: str) -> StoredPaper | None:
    """The stored paper with this id (without version), or None."""
    return papers_of(store).get_paper(arxiv_id)


def last_success_started_at(store: Store, job_id: str) -> datetime | None:
    """When the latest successful execution of ``job_id`` started, or None."""
    return papers_of(store).last_success_started_at(job_id)
