"""Jobs as files: ``export`` and ``apply`` (the service: :mod:`dbcron.service.jobfiles`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dbcron.cli import render
from dbcron.cli.root import _ctx, app, err, out
from dbcron.errors import ValidationError


@app.command()
def export(
    ctx: typer.Context,
    jobs: Annotated[
        list[str] | None,
        typer.Argument(help="Only these jobs (ids, keys or names).", metavar="JOB"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-F", help="yaml or json.")] = "yaml",
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="Only jobs in this state.")
    ] = None,
    job_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Only jobs of this type.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE instead of printing.", metavar="FILE"),
    ] = None,
) -> None:
    """Write jobs as a declarative YAML or JSON file that dbcron apply reads back."""
    exported = _ctx(ctx).job_files.export(jobs or (), status=status, job_type=job_type, fmt=fmt)
    if output is None:
        out.file.write(exported.text)
        return
    try:
        output.write_text(exported.text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot write {output}: {exc.strerror}") from None
    out.print(f"Exported {exported.jobs} job{'' if exported.jobs == 1 else 's'} to {output}.")


@app.command()
def apply(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Option(
            "--file",
            "-f",
            help="The jobs file, YAML or JSON ('-': standard input).",
            metavar="FILE",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan only; write nothing.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also delete the jobs with a key that the file lacks.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
) -> None:
    """Make the jobs match a file (create, update, with --prune delete), plan first."""
    from dbcron.service.jobfiles import Action

    files = _ctx(ctx).job_files
    plan = files.plan(_read(file), file, prune=prune)
    if not plan.has_changes:
        out.print(f"No changes: the jobs match {file} ({len(plan.items)} in the file).")
        return
    out.print(render.plan_view(plan))
    if dry_run:
        out.print("Dry run: nothing was written.")
        return
    deletes = len(plan.of(Action.DELETE))
    if not yes:
        if sys.stdin.isatty():
            if not typer.confirm("Apply these changes?", default=False):
                err.print("Nothing was written.")
                raise typer.Exit(1)
        elif deletes:
            raise ValidationError(
                f"the plan deletes {deletes} job{'' if deletes == 1 else 's'}: confirm with "
                "--yes (nothing was written)"
            )
    result = files.apply(plan)
    out.print(
        f"Applied {file}: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.deleted)} deleted."
    )


def _read(file: str) -> str:
    """The text of ``file`` (``-``: standard input)."""
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"cannot read {file}: it is not UTF-8 text") from None
