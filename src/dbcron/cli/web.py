"""``dbcron web``: the dashboard, the REST API and the metrics, without a scheduler."""

from __future__ import annotations

import signal
import sys
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
    # The shell runs this command too: give it its own Ctrl-C back afterwards.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    install_signal_handlers(stopping.set)
    try:
        server.start()
        out.print(f"dbcron dashboard: {server.url}", markup=False, soft_wrap=True)
        out.print(f"REST API docs:    {server.url}api/docs", markup=False, soft_wrap=True)
        out.print("Ctrl-C stops it.", markup=False)
        stopping.wait()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


web_user = typer.Typer(
    help="Make the credentials of web.users and web.tokens (no database needed).",
    no_args_is_help=True,
)
app.add_typer(web_user, name="web-user")


@web_user.command("hash")
def hash_password_command() -> None:
    """Read a password (prompted twice, or one line on stdin) and print its argon2 hash
    for web.users.NAME.password_hash."""
    from dbcron.service.credentials import hash_password

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    out.print(hash_password(password), markup=False, soft_wrap=True)


@web_user.command("token")
def new_token_command() -> None:
    """Make a random API token: print it (give it to the client, once) and its SHA-256
    for web.tokens.NAME.token_hash."""
    from dbcron.service.credentials import new_token

    made = new_token()
    out.print(f"token:      {made.token}", markup=False, soft_wrap=True)
    out.print(f"token_hash: {made.token_hash}", markup=False, soft_wrap=True)
