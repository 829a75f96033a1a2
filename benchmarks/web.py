"""Web: how fast the REST API (and the dashboard pages, where they exist) answer over
10,000 jobs and 1,000,000 executions (issue #13); target p95 < 200 ms (``/metrics``
< 100 ms) over 50 requests each.

The databases are W5's small size, built once and kept (:func:`w5_scale.build`). The
server is ``python -m dbcron --db URL web`` in its own process (the committed code, as
W5 measures it); the requests come from this process over loopback, one at a time, after
three warm-up requests per URL. A dashboard page or ``/metrics`` that is not on this
branch (404) is reported as absent, not timed.
"""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from benchmarks import w5_scale
from benchmarks.common import PYTHON, percentile

TARGET_MS = 200.0
METRICS_TARGET_MS = 100.0
REQUESTS = 50
WARM_UP = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``dbcron web`` over ``url``; returns once it answers ``/healthz``."""
    port = _free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "dbcron", "--db", url, "web", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dbcron web exited: {proc.stderr.read().decode()[-500:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet
    proc.kill()
    raise RuntimeError("dbcron web did not answer within 60 s")


def _time(client: httpx.Client, path: str, requests: int) -> dict[str, Any]:
    """p50/p95/max of ``requests`` GETs of ``path`` (after the warm-up)."""
    first = client.get(path)
    if first.status_code == 404:
        return {"absent": True}
    if first.status_code != 200:
        return {"error": f"HTTP {first.status_code}: {first.text[:200]}"}
    for _ in range(WARM_UP - 1):
        client.get(path)
    times: list[float] = []
    for _ in range(requests):
        t = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            return {"error": f"HTTP {response.status_code}"}
    return {
        "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "bytes": len(first.content),
    }


def measure(backend: str, meta: dict[str, Any], requests: int) -> dict[str, Any]:
    """Every URL's figures over one built database."""
    url = w5_scale.db_url(backend, meta["key"])
    env, _ = w5_scale.head_env()
    job = meta["sample_job"]["job_id"]
    proc, base = _serve(url, env)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deep = client.get("/api/v1/executions", params={"limit": 500}).json()["next_cursor"]
            paths = {
                "API jobs (first page)": "/api/v1/jobs?limit=50",
                "API jobs by next run": "/api/v1/jobs?limit=50&sort=next_run",
                "API jobs, name search": "/api/v1/jobs?limit=50&name=heavy-0001",
                "API executions (first page)": "/api/v1/executions?limit=50",
                "API executions (page 11)": f"/api/v1/executions?limit=50&cursor={deep}",
                "API executions, failed": "/api/v1/executions?limit=50&status=failed",
                "API a job's history": f"/api/v1/jobs/{job}/executions?limit=50",
                "API a job": f"/api/v1/jobs/{job}",
                "API status": "/api/v1/status",
                "page /": "/",
                "page /jobs": "/jobs",
                f"page /jobs/{job[:8]}": f"/jobs/{job}",
                "/metrics": "/metrics",
            }
            out: dict[str, Any] = {}
            for name, path in paths.items():
                out[name] = _time(client, path, requests)
                out[name]["target_ms"] = METRICS_TARGET_MS if name == "/metrics" else TARGET_MS
                print(f"  web {backend:<10} {name:<28} {_fmt(out[name])}", flush=True)
            return out
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _fmt(entry: dict[str, Any]) -> str:
    if entry.get("absent"):
        return "not on this branch (404)"
    if "error" in entry:
        return str(entry["error"])
    return f"p95 {entry['p95_ms']} ms (p50 {entry['p50_ms']}, max {entry['max_ms']})"


def run(
    quick: bool,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
) -> dict[str, Any]:
    """The web figures on each backend (``quick``: 1,000 jobs, 100,000 executions, 10
    requests per URL)."""
    jobs, executions = (1_000, 100_000) if quick else w5_scale.SMALL
    requests = 10 if quick else REQUESTS
    out: dict[str, Any] = {"jobs": jobs, "executions": executions, "requests": requests}
    out["results"] = []
    for backend in backends:
        meta = w5_scale.build(backend, jobs, executions)
        print(
            f"  web {backend:<10} {jobs:,} jobs, {executions:,} executions"
            + (" (reused)" if meta["reused"] else f" (built in {meta['build_seconds']:.0f}s)"),
            flush=True,
        )
        out["results"].append({"backend": backend, "urls": measure(backend, meta, requests)})
    out["measured_at"] = datetime.now(UTC).isoformat()
    return out


def rows(web: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The summary rows: per backend and URL, p95 against its target."""
    out: list[tuple[str, str, str, str]] = []
    size = f"{web['jobs']:,} jobs / {web['executions']:,} execs"
    for res in web["results"]:
        for name, entry in res["urls"].items():
            target = entry["target_ms"]
            if entry.get("absent") or "error" in entry:
                figure, verdict = _fmt(entry), "-"
            else:
                figure = f"{entry['p95_ms']:.1f} ms"
                verdict = "ok" if entry["p95_ms"] < target else "MISSED"
            out.append(
                (
                    "Web",
                    f"{res['backend']} {name} p95 ({size})",
                    figure,
                    f"< {target:.0f} ms: {verdict}",
                )
            )
    return out
