"""``python -m benchmarks [w1 w2 w3 w4 catchup startup web w5] [--quick] [--runs N]``: run the
benchmarks.

``--web`` (or naming ``web``) runs only the web workload: p95 of the REST API and the
dashboard pages over 10,000 jobs and 1,000,000 executions (W5's small databases).
``startup`` times the CLI's start (``dbcron --help``, ``dbcron list``, ``import dbcron``);
``startup --against REV`` also times git revision REV's source tree, alternated with this one.

W5 (scale: 100,000 jobs, 10,000,000 executions) runs only when named, e.g.
``python -m benchmarks w5 --small`` (10,000 / 1,000,000) or ``w5 --jobs N --executions M``;
its databases are built once and kept in ``.bench/w5/`` (``--w5-clean`` drops them).

Prints a table of results against the issue's targets and writes JSON to
``benchmarks/results/latest.json`` (the workloads run now replace their entries; others
are kept) and to a timestamped file next to it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import catchup, startup, w1_burst, w2_lateness, w3_idle, w4_cluster, w5_scale, web
from benchmarks.common import environment

RESULTS = Path(__file__).resolve().parent / "results"
WORKLOADS = ("w1", "w2", "w3", "w4", "catchup", "startup", "web", "w5")
#: Run only when named (W5 builds databases of millions of rows). The web workload's
#: databases (W5's small size) are built once and kept.
DEFAULT_WORKLOADS = ("w1", "w2", "w3", "w4", "catchup", "startup", "web")


def _verdict(value: float, target: float, *, higher_is_better: bool) -> str:
    if math.isnan(value):
        return "no figure"
    if higher_is_better:
        if value >= target:
            return f"met (x{value / target:.2f})"
        return f"MISSED ({value / target:.0%} of target, x{target / value:.1f} short)"
    if value < target:
        return f"met ({value / target:.0%} of limit)"
    return f"MISSED (x{value / target:.1f} over)"


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(workload, figure, measured, target and verdict) rows for the table."""
    rows: list[tuple[str, str, str, str]] = []
    w1 = results.get("w1")
    if w1:
        for c in w1["configs"]:
            rate, target = c["median_rate_per_s"], c["target_per_s"]
            rows.append(
                (
                    "W1 burst",
                    f"{c['backend']} {c['mode']} ({c['workers']} workers), median of "
                    f"{len(c['rates_per_s'])}",
                    f"{rate:,.0f}/s",
                    f">= {target:,.0f}/s: "
                    + _verdict(rate, target, higher_is_better=True)
                    + ("" if c["all_correct"] else "; WRONG ROW COUNT/DUPLICATES"),
                )
            )
            inst = c.get("instrumented")
            if inst:
                k = inst["counts"]
                extra = ""
                if "server_commits_per_execution" in k:
                    extra = f", server xact_commit {k['server_commits_per_execution']}/exec"
                rows.append(
                    (
                        "W1 burst",
                        f"{c['backend']} {c['mode']}: statements, commits per execution",
                        f"{k['statements_per_execution']} stmts, "
                        f"{k['commits_per_execution']} commits{extra}",
                        "-",
                    )
                )
    w2 = results.get("w2")
    if w2:
        for r in w2["runs"]:
            s, h = r["started_at_minus_scheduled_ms"], r["handler_entry_minus_scheduled_ms"]
            for key, limit in w2_lateness.TARGETS_MS.items():
                rows.append(
                    (
                        "W2 lateness",
                        f"{r['backend']} {key} (started_at; handler entry)",
                        f"{s[key]:.1f} ms; {h[key]:.1f} ms",
                        f"< {limit:.0f} ms: " + _verdict(s[key], limit, higher_is_better=False),
                    )
                )
    w3 = results.get("w3")
    if w3:
        for r in w3["runs"]:
            b = f"{r['backend']} {r.get('jobs', 10_000):,} jobs"
            rows.append(
                (
                    "W3 idle",
                    f"{b} CPU of the process tree over {r['window_seconds']:.0f}s",
                    f"{r['cpu_seconds_per_minute']:.3f} CPU-s/min",
                    "< 0.1 CPU-s/min: "
                    + _verdict(r["cpu_seconds_per_minute"], 0.1, higher_is_better=False),
                )
            )
            rows.append(
                (
                    "W3 idle",
                    f"{b} scheduler RSS",
                    f"{r['scheduler_rss_mib']:.1f} MiB",
                    "< 60 MiB: " + _verdict(r["scheduler_rss_mib"], 60, higher_is_better=False),
                )
            )
            rows.append(
                (
                    "W3 idle",
                    f"{b} worker pool RSS ({r['pool_processes']} processes; PSS)",
                    f"{r['pool_rss_mib']:.1f} MiB ({r['pool_pss_mib']:.1f} MiB)",
                    "-",
                )
            )
            rows.append(
                (
                    "W3 idle",
                    f"{b} time to ready",
                    f"{r['ready_seconds']:.2f} s",
                    "< 1 s: " + _verdict(r["ready_seconds"], 1.0, higher_is_better=False),
                )
            )
    w4 = results.get("w4")
    if w4:
        rows.append(
            (
                "W4 cluster",
                f"3 nodes x {w4_cluster.WORKERS} threads, PostgreSQL, median of {len(w4['runs'])}",
                f"{w4['median_rate_per_s']:,.0f}/s",
                "zero duplicates: " + ("yes" if w4["all_correct"] else "NO"),
            )
        )
    up = results.get("catchup")
    if up:
        for c in up["cases"]:
            rows.append(
                (
                    "catch-up",
                    f"plan_fires after 30 days down, {c['expression']} {c['timezone']}",
                    f"{c['ms_per_job']:.2f} ms/job ({c['rows']} rows)",
                    f"< {c['target_ms']:.0f} ms: "
                    + _verdict(c["ms_per_job"], c["target_ms"], higher_is_better=False),
                )
            )
        for c in up.get("claims", []):
            rows.append(
                (
                    "catch-up",
                    f"SQLite claim of {c['jobs_per_claim']} such jobs (* * * * *), backlog "
                    f"cut at {c['limit']}",
                    f"{c['ms_per_job']:.2f} ms/job ({c['rows_per_job']} rows)",
                    "-",
                )
            )
    up = results.get("startup")
    if up:
        rows.extend(startup_rows(up))
    if results.get("web"):
        rows.extend(web.rows(results["web"]))
    w5 = results.get("w5")
    if w5:
        rows.extend(w5_rows(w5))
    return rows


