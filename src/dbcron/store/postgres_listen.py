"""LISTEN/NOTIFY and poolers on PostgreSQL: whether a connection reaches the server
itself, dbcron's own ``dbcron_listen`` URL parameter, and the probe that tells a LISTEN
that delivers from one behind a transaction-mode pooler (which never does)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from dbcron.clock import SYSTEM_CLOCK

#: How long the NOTIFY a new listener sends itself may take to arrive before LISTEN is
#: taken not to work (a transaction-mode pooler); a direct connection needs milliseconds.
LISTEN_PROBE_SECONDS = 1.5


def _reaches_server_directly(conn: psycopg.Connection[Any], ends: dict[str, Any]) -> bool:
    """Whether ``conn`` talks to the PostgreSQL server itself: the client port the server
    sees is this socket's own, and the server listens on the port this socket reached.
    A pooler or proxy in between sees its own ports; a Unix socket proves nothing."""
    client_port, server_port = ends.get("client_port"), ends.get("server_port")
    if client_port is None or server_port is None:
        return False
    try:
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            local, peer = sock.getsockname(), sock.getpeername()
    except (OSError, psycopg.Error):
        return False
    if not isinstance(local, tuple) or not isinstance(peer, tuple):
        return False
    return bool(local[1] == client_port and peer[1] == server_port)


def _take_listen_param(url: str) -> tuple[str, bool | None]:
    """Remove dbcron's own ``dbcron_listen=on|off`` from the URL (libpq would refuse it)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    mine = [v for k, v in pairs if k == "dbcron_listen"]
    if not mine:
        return url, None
    rest = urlencode([(k, v) for k, v in pairs if k != "dbcron_listen"])
    return urlunsplit(parts._replace(query=rest)), mine[-1].lower() in ("on", "true", "1")


def probe_listener(
    url: str, listen_sql: str, send_probe: Callable[[], None]
) -> tuple[psycopg.Connection[Any], bool, float]:
    """A new autocommit connection to ``url`` that has run ``listen_sql``; whether the
    NOTIFY that ``send_probe`` sends (through another connection) reached it within
    :data:`LISTEN_PROBE_SECONDS`; and how long that took or was waited for.

    The NOTIFY must travel through another connection: through a transaction pooler the
    listener's server session went back to the pool once the LISTEN was done, and nothing
    sent later reaches this client. The caller owns the connection (closed here when the
    probe raises).
    """
    conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    try:
        conn.execute(listen_sql)
        send_probe()
        # A real wait on the network: timed by the system clock, not a store's clock
        # (which tests may fake).
        began = SYSTEM_CLOCK.monotonic()
        arrived = any(True for _ in conn.notifies(timeout=LISTEN_PROBE_SECONDS, stop_after=1))
        waited = SYSTEM_CLOCK.monotonic() - began
    except BaseException:
        conn.close()
        raise
    return conn, arrived, waited


def release_listener(conn: psycopg.Connection[Any], unlisten_sql: str) -> None:
    """Close a listening connection, UNLISTENing first (best effort: leave no pooled
    server session listening)."""
    try:
        conn.execute(unlisten_sql)
    except psycopg.Error:
        pass
    finally:
        conn.close()
