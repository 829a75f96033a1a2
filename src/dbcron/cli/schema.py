"""Schema commands: ``init``, ``migrate``, ``schema``, ``seed``."""

from __future__ import annotations

from typing import Annotated

import typer

from dbcron.cli.root import _ctx, app, out
from dbcron.errors import ValidationError


@app.command()
def init(
    ctx: typer.Context,
    maintenance: Annotated[
        bool,
        typer.Option(
            "--maintenance/--no-maintenance",
            help="Create the daily maintenance job unless one exists (default: yes).",
        ),
    ] = True,
) -> None:
    """Create dbcron's tables (idempotent; safe while schedulers run)."""
    result = _ctx(ctx).runtime.schema_operations(create=True).init(maintenance=maintenance)
    applied = result.applied
    what = f"applied migrations {applied}" if applied else "already up to date"
    out.print(f"Initialised {result.database}: schema version {result.schema_version} ({what}).")
    if result.maintenance_job is not None:
        out.print(f"Created the daily maintenance job {result.maintenance_job.job_id[:8]} (03:00).")


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Upgrade an existing database's schema to this version of dbcron."""
    result = _ctx(ctx).runtime.schema_operations().migrate()
    if result.applied:
        out.print(f"Migrated {result.database} from version {result.before} to {result.after}.")
    else:
        out.print(f"{result.database} is up to date (schema version {result.before}).")


@app.command()
def schema(
    supabase: Annotated[
        bool, typer.Option("--supabase", help="For Supabase: also revoke anon/authenticated.")
    ] = False,
    sqlite: Annotated[bool, typer.Option("--sqlite", help="The SQLite schema instead.")] = False,
) -> None:
    """Print the whole schema as one plain, idempotent SQL script."""
    from dbcron.schema_export import schema_sql

    if supabase and sqlite:
        raise ValidationError("--supabase and --sqlite exclude each other")
    out.file.write(schema_sql("sqlite" if sqlite else "postgres", supabase=supabase))


@app.command()
def seed(ctx: typer.Context) -> None:
    """Create the example jobs (skipping any whose name already exists)."""
    for result in _ctx(ctx).operations.seed():
        if result.job is None:
            out.print(f"exists   {result.name}")
        else:
            out.print(f"created  {result.job.name} ({result.job.job_id[:8]})")
