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
