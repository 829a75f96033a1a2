"""``python -m dbcron``: the same as the ``dbcron`` command."""

from __future__ import annotations

from dbcron.cli.app import main

main()
