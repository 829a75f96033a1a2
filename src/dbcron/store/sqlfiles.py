"""Named SQL queries, read from the ``.sql`` files of one backend.

A file holds one or more queries, each introduced by a ``-- name: query_name`` line.
Queries only ever take bound parameters; nothing is concatenated into them.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Split the text of a ``.sql`` file into its named queries."""
    queries: dict[str, str] = {}
    matches = list(_NAME.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        name = match.group(1)
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.rstrip(";").strip()
    return queries


@cache
def load_queries(backend: str) -> dict[str, str]:
    """Every named query of ``backend`` (``sqlite`` or ``postgres``)."""
    queries: dict[str, str] = {}
    folder = resources.files("dbcron.store") / "sql" / backend
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for name, sql in parse_queries(entry.read_text(encoding="utf-8")).items():
                if name in queries:
                    raise ValueError(f"query {name!r} is defined twice for {backend}")
                queries[name] = sql
    return queries


@cache
def load_migrations(backend: str) -> tuple[tuple[int, str, str], ...]:
    """``(version, name, sql)`` of every migration of ``backend``, in version order."""
    folder = resources.files("dbcron.store") / "migrations" / backend
    found: list[tuple[int, str, str]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append((int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations of {backend} are not numbered 1..n: {versions}")
    return tuple(found)


def sqlite_schema_objects(migrations: list[str]) -> list[str]:
    """The objects the SQLite migrations leave, each as an idempotent ``CREATE ... IF NOT
    EXISTS`` (SQLite has no ``ADD COLUMN IF NOT EXISTS``: replaying the migrations would
    not be idempotent). Read from an in-memory database the migrations were applied to."""
    conn = sqlite3.connect(":memory:")
    try:
        for sql in migrations:
            conn.executescript(sql)
        rows = conn.execute(
            "SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY type <> 'table', rowid"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for _kind, sql in rows:
        head = re.match(r"CREATE (UNIQUE )?(TABLE|INDEX|TRIGGER|VIEW) (IF NOT EXISTS )?", sql)
        assert head is not None, sql
        unique, keyword = head.group(1) or "", head.group(2)
        out.append(f"CREATE {unique}{keyword} IF NOT EXISTS {sql[head.end() :].strip()};")
    return out
