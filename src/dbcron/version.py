"""dbcron's version, in a module of its own: the engine and the handlers read it without
importing the package root (which imports the adapters)."""

from __future__ import annotations

__version__ = "0.1.0"
