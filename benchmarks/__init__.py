"""dbcron's benchmarks (W1 burst, W2 lateness, W3 idle, W4 cluster): ``make bench``.

See ``docs/benchmarks.md``; run ``python -m benchmarks --help``.
"""

from __future__ import annotations
