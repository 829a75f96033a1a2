"""The ``paper_fetch`` job type: search arXiv and store the papers in ``papers``.

What one run does:

1. Builds the search from the config (``keywords`` OR-ed, AND ``categories``, AND
   ``author``, AND a raw ``query``). ``config_path`` may name a YAML file with the
   same settings (at its top level, or under a ``paper_fetch:`` or ``arxiv:`` key):
   the file provides defaults and the job's own config wins, key by key.
2. Decides how far back to look: the configured ``since`` (an ISO date or time) is a
   floor; with ``incremental`` (the default) the run also stops at the start of the
   job's last successful run minus ``incremental_overlap_hours`` (arXiv lists papers
   a day or more after their submission time; the overlap costs nothing, because
   papers already stored are recognised).
3. Pages through the results newest submission first (``page_size`` per request, at
   most ``max_papers`` entries), pausing ``request_interval_seconds`` between
   requests, until the results end or are older than the cutoff. Each page is stored
   in its own transaction, so an interrupted run keeps what it fetched.
4. With ``download_pdfs``, saves each paper's PDF in ``download_dir`` as
   ``<id with / replaced by _>v<version>.pdf``, skipping files already there.

The result: ``{"queried", "fetched", "new", "updated", "downloaded", "pages", ...}``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError

from dbcron.handlers.arxiv import ArxivClient, build_search_query, pdf_filename
from dbcron.handlers.configs import PaperFetchConfig
from dbcron.handlers.context import HandlerContext, HandlerFailed
from dbcron.models import Paper

#: Sections of a YAML ``config_path`` file that may hold the settings.
YAML_SECTIONS = ("paper_fetch", "arxiv")


def run(ctx: HandlerContext) -> dict[str, Any]:
    """Fetch new papers from arXiv into the ``papers`` table."""
    config = load_config(ctx)
    search_query = build_search_query(
        config.keywords, config.categories, config.author, config.query
    )
    if not search_query:
        raise HandlerFailed(
            "nothing to search for: set keywords, categories, author or query in the job config"
        )
    if config.download_pdfs and not config.download_dir:
        raise HandlerFailed("download_pdfs needs download_dir (the folder for the PDFs)")
    store = ctx.store()
    papers = store.capabilities().papers
    if papers is None:
        raise HandlerFailed(f"the papers table needs a SQL store, not {type(store).__name__}")
    since = cutoff(config, papers.last_success_started_at(ctx.job.job_id))
    ctx.logger.info(
        "arXiv search %r, newest first, at most %d papers%s",
        search_query,
        config.max_papers,
        f", submitted since {since.isoformat()}" if since else "",
    )
    totals = {"new": 0, "updated": 0, "fetched": 0, "pages": 0, "skipped_older": 0}
    kept: list[Paper] = []
    with ArxivClient(
        config.api_url,
        request_interval_seconds=config.request_interval_seconds,
        max_retries=config.max_retries,
        request_timeout_seconds=config.request_timeout_seconds,
        remaining=ctx.remaining,
        logger=ctx.logger,
        clock=ctx.clock,
    ) as client:
        start = 0
        empty_retries = 0
        while totals["fetched"] < config.max_papers:
            want = min(config.page_size, config.max_papers - totals["fetched"])
            feed = client.search(search_query, start, want)
            for entry_id in feed.skipped:
                ctx.logger.warning("skipped an entry with an unreadable id: %s", entry_id)
            if not feed.papers:
                if start < feed.total_results and empty_retries < config.max_retries:
                    # arXiv now and then answers a page with no entries although the
                    # results go on; asking again usually brings them.
                    empty_retries += 1
                    ctx.logger.warning(
                        "arXiv sent an empty page at %d of %d results; asking again",
                        start,
                        feed.total_results,
                    )
                    continue
                break
            entries = feed.papers[:want]
            totals["pages"] += 1
            totals["fetched"] += len(entries)
            fresh = [p for p in entries if since is None or _submitted(p) >= since]
            older = len(entries) - len(fresh)
            totals["skipped_older"] += older
            result = papers.upsert_papers(fresh, ctx.job.job_id, ctx.clock.now())
            totals["new"] += result.new
            totals["updated"] += result.updated
            kept.extend(fresh)
            ctx.logger.info(
                "page %d: %d entries (results %d-%d of %d): %d new, %d updated",
                totals["pages"],
                len(entries),
                start + 1,
                start + len(entries),
                feed.total_results,
                result.new,
                result.updated,
            )
            start += len(feed.papers)
            if older:
                ctx.logger.info("reached papers submitted before the cutoff; stopping")
                break
            if start >= feed.total_results:
                break
        downloaded, download_failed = 0, 0
        if config.download_pdfs and config.download_dir:
            downloaded, download_failed = _download(ctx, client, kept, config.download_dir)
        queried = client.api_requests
    return {
        "queried": queried,
        "fetched": totals["fetched"],
        "new": totals["new"],
        "updated": totals["updated"],
        "downloaded": downloaded,
        "download_failed": download_failed,
        "pages": totals["pages"],
        "skipped_older": totals["skipped_older"],
        "since": since.isoformat() if since else None,
    }


def load_config(ctx: HandlerContext) -> PaperFetchConfig:
    """The job's config merged over its ``config_path`` YAML file (the job config wins)."""
    values: dict[str, Any] = dict(ctx.config)
    path = values.get("config_path")
    if path:
        file_values = _read_yaml(Path(str(path)).expanduser(), ctx)
        values = {**file_values, **values}
    try:
        return PaperFetchConfig.model_validate(values)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(config)"
        raise HandlerFailed(f"invalid paper_fetch config: {where}: {first['msg']}") from None


