"""`dbcron --help` shows each command's summary whole (issue 12)."""

from __future__ import annotations

import subprocess
import sys


def test_every_command_is_listed_with_its_whole_first_sentence() -> None:
    from dbcron.cli.app import app

    text = subprocess.run(
        [sys.executable, "-m", "dbcron", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    listed = " ".join(text.split())  # Click wraps long lines at 80 columns
    for info in app.registered_commands:
        assert info.short_help is not None and info.short_help.endswith((".", ")")), info.name
        assert " ".join(info.short_help.split()) in listed, info.short_help
    assert 'Create a job, e.g. dbcron create "Daily Fetch" paper_fetch "0 9 * * *".' in listed
