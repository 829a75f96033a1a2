"""The ``papers`` table: what ``paper_fetch`` jobs found on arXiv.

One row per paper, keyed by its arXiv id without the version (``2401.01234``,
``cond-mat/0102536``). Storing a paper again is an upsert:

- a paper not yet stored is inserted (``first_seen_at`` = ``last_seen_at`` = now, and
  ``job_id`` names the job that found it; not a foreign key, so purging the job keeps
  its papers);
- a newer version replaces every descriptive column and counts as *updated*;
- the same (or an older) version only refreshes ``last_seen_at`` and fills in a DOI,
  journal reference or comment that arXiv added since.

Every function takes a :class:`~dbcron.store.base.SqlStore` (what
:func:`dbcron.store.open_store` returns) and runs the backend's named queries from
``sql/<backend>/papers.sql``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from dbcron.errors import StoreError
from dbcron.store.base import SqlStore
from dbcron.store.protocol import Store


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper as the API describes its latest version."""

    arxiv_id: str
    """The id without version: ``1210.7708`` or ``cond-mat/0102536``."""
    version: int
    title: str
    authors: tuple[str, ...] = ()
    abstract: str | None = None
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    published: datetime | None = None
    """When version 1 was submitted (UTC)."""
    updated: datetime | None = None
    """When this version was submitted (UTC)."""
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    pdf_url: str | None = None

    @property
    def versioned_id(self) -> str:
        """The id with its version, as arXiv writes it: ``1210.7708v1``."""
        return f"{self.arxiv_id}v{self.version}"


@dataclass(frozen=True, slots=True)
class StoredPaper(Paper):
    """A row of the ``papers`` table: the paper and when dbcron saw it."""

    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    job_id: str | None = None
    """The job that first found the paper (the job may since have been purged)."""


class UpsertResult(NamedTuple):
    """How many papers an upsert inserted and how many it moved to a newer version."""

    new: int
    updated: int


def _sql_store(store: Store | SqlStore) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise StoreError(f"the papers table needs a SQL store, not {type(store).__name__}")
    return store


def _params(store: SqlStore, paper: Paper, job_id: str | None, now: datetime) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": store._encode_json(list(paper.authors)),
        "abstract": paper.abstract,
        "categories": store._encode_json(list(paper.categories)),
        "primary_category": paper.primary_category,
        "published": store._encode_ts(paper.published),
        "updated": store._encode_ts(paper.updated),
        "doi": paper.doi,
        "journal_ref": paper.journal_ref,
        "comment": paper.comment,
        "pdf_url": paper.pdf_url,
        "now": store._encode_ts(now),
        "job_id": job_id,
    }


def upsert_papers(
    store: Store | SqlStore, papers: Iterable[Paper], job_id: str | None, now: datetime
) -> UpsertResult:
    """Store ``papers`` in one transaction; return how many were new and how many updated.

    Safe against a concurrent job storing the same paper: the insert is an
    ``ON CONFLICT DO NOTHING`` and the version bump is conditional on the stored
    version, so a race can only turn an insert into an update or a no-op.
    """
    sql = _sql_store(store)
    new = updated = 0
    batch = list(papers)
    if not batch:
        return UpsertResult(0, 0)
    with sql.transaction() as cur:
        for paper in batch:
            params = _params(sql, paper, job_id, now)
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


def _stored(store: SqlStore, row: Mapping[str, Any]) -> StoredPaper:
    return StoredPaper(
        arxiv_id=row["arxiv_id"],
        version=row["version"],
        title=row["title"],
        authors=tuple(store._decode_json(row["authors"])),
        abstract=row["abstract"],
        categories=tuple(store._decode_json(row["categories"])),
        primary_category=row["primary_category"],
        published=store._decode_ts(row["published"]),
        updated=store._decode_ts(row["updated"]),
        doi=row["doi"],
        journal_ref=row["journal_ref"],
        comment=row["comment"],
        pdf_url=row["pdf_url"],
        first_seen_at=store._decode_ts(row["first_seen_at"]),
        last_seen_at=store._decode_ts(row["last_seen_at"]),
        job_id=row["job_id"],
    )


def _like_pattern(search: str) -> str:
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_papers(
    store: Store | SqlStore,
    search: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[StoredPaper]:
    """Stored papers, newest publication first.

    ``search`` matches (case-insensitively, as a plain substring) the title, abstract,
    authors or arXiv id; ``since`` keeps papers published at or after that instant.
    """
    sql = _sql_store(store)
    params = {
        "pattern": _like_pattern(search) if search else None,
        "since": sql._encode_ts(since),
        "limit": max(0, limit),
    }
    with sql.transaction(write=False) as cur:
        cur.execute(sql.sql("papers_list"), params)
        rows = cur.fetchall()
    return [_stored(sql, row) for row in rows]


def get_paper(store: Store | SqlStore, arxiv_id: str) -> StoredPaper | None:
    """The stored paper with this id (without version), or None."""
    sql = _sql_store(store)
    with sql.transaction(write=False) as cur:
        cur.execute(sql.sql("papers_get"), {"arxiv_id": arxiv_id})
        row = cur.fetchone()
    return None if row is None else _stored(sql, row)


def last_success_started_at(store: Store | SqlStore, job_id: str) -> datetime | None:
    """When the latest successful execution of ``job_id`` started, or None."""
    sql = _sql_store(store)
    with sql.transaction(write=False) as cur:
        cur.execute(sql.sql("papers_last_success_started_at"), {"job_id": job_id})
        row = cur.fetchone()
    return None if row is None else sql._decode_ts(row["started_at"])
