"""``dbcron web`` and ``dbcron start --web`` as a user runs them."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx

from tests.acceptance.conftest import Cli

URL = re.compile(r"(http://127\.0\.0\.1:\d+/)")


def _url_from(stream: IO[str], marker: str) -> str:
    """The first URL on a line containing ``marker`` (reading as the process writes)."""
    seen = []
    for line in stream:
        seen.append(line)
        found = URL.search(line)
        if marker in line and found:
            return found.group(1)
    raise AssertionError(f"no {marker!r} line with a URL in: {''.join(seen)}")


@contextmanager
def _running(
    cli: Cli, *args: str, marker: str, stream: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = cli.popen(*args)
    try:
        pipe = proc.stdout if stream == "stdout" else proc.stderr
        assert pipe is not None
        yield _url_from(pipe, marker), proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def test_web_serves_until_interrupted(cli: Cli) -> None:
    cli.ok("init")
    with _running(cli, "web", "--port", "0", marker="dashboard", stream="stdout") as (url, proc):
        assert httpx.get(f"{url}readyz").json()["status"] == "ready"
        assert httpx.get(f"{url}api/docs").status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_web_refuses_a_public_address_without_auth(cli: Cli) -> None:
    cli.ok("init")
    before = cli.dump()
    refused = cli("web", "--host", "0.0.0.0", "--port", "0")
    assert refused.code == 2
    assert refused.err.startswith("error: web.host 0.0.0.0 is not a loopback address")
    assert len(refused.err.strip().splitlines()) == 1
    assert cli.dump() == before


def test_start_with_web_serves_beside_the_scheduler(cli: Cli) -> None:
    cli.ok("init")
    args = ("start", "--executor", "thread", "--web", "--port", "0")
    with _running(cli, *args, marker="dashboard at", stream="stderr") as (url, proc):
        assert httpx.get(f"{url}healthz").json() == {"status": "ok"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_web_user_credentials_and_a_public_address_with_auth(cli: Cli) -> None:
    from dbcron.service.credentials import verify_password

    hashed = cli.ok("web-user", "hash", stdin="a long password\n").out.strip()
    assert verify_password(hashed, "a long password")
    short = cli("web-user", "hash", stdin="short\n")
    assert short.code == 2 and short.err.strip() == (
        "error: the password must be at least 8 characters"
    )
    made = dict(line.split(":", 1) for line in cli.ok("web-user", "token").out.strip().splitlines())
    token, token_hash = made["token"].strip(), made["token_hash"].strip()
    cli.ok("init")
    cli.env["DBCRON_WEB__TOKENS"] = f'{{"grafana": {{"token_hash": "{token_hash}"}}}}'
    shown = cli.ok("config").out
    assert "grafana" in shown and token_hash not in shown
    proc = cli.popen("web", "--host", "0.0.0.0", "--port", "0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = re.search(r"http://0\.0\.0\.0:(\d+)/", line)
        assert port is not None, line + proc.stderr.read() if proc.stderr else line
        metrics = f"http://127.0.0.1:{port.group(1)}/metrics"
        assert httpx.get(metrics).status_code == 401
        scraped = httpx.get(metrics, headers={"authorization": f"Bearer {token}"})
        assert scraped.status_code == 200 and "dbcron_database_up 1.0" in scraped.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
