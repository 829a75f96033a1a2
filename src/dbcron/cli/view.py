"""``--wide`` and ``--utc``: how the commands that print tables and times print them.

One definition of each option, reused by every such command, and :func:`emit`, which
prints a rendering at the terminal's width or, with ``--wide``, at the width it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.measure import Measurement

#: Wider than any line dbcron prints: what a rendering is measured against for --wide.
UNBOUNDED = 100_000

WideFlag = Annotated[
    bool,
    typer.Option("--wide", "-w", help="Print every column whole (lines may exceed the terminal)."),
]
UtcFlag = Annotated[
    bool, typer.Option("--utc", help="Show times in UTC instead of each job's time zone.")
]


@dataclass(frozen=True)
class View:
    """How one command prints: tables fitted to the terminal or whole (``wide``), times
    in each job's own time zone or in UTC (``utc``)."""

    wide: bool = False
    utc: bool = False

    def zone(self, job_zone: str) -> str:
        """The zone a time of a job whose zone is ``job_zone`` is shown in."""
        return "UTC" if self.utc else job_zone

    @property
    def zone_title(self) -> str:
        """What a column title says about its times: ``job zone`` or ``UTC``."""
        return "UTC" if self.utc else "job zone"

    def times_note(self, job_zone: str) -> str:
        """What a one-job view says about its times: ``Europe/Berlin (the job's zone)``
        or ``UTC``."""
        return "UTC" if self.utc else f"{job_zone} (the job's zone)"


def emit(console: Console, renderable: RenderableType, view: View) -> None:
    """Print ``renderable`` on ``console``: fitted to its width, or (``view.wide``) on a
    console as wide as the rendering's widest line, so that nothing is cut or wrapped."""
    if not view.wide:
        console.print(renderable)
        return
    options = console.options.update_width(UNBOUNDED)
    needed = Measurement.get(console, options, renderable).maximum
    wide = Console(
        file=console.file,
        width=max(console.width, needed),
        force_terminal=console.is_terminal,
        no_color=console.no_color,
        highlight=False,
        soft_wrap=False,
    )
    wide.print(renderable)
