"""Storage backends and the one place that opens them.

Nothing outside this package imports a database driver.
"""

from __future__ import annotations

from dbcron.clock import Clock
from dbcron.errors import ConfigError, SchemaError
from dbcron.store.protocol import Store
from dbcron.urls import parse_database_url, redact_url

__all__ = ["Store", "open_store"]


def open_store(
    url: str,
    *,
    create: bool = False,
    check_schema: bool = True,
    pool_size: int = 10,
    connect_timeout: float = 5.0,
    listen: str = "auto",
    clock: Clock | None = None,
) -> Store:
    """Open the database named by ``url`` (``sqlite:///path`` or ``postgresql://...``).

    ``create`` lets a missing SQLite file be created (``dbcron init``). ``listen``
    (``auto``/``on``/``off``) decides whether PostgreSQL LISTEN is used for wake-ups;
    a ``dbcron_listen=off`` query parameter in the URL says the same. With
    ``check_schema`` the schema must be present and current, or a SchemaError says
    what to run. Raises ConfigError for an unsupported or malformed URL and
    DatabaseUnavailableError when the database cannot be reached; no message holds the
    URL's password.
    """
    kind, target = parse_database_url(url)
    store: Store
    if kind == "sqlite":
        from dbcron.store.sqlite import SQLiteStore

        store = SQLiteStore(target, create=create, clock=clock)
    elif kind == "postgresql":
        from dbcron.store.postgres import PostgresStore

        pg = PostgresStore(
            target, pool_size=pool_size, connect_timeout=connect_timeout, clock=clock
        )
        if listen != "auto":
            pg.listen_enabled = listen == "on"
        store = pg
    else:  # pragma: no cover - parse_database_url only returns the two kinds
        raise ConfigError(f"unsupported database URL {redact_url(url)}")
    if check_schema:
        try:
            check_current(store)
        except BaseException:
            store.close()
            raise
    return store


def check_current(store: Store) -> None:
    """Raise SchemaError unless the store's schema is exactly the one this release ships."""
    have, want = store.schema_version(), store.latest_version()
    if have == 0:
        raise SchemaError(f"database {store.display_url} has no dbcron tables; run `dbcron init`")
    if have < want:
        raise SchemaError(
            f"database {store.display_url} has schema version {have}, this dbcron needs {want}; "
            "run `dbcron migrate`"
        )
    if have > want:
        raise SchemaError(
            f"database {store.display_url} has schema version {have}, newer than this dbcron "
            f"understands ({want}); upgrade dbcron"
        )
