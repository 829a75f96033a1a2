"""``dbcron web``: the dashboard, the REST API and the metrics, without a scheduler."""

from __future__ import annotations

import threading

import typer

from dbcron.cli.root import HostOption, PortOption, _ctx, app, out


@app.command()
def web(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Serve the dashboard and the REST API (no scheduler; see start --web)."""
    from dbcron.daemon import install_signal_handlers
    from dbcron.web.server import WebServer, web_settings

    runtime = _ctx(ctx).runtime
    settings = web_settings(runtime.settings.web, host=host, port=port)
    runtime.store  # noqa: B018 - a database that is down or not migrated fails here, in one line
    server = WebServer(runtime, settings)
    stopping = threading.Event()
    install_signal_handlers(stopping.set)
    server.start()
    out.print(f"dbcron dashboard: {server.url}", markup=False, soft_wrap=True)
    out.print(f"REST API docs:    {server.url}api/docs", markup=False, soft_wrap=True)
    out.print("Ctrl-C stops it.", markup=False)
    try:
        stopping.wait()
    finally:
        server.stop()