def startup_rows(up: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The start-up rows: per source tree, bytecode condition and command line, the median
    and p95 wall time against the target."""
    rows: list[tuple[str, str, str, str]] = []
    target = up["target_s"]
    for tree, modes in up["trees"].items():
        for mode, commands in modes.items():
            for name, f in commands.items():
                verdict = (
                    f"< {target:.2f} s median: "
                    + _verdict(f["median_s"], target, higher_is_better=False)
                    if name in startup.TARGETED
                    else "-"
                )
                rows.append(
                    (
                        "startup",
                        f"{up['commands'][name]}, bytecode {mode} ({tree}), median; p95 of "
                        f"{up['runs']}",
                        f"{f['median_s']:.3f} s; {f['p95_s']:.3f} s",
                        verdict,
                    )
                )
    return rows


def w5_rows(w5: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The W5 rows: per backend and command, CLI and database p95 against the targets."""
    rows: list[tuple[str, str, str, str]] = []
    size = f"{w5['jobs']:,} jobs / {w5['executions']:,} execs"
    targets = w5["targets"]

    def figure(r: dict[str, Any] | None, limit: float) -> tuple[str, str]:
        if r is None:
            return "-", "-"
        if "error" in r:
            return "error", "-"
        if not r["finished"]:
            return r["note"], "MISSED"
        return f"{r['p95_ms']:.1f} ms", _verdict(r["p95_ms"], limit, higher_is_better=False)

    for res in w5["results"]:
        b = res["backend"]
        for name, entry in res["commands"].items():
            cli, cli_v = figure(entry["cli"], targets["cli_p95_ms"])
            db, db_v = figure(entry.get("db"), targets["db_p95_ms"])
            rows.append(
                (
                    "W5 scale",
                    f"{b} {name} p95 CLI; db ({size})",
                    f"{cli}; {db}",
                    f"< 500 ms: {cli_v}; < 50 ms: {db_v}",
                )
            )
        m = res["maintenance"]
        rows.append(
            (
                "W5 scale",
                f"{b} maintenance (30 days, one day old)",
                f"{m.get('deleted', '?')} rows in {m.get('prune_seconds', '?')} s, longest "
                f"batch {m.get('batch_ms_max', '?')} ms",
                "batch < 100 ms, finished: " + ("yes" if m.get("finished") else "NO"),
            )
        )
    return rows


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """Print ``rows`` as an aligned text table."""
    head = ("workload", "figure", "measured", "target")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print(line)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads (all by default) and report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "workloads",
        nargs="*",
        metavar="WORKLOAD",
        help="w1 w2 w3 w4 catchup startup web (all of these by default) w5",
    )
    parser.add_argument("--quick", action="store_true", help="small, fast smoke mode")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed runs for W1 and W4; startup: per command"
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        default=None,
        help="startup: also time git revision REV's source tree, alternated with this one",
    )
    parser.add_argument("--jobs", type=int, default=None, help="W5: jobs (100,000)")
    parser.add_argument("--executions", type=int, default=None, help="W5: executions (10,000,000)")
    parser.add_argument(
        "--small", action="store_true", help="W5: 10,000 jobs, 1,000,000 executions"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="W5: comma-separated backends"
    )
    parser.add_argument(
        "--limit", type=float, default=60.0, help="W5: seconds per command before giving up"
    )
    parser.add_argument(
        "--w5-clean", action="store_true", help="W5: drop the cached databases and exit"
    )
    parser.add_argument(
        "--web", action="store_true", help="only the web workload (same as naming web)"
    )
    args = parser.parse_args(argv)
    if args.w5_clean:
        w5_scale.clean()
        return 0
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(
            f"unknown workload(s) {', '.join(unknown)} (choose from {' '.join(WORKLOADS)})"
        )
    chosen = args.workloads or (["web"] if args.web else list(DEFAULT_WORKLOADS))
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "w1": lambda: w1_burst.run(args.quick, args.runs),
        "w2": lambda: w2_lateness.run(args.quick),
        "w3": lambda: w3_idle.run(args.quick),
        "w4": lambda: w4_cluster.run(args.quick, args.runs),
        "catchup": lambda: catchup.run(args.quick),
        "startup": lambda: startup.run(args.quick, args.runs, args.against),
        "web": lambda: web.run(args.quick, tuple(args.backends.split(","))),
        "w5": lambda: w5_scale.run(
            args.quick,
            args.jobs,
            args.executions,
            args.small,
            args.runs,
            tuple(args.backends.split(",")),
            args.limit,
        ),
    }
    env = environment()
    print(
        f"dbcron {env['dbcron_version']} @ {env['dbcron_commit'][:10]}"
        f"{' (src modified)' if env['src_dirty'] else ''}; {env['nproc']} x {env['cpu_model']}, "
        f"{env['ram_gib']} GiB; Python {env['python']}, SQLite {env['sqlite']}, "
        f"PostgreSQL {env['postgresql']}{'; QUICK mode' if args.quick else ''}",
        flush=True,
    )
    results: dict[str, Any] = {}
    failures: list[str] = []
    started = time.monotonic()
    for name in WORKLOADS:
        if name in chosen:
            t = time.monotonic()
            print(f"{name} ...", flush=True)
            try:
                results[name] = runners[name]()
            except Exception as exc:  # keep going: one broken workload must not lose the rest
                traceback.print_exc()
                failures.append(name)
                print(f"{name} FAILED: {exc}", flush=True)
                continue
            results[name]["quick"] = args.quick
            results[name]["seconds"] = round(time.monotonic() - t, 1)
    total = time.monotonic() - started
    rows = summary_rows(results)
    print_table(rows)
    print(f"total {total:.0f}s", flush=True)
    _write(results, env, rows, args.quick)
    if failures:
        print(f"FAILED workloads: {' '.join(failures)}", flush=True)
        return 1
    return 0


def _write(
    results: dict[str, Any],
    env: dict[str, Any],
    rows: list[tuple[str, str, str, str]],
    quick: bool,
) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_doc = {"environment": env, "quick": quick, "workloads": results, "table": rows}
    (RESULTS / f"{stamp}{'-quick' if quick else ''}.json").write_text(
        json.dumps(run_doc, indent=2, default=str)
    )
    latest_path = RESULTS / "latest.json"
    latest: dict[str, Any] = {}
    if latest_path.exists():
        try:
            latest = json.loads(latest_path.read_text())
        except ValueError:
            latest = {}
    latest.setdefault("workloads", {}).update(results)
    latest["environment"] = env
    latest["updated_at"] = datetime.now(UTC).isoformat()
    latest["table"] = summary_rows(latest["workloads"])
    latest_path.write_text(json.dumps(latest, indent=2, default=str))
    print(f"results: {latest_path} (and {stamp}.json)")


if __name__ == "__main__":  # the guard matters: process-mode workers re-import __main__
    sys.exit(main())
