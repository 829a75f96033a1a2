"""Tables that fit the terminal.

A :class:`Grid` has fixed columns (ids, cron expressions, types, states, times), which
never wrap, and free-text columns (names, errors), which truncate with an ellipsis to
the width left. A :class:`Fitted` table is one table in several layouts, the most
detailed first: it prints the first layout that fits the width it is given (the last
one otherwise), and ``--wide`` (a console as wide as the first layout) prints the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

#: Columns between two columns of a table.
GAP = 2
#: The narrowest a free-text column gets before a layout counts as not fitting.
FREE_MIN = 10


@dataclass(frozen=True)
class Column:
    """One column of a :class:`Grid`."""

    title: str
    free: bool = False
    """Free text (a name, an error): truncated with an ellipsis to fit, never wrapped."""
    minimum: int = FREE_MIN
    """A free column's narrowest useful width."""
    justify: JustifyMethod = "left"


class Grid:
    """A table of fixed and free-text columns, and the width it needs."""

    def __init__(self, *columns: Column) -> None:
        self.columns = columns
        self.rows: list[list[Text]] = []

    def add_row(self, *cells: str | Text) -> None:
        """Add one row, a cell per column."""
        row = []
        for column, cell in zip(self.columns, cells, strict=True):
            text = Text(cell) if isinstance(cell, str) else cell.copy()
            if column.free:
                # one line, cut with an ellipsis at the column's width
                text = Text(" ").join(text.split("\n")) if "\n" in text.plain else text
                text.no_wrap = True
                text.overflow = "ellipsis"
            row.append(text)
        self.rows.append(row)

    def natural_widths(self) -> list[int]:
        """Each column's width with every cell whole."""
        return [
            max([cell_len(column.title), *(row[i].cell_len for row in self.rows)])
            for i, column in enumerate(self.columns)
        ]

    def width_needed(self) -> int:
        """The width this layout needs: fixed columns whole, free ones at their minimum
        (or whole when narrower)."""
        widths = [
            min(width, column.minimum) if column.free else width
            for column, width in zip(self.columns, self.natural_widths(), strict=True)
        ]
        return sum(widths) + GAP * (len(widths) - 1)

    def table(self) -> Table:
        """The rich table: a rule under the header, two spaces between columns."""
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, GAP - 1, 0, 0),
            header_style="bold",
        )
        for column in self.columns:
            table.add_column(
                Text(column.title, no_wrap=True, overflow="ellipsis"),
                justify=column.justify,
                # rich shrinks only wrappable columns to fit; free cells are no_wrap Text
                no_wrap=not column.free,
                overflow="ellipsis",
            )
        for row in self.rows:
            table.add_row(*row)
        return table


class Fitted:
    """One table in several layouts, the most detailed first; it renders the first that
    fits the width it is given, or the last."""

    def __init__(self, layouts: Sequence[Grid]) -> None:
        if not layouts:
            raise ValueError("a fitted table needs at least one layout")
        self.layouts = layouts

    def chosen(self, width: int) -> Grid:
        """The layout printed at ``width`` columns."""
        for layout in self.layouts:
            if layout.width_needed() <= width:
                return layout
        return self.layouts[-1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.chosen(options.max_width).table()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.layouts[0].table())
