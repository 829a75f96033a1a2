"""Find or start a PostgreSQL server for the tests.

The test-suite needs a real PostgreSQL. It uses, in order: ``DBCRON_TEST_PG_URL``;
the server at 127.0.0.1:5432 (user postgres, trust auth) when it answers; otherwise a
private server made with the installed PostgreSQL's ``initdb`` and ``pg_ctl`` in a
temporary directory (installing Debian's ``postgresql`` package when it is missing).
Tests that must stop and restart a server (outages) always make a private one.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when a PostgreSQL server accepts a connection at ``url``."""
    try:
        psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
    except psycopg.Error:
        return False
    return True


def pg_bin_dir(install: bool = True) -> Path:
    """The ``bin`` folder of the newest installed PostgreSQL (installing it if asked)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL installation found (initdb missing)")
    return Path(found[-1]).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres() -> list[str]:
    """Prefix that runs a command as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PrivateServer:
    """A PostgreSQL server of our own, in a temporary directory, on a free port."""

    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        """URL of its ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*_as_postgres(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._pg_ctl("-o", options, "-l", str(self.data_dir / "server.log"), "-w", "start")
        deadline = time.monotonic() + 30
        while not answers(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"private PostgreSQL on port {self.port} did not start")
            time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """Stop it (``fast`` or ``immediate``)."""
        self._pg_ctl("-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        """Stop it and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def make_private_server(port: int | None = None) -> PrivateServer:
    """initdb a new cluster in a temporary directory and start it."""
    bin_dir = pg_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="dbcron-pg-"))
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        [
            *_as_postgres(),
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server = PrivateServer(bin_dir, data, port or free_port())
    server.start()
    return server