def _read_yaml(path: Path, ctx: HandlerContext) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HandlerFailed(f"cannot read config_path {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise HandlerFailed(f"config_path {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise HandlerFailed(f"config_path {path} must hold a mapping of settings")
    for section in YAML_SECTIONS:
        if isinstance(loaded.get(section), dict):
            loaded = loaded[section]
            break
    known = set(PaperFetchConfig.model_fields) - {"config_path"}
    ignored = sorted(str(k) for k in loaded if k not in known)
    if ignored:
        ctx.logger.info("config_path %s: ignoring %s (not paper_fetch settings)", path, ignored)
    return {str(k): v for k, v in loaded.items() if k in known}


def parse_since(value: str) -> datetime:
    """An ISO date (``2026-01-31``, midnight UTC) or date-time (UTC unless it says)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise HandlerFailed(
            f"since must be an ISO date or date-time like 2026-01-31, not {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def cutoff(config: PaperFetchConfig, last_success: datetime | None) -> datetime | None:
    """The oldest submission time this run wants, or None for no limit."""
    candidates: list[datetime] = []
    if config.since:
        candidates.append(parse_since(config.since))
    if config.incremental and last_success is not None:
        candidates.append(last_success - timedelta(hours=config.incremental_overlap_hours))
    return max(candidates) if candidates else None


def _submitted(paper: Paper) -> datetime:
    return paper.published or paper.updated or datetime.max.replace(tzinfo=UTC)


def _download(
    ctx: HandlerContext, client: ArxivClient, papers: list[Paper], folder: str
) -> tuple[int, int]:
    target_dir = Path(folder).expanduser()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HandlerFailed(f"cannot create download_dir {target_dir}: {exc}") from None
    downloaded = failed = 0
    for paper in papers:
        target = target_dir / pdf_filename(paper)
        if target.exists():
            continue
        if not paper.pdf_url:
            continue
        if client.download(paper.pdf_url, target):
            downloaded += 1
            ctx.logger.info("saved %s", target)
        else:
            failed += 1
    return downloaded, failed
