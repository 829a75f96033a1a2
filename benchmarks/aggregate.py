"""``python -m benchmarks.aggregate``: W1 and W4 medians over every saved full run.

Reads the timestamped (non-quick) result files in ``benchmarks/results/`` and prints,
per configuration, every timed run's rate and the median of all of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from benchmarks.common import median

RESULTS = Path(__file__).resolve().parent / "results"


def collect() -> dict[str, list[float]]:
    """Rates per configuration (``w1 <backend> <mode>`` and ``w4``) over all files."""
    rates: dict[str, list[float]] = defaultdict(list)
    for path in sorted(RESULTS.glob("2*.json")):
        if path.stem.endswith("-quick"):
            continue
        doc = json.loads(path.read_text())
        workloads = doc.get("workloads", {})
        for config in workloads.get("w1", {}).get("configs", []):
            key = f"w1 {config['backend']} {config['mode']} ({config['workers']} workers)"
            rates[key].extend(config["rates_per_s"])
        for run in workloads.get("w4", {}).get("runs", []):
            rates["w4 3 nodes postgresql thread"].append(run["rate_per_s"])
    return rates


def main() -> None:
    """Print the medians."""
    for key, values in collect().items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{key:<40} median {median(values):>8,.0f}/s over {len(values)} runs: {shown}")


if __name__ == "__main__":
    main()
