"""Tables fitted to the terminal (issue 12): fixed columns never wrap, free text is cut
with an ellipsis, the most detailed layout that fits is printed, --wide prints it whole."""

from __future__ import annotations

import io

from rich.console import Console

from dbcron.cli.tables import Column, Fitted, Grid
from dbcron.cli.view import View, emit

CRON = "*/5 9-17 * * mon-fri"
NAME = "A job whose name is far too long for any terminal of eighty columns wide"


def table(detailed: bool) -> Grid:
    grid = Grid(
        Column("ID"),
        Column("NAME", free=True),
        Column("SCHEDULE"),
        *([Column("EXTRA")] if detailed else []),
    )
    grid.add_row("0123abcd", NAME, CRON, *(["x" * 40] if detailed else []))
    return grid


def printed(width: int, wide: bool = False) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    emit(console, Fitted([table(detailed=True), table(detailed=False)]), View(wide=wide))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue().splitlines()


def test_the_first_layout_that_fits_is_printed_and_free_text_is_cut() -> None:
    narrow = printed(80)
    assert all(len(line) <= 80 for line in narrow)
    assert "EXTRA" not in narrow[0]  # the detailed layout needs 8 + 10 + 20 + 40 + 6 > 80
    [row] = [line for line in narrow if line.startswith("0123abcd")]
    assert CRON in row and "…" in row and NAME not in row

    roomy = printed(200)
    assert "EXTRA" in roomy[0] and any(NAME in line and CRON in line for line in roomy)

    # however narrow, a cron expression is cut, never split across lines
    tiny = printed(30)
    assert all(len(line) <= 30 for line in tiny)
    assert len([line for line in tiny if line.strip()]) == 3  # header, rule, one row


def test_wide_prints_the_first_layout_whole() -> None:
    wide = printed(80, wide=True)
    assert "EXTRA" in wide[0]
    assert any(NAME in line and CRON in line and "x" * 40 in line for line in wide)
