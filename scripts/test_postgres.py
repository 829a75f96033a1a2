"""Run a command (the test-suite) with a PostgreSQL server available.

Usage: python scripts/test_postgres.py -- COMMAND...

Sets DBCRON_TEST_PG_URL for the command: the given one, the local server at
127.0.0.1:5432 when it answers, or a private server started for this run and
removed afterwards. Installs PostgreSQL's binaries, PgBouncer and Chromium (the browser
tests') first when missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.browser import chromium_binary
from tests.support.pgbouncer import pgbouncer_binary
from tests.support.pgserver import DEFAULT_URL, answers, make_private_server, pg_bin_dir


def main(argv: list[str]) -> int:
    """Find or start the server, run the command, clean up; return its exit code."""
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not command:
        print("usage: test_postgres.py -- COMMAND...", file=sys.stderr)
        return 2
    # The tests run in parallel workers: install what they start (PostgreSQL's binaries for
    # the private servers, PgBouncer) once, here, before several workers race apt-get.
    pg_bin_dir(install=True)
    pgbouncer_binary()
    chromium_binary()
    env = dict(os.environ)
    server = None
    url = env.get("DBCRON_TEST_PG_URL") or DEFAULT_URL
    if not answers(url):
        print(f"no PostgreSQL answers at {url}; starting a private server", flush=True)
        server = make_private_server()
        url = server.url
    env["DBCRON_TEST_PG_URL"] = url
    try:
        return subprocess.run(command, env=env).returncode
    finally:
        if server is not None:
            server.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
