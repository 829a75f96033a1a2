"""``dbcron papers``: list the papers that ``paper_fetch`` jobs stored.

The command lives in its own module; :func:`register` adds it to a Typer app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.text import Text

from dbcron.cli import render
from dbcron.cli.context import CliContext
from dbcron.cli.tables import Column, Fitted, Grid
from dbcron.cli.view import View, WideFlag, emit
from dbcron.models import StoredPaper
from dbcron.serialize import to_jsonable


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


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
    """One row per paper: id and version, publication date, category, title, authors
    (where the terminal is too narrow, without the category)."""
    if not papers:
        return Text("No papers. A paper_fetch job stores them when it runs.", style="dim")

    def layout(category: bool) -> Grid:
        grid = Grid(
            Column("ARXIV ID"),
            Column("PUBLISHED"),
            *([Column("CATEGORY")] if category else []),
            Column("TITLE", free=True, minimum=24),
            Column("AUTHORS", free=True, minimum=16),
        )
        for paper in papers:
            grid.add_row(
                paper.versioned_id,
                paper.published.strftime("%Y-%m-%d") if paper.published else "-",
                *([paper.primary_category or "-"] if category else []),
                paper.title,
                _authors(paper),
            )
        return grid

    return Fitted([layout(category=True), layout(category=False)])


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
        wide: WideFlag = False,
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
            emit(out, papers_table(found), View(wide=wide))
