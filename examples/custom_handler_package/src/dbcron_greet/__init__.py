"""An example dbcron plugin package: one custom handler, ``greet``."""

from __future__ import annotations
