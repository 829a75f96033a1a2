"""``dbcron papers``: list the papers that ``paper_fetch`` jobs stored.

The command lives in its own module; :func:`register` adds it to a Typer app.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from dbcron.cli import render
from dbcron.cli.context import CliContext
from dbcron.models import StoredPaper
from dbcron.serialize import to_jsonable


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def parse_date(value: str | None) -> datetime | None:
    """``--since``: an ISO date (midnight UTC) or date-time (UTC unless it says)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or date-time (e.g. 2026-01-31)", param_hint="--since"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _authors(paper: StoredPaper) -> str:
    if not paper.authors:
        return "-"
    if len(paper.authors) == 1:
        return paper.authors[0]
    return f"{paper.authors[0]} et al. ({len(paper.authors)})"


def papers_table(papers: list[StoredPaper]) -> RenderableType:
    """One row per paper: id and version, publication date, category, title, authors."""
    if not papers:
        return Text("No papers. A paper_fetch job stores them when it runs.", style="dim")
    table = Table(show_edge=False, header_style="bold")
    for column in ("ARXIV ID", "PUBLISHED", "CATEGORY", "TITLE", "AUTHORS"):
        table.add_column(column, overflow="fold")
    for paper in papers:
        table.add_row(
            paper.versioned_id,
            paper.published.strftime("%Y-%m-%d") if paper.published else "-",
            paper.primary_category or "-",
            paper.title,
            _authors(paper),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add the ``papers`` command to ``app`` (whose root context object is a CliContext)."""

    @app.command("papers")
    def papers(
        ctx: typer.Context,
        search: Annotated[
            str | None,
            typer.Option(
                "--search", "-q", help="Text in the title, abstract, authors or arXiv id."
            ),
        ] = None,
        since: Annotated[
            str | None,
            typer.Option("--since", help="Only papers published on or after this ISO date."),
        ] = None,
        limit: Annotated[
            int, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")
        ] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    ) -> None:
        """List the papers fetched from arXiv, newest publication first."""
        since_at = parse_date(since)
        state = ctx.find_root().obj
        assert isinstance(state, CliContext)
        found = state.queries.papers(search=search, since=since_at, limit=limit)
        out = _console()
        if as_json:
            render.print_json(out, to_jsonable(found))
        else:
            out.print(papers_table(found))
