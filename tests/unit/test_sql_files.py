"""The named SQL files: every PostgreSQL query text is a valid psycopg template."""

from __future__ import annotations

import re
from pathlib import Path

SQL = Path(__file__).resolve().parents[2] / "src" / "dbcron" / "store" / "sql" / "postgres"


def test_postgres_queries_have_no_stray_percent_signs() -> None:
    # psycopg reads every '%' of a query's text (comments included) as a placeholder:
    # a stray one makes the query fail at run time, far from the file that has it.
    stray = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(SQL.glob("*.sql"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"%(?!\(\w+\)s|%)", line)
    ]
    assert stray == []
