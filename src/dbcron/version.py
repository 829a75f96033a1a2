"""dbcron's version, in a module of its own: the package root re-exports it without
importing anything else, and ``dbcron --version`` needs nothing more."""

from __future__ import annotations

__version__ = "0.1.0"
