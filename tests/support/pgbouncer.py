"""A real PgBouncer in transaction mode in front of the test PostgreSQL server.

Started on a free port for the run (installing Debian's ``pgbouncer`` when missing),
so that the PostgreSQL suites also prove that dbcron works through a transaction-mode
pooler, as it must through Supabase's port 6543.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.pgserver import _as_postgres, answers, free_port


def pgbouncer_binary() -> str:
    """Path of the pgbouncer executable, installing the Debian package if needed."""
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "pgbouncer"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return "/usr/sbin/pgbouncer"


@dataclass
class Bouncer:
    """A running PgBouncer."""

    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    def url_for(self, dbname: str, *, flagged: bool = True) -> str:
        """A URL to ``dbname`` through the bouncer. ``flagged`` adds ``dbcron_listen=off``
        (the user saying that this is a transaction pooler); without it, dbcron has to
        find that out by itself."""
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"
        return f"{url}?dbcron_listen=off" if flagged else url

    def stop(self) -> None:
        """Stop it and remove its files."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_bouncer(server_url: str) -> Bouncer:
    """Start PgBouncer (pool_mode=transaction) for every database of ``server_url``."""
    binary = pgbouncer_binary()
    target = urlsplit(server_url)
    folder = Path(tempfile.mkdtemp(prefix="dbcron-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target.hostname or '127.0.0.1'} port={target.port or 5432}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        "max_client_conn = 1000\n"
        "default_pool_size = 40\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    if os.geteuid() == 0:
        for path in (folder, folder / "users.txt", folder / "pgbouncer.ini"):
            shutil.chown(path, "postgres")
    process = subprocess.Popen(
        [*_as_postgres(), binary, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bouncer = Bouncer(port, process, folder)
    deadline = time.monotonic() + 20
    probe = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    while not answers(probe):
        if process.poll() is not None or time.monotonic() > deadline:
            log = (
                (folder / "pgbouncer.log").read_text()
                if (folder / "pgbouncer.log").exists()
                else ""
            )
            bouncer.stop()
            raise RuntimeError(f"pgbouncer did not start: {log[-500:]}")
        time.sleep(0.1)
    return bouncer
