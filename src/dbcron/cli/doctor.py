"""``dbcron doctor``: one line per check of the installation; exit status 1 when any
check fails."""

from __future__ import annotations

import typer

from dbcron.cli import render
from dbcron.cli.root import JsonFlag, _ctx, app, out
from dbcron.serialize import to_jsonable


@app.command()
def doctor(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Check the installation, one line per check (exit status 1 when one fails).

    The database connection and its round trip, the schema version, the pooler and
    LISTEN/NOTIFY (SQLite: the journal mode), row level security against Supabase's
    public roles, the clock skew, the live schedulers, the handlers of every job type
    and job, and where the configuration came from."""
    from dbcron.service.doctor import Doctor

    state = _ctx(ctx)
    # Both run inside the doctor: a configuration that cannot be loaded or a database
    # that is down is one of its failed checks, not an early error.
    report = Doctor(lambda: state.loaded, lambda: state.open_store(check_schema=False)).run()
    if as_json:
        render.print_json(out, to_jsonable(report.checks))
    else:
        out.print(render.doctor_report(report.checks), soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)
