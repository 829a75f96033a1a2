"""``dbcron doctor``: is this installation healthy? One :class:`Check` per line.

The checks, in order: the connection (and its round trip), the schema version, how
schedulers notice changes (PostgreSQL: the pooler and LISTEN/NOTIFY; SQLite: the journal
mode), row level security against Supabase's public API roles, the clock skew between
this host and the database, the live schedulers, the handlers of every job type and of
every job, and where the configuration came from. A database that is down or a
configuration that cannot be loaded is reported as a failed check, never raised: the
checks that need what is missing are reported skipped.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import datetime, timedelta

from dbcron.clock import SYSTEM_CLOCK, Clock
from dbcron.config import LoadedSettings
from dbcron.engine.database_clock import clock_for
from dbcron.engine.wakeup import POOLER_POLL_SECONDS
from dbcron.errors import DbcronError
from dbcron.handlers.registry import HandlerRegistry, default_registry
from dbcron.schema_export import POSTGRES_TABLES, SUPABASE_PUBLIC_ROLES
from dbcron.service.checks import Check, CheckStatus, DoctorReport, first_line
from dbcron.service.doctor_handlers import handler_checks, job_checks
from dbcron.service.queries import Queries
from dbcron.store.diagnostics import Diagnostics, ListenState
from dbcron.store.protocol import Store

__all__ = ["Check", "CheckStatus", "Doctor", "DoctorReport"]

#: Round trips timed for the connection check (after one that is not counted).
PINGS = 5
#: A median round trip above this is slow: every scheduler turn makes a few.
SLOW_ROUND_TRIP_MS = 50.0
#: Clock skew between this host and the database that is worth a warning ...
SKEW_WARN_SECONDS = 1.0
#: ... and a failure (a lease's length, by default).
SKEW_FAIL_SECONDS = 30.0

#: Why the checks that read dbcron's tables did not run.
NO_TABLES = "no dbcron tables this release can read"

OK, WARN, FAIL, SKIP = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP


class Doctor:
    """Runs every check over the configuration and the database they name."""

    def __init__(
        self,
        load_settings: Callable[[], LoadedSettings],
        open_store: Callable[[], Store],
        *,
        registry: HandlerRegistry | None = None,
        host_clock: Clock | None = None,
    ) -> None:
        """``load_settings`` gives the effective configuration (or raises its
        ConfigError); ``open_store`` opens its database without the schema check (or
        raises why it cannot); ``host_clock`` is this host's clock, compared with the
        database's."""
        self._load_settings = load_settings
        self._open_store = open_store
        self._registry = registry or default_registry
        self._host = host_clock or SYSTEM_CLOCK

    def run(self) -> DoctorReport:
        """Every check, in order; a failure of the database is a failed check, not an
        exception."""
        loaded: LoadedSettings | None = None
        try:
            loaded = self._load_settings()
        except DbcronError as exc:
            config = Check("config", FAIL, first_line(exc))
            connection = Check(
                "connection", FAIL, "the configuration cannot be loaded (see config below)"
            )
            store = None
        else:
            config = _config_check(loaded)
            store, connection = self._connect()
        url = loaded.settings.database.url if loaded is not None else ""
        checks = [connection]
        if store is None:
            checks += _skipped(url.startswith("sqlite"), "no database connection")
            current = False
        else:
            database, current = self._database_checks(store)
            checks += database
        checks += handler_checks(self._registry)
        if store is None:
            checks.append(Check("jobs", SKIP, "no database connection"))
        elif current:
            checks += _guarded("jobs", lambda: job_checks(store, self._registry))
        else:
            checks.append(Check("jobs", SKIP, NO_TABLES))
        checks.append(config)
        return DoctorReport(checks)

    # -- the database ------------------------------------------------------------------

    def _connect(self) -> tuple[Store | None, Check]:
        """The open store and the connection check: the median of a few round trips."""
        try:
            store = self._open_store()
            ping = _pinger(store)
            ping()  # not counted: the pool may still be connecting
            times = []
            for _ in range(PINGS):
                began = SYSTEM_CLOCK.monotonic()
                ping()
                times.append((SYSTEM_CLOCK.monotonic() - began) * 1000)
        except DbcronError as exc:
            return None, Check("connection", FAIL, first_line(exc))
        median = statistics.median(times)
        shown = f"{median:.2f}" if median < 10 else f"{median:.0f}"
        detail = f"{store.display_url} answers: {shown} ms median round trip"
        detail += f" ({PINGS} x SELECT 1)"
        if median > SLOW_ROUND_TRIP_MS:
            return store, Check(
                "connection",
                WARN,
                f"{detail}, slow (over {SLOW_ROUND_TRIP_MS:.0f} ms): every scheduler turn "
                "costs a few round trips; run schedulers near the database",
                round(median, 2),
                "ms",
            )
        return store, Check("connection", OK, detail, round(median, 2), "ms")

    def _database_checks(self, store: Store) -> tuple[list[Check], bool]:
        """Schema, wake-ups, row security, clock and schedulers (after the connection);
        whether the database has dbcron's tables, not newer than this release's."""
        sqlite = store.backend == "sqlite"
        try:
            schema, current = _schema(store)
        except DbcronError as exc:
            schema, current = Check("schema", FAIL, first_line(exc)), False
        checks = [schema]
        diagnostics = store.capabilities().diagnostics
        if sqlite:
            checks += _guarded("journal", lambda: [_journal(diagnostics)])
            checks.append(Check("row_security", SKIP, "SQLite has no roles: nothing to expose"))
            checks.append(
                Check("clock", SKIP, "SQLite: due times are compared on this host's clock")
            )
        else:
            checks += _guarded("pooler", lambda: [_pooler(diagnostics)])
            if current:
                checks += _guarded("row_security", lambda: [_row_security(diagnostics)])
            else:
                checks.append(Check("row_security", SKIP, NO_TABLES))
            checks += _guarded("clock", lambda: [self._clock(store)])
        if current:
            checks += _guarded("schedulers", lambda: [self._schedulers(store)])
        else:
            checks.append(Check("schedulers", SKIP, NO_TABLES))
        return checks, current

    def _clock(self, store: Store) -> Check:
        """This host's clock against the database's, corrected for half the round trip
        (the quickest of three measurements)."""
        samples: list[tuple[float, timedelta]] = []
        for _ in range(3):
            began = SYSTEM_CLOCK.monotonic()
            before = self._host.now()
            remote = store.database_now()
            after = self._host.now()
            samples.append(
                (SYSTEM_CLOCK.monotonic() - began, before + (after - before) / 2 - remote)
            )
        skew = min(samples, key=lambda s: s[0])[1].total_seconds()
        way = "ahead of" if skew >= 0 else "behind"
        size = abs(skew)
        if size < 0.001:
            said = "this host's clock is within 1 ms of the database's"
        else:
            shown = f"{size * 1000:.0f} ms" if size < 1 else f"{size:.1f} s"
            said = f"this host's clock is {shown} {way} the database's"
        value = round(skew * 1000, 1)
        if size > SKEW_FAIL_SECONDS:
            return Check(
                "clock",
                FAIL,
                f"{said}, more than a lease ({SKEW_FAIL_SECONDS:.0f} s): due times and leases "
                "are compared on the database clock, and when this host's clock is corrected "
                "by a jump, the leases it writes until the next offset measurement (30 s) "
                "are off by that much; fix its time sync (NTP)",
                value,
                "ms",
            )
        if size > SKEW_WARN_SECONDS:
            return Check(
                "clock",
                WARN,
                f"{said}: due times and leases are compared on the database clock (dbcron "
                "corrects for the offset), but this host's time is not synchronised (NTP) "
                "and its log times are off",
                value,
                "ms",
            )
        return Check(
            "clock",
            OK,
            f"{said} (due times and leases are compared on the database clock)",
            value,
            "ms",
        )

    def _schedulers(self, store: Store) -> Check:
        queries = Queries(store, clock=clock_for(store, self._host))
        live = queries.live_nodes()
        if not live:
            return Check(
                "schedulers",
                WARN,
                "no scheduler is running: nothing will fire (start one: dbcron start)",
                0,
                "schedulers",
            )
        now = queries.clock.now()
        nodes = "; ".join(
            f"node {n.node_id} (host {n.host}, pid {n.pid}), heartbeat "
            f"{_age(now, n.last_heartbeat)}"
            for n in live
        )
        return Check("schedulers", OK, f"{len(live)} running: {nodes}", len(live), "schedulers")


def _schema(store: Store) -> tuple[Check, bool]:
    """The schema check, and whether the tables are there and not newer than this
    release's (an older schema still answers the other checks)."""
    have, want = store.schema_version(), store.latest_version()
    if have == 0:
        return Check("schema", FAIL, "no dbcron tables: run `dbcron init`", 0, "version"), False
    if have > want:
        return Check(
            "schema",
            FAIL,
            f"version {have} is newer than this dbcron understands ({want}): upgrade dbcron",
            have,
            "version",
        ), False
    if have < want:
        return Check(
            "schema",
            WARN,
            f"version {have}, this dbcron ships {want}: run `dbcron migrate` (the other "
            "commands refuse the database until then)",
            have,
            "version",
        ), True
    return Check(
        "schema", OK, f"version {have}, the latest this dbcron ships", have, "version"
    ), True


def _guarded(name: str, check: Callable[[], list[Check]]) -> list[Check]:
    """``check()``, or one failed check ``name`` saying why the database refused."""
    try:
        return check()
    except DbcronError as exc:
        return [Check(name, FAIL, first_line(exc))]


def _skipped(sqlite: bool, why: str) -> list[Check]:
    """The database checks, skipped."""
    names = ["schema", "journal" if sqlite else "pooler", "row_security", "clock", "schedulers"]
    return [Check(name, SKIP, why) for name in names]


def _pinger(store: Store) -> Callable[[], object]:
    """One round trip: the store's ``SELECT 1``, or reading its clock."""
    diagnostics = store.capabilities().diagnostics
    return diagnostics.ping if diagnostics is not None else store.database_now


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0.0, (now - then).total_seconds())
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def _journal(diagnostics: Diagnostics | None) -> Check:
    mode = diagnostics.journal_mode() if diagnostics is not None else None
    if mode == "wal":
        return Check(
            "journal", OK, "WAL: the CLI and schedulers share the file, readers never wait"
        )
    return Check(
        "journal",
        WARN,
        f"journal mode {mode or 'unknown'}, not WAL: readers and writers block each other "
        "(the filesystem may not support WAL: keep the file on a local disk)",
    )


def _pooler(diagnostics: Diagnostics | None) -> Check:
    probe = diagnostics.listen_probe() if diagnostics is not None else None
    if probe is None:
        return Check("pooler", SKIP, "this store cannot be probed")
    where = "direct connection" if probe.direct else "through a pooler or proxy"
    polls = f"a scheduler here polls for changes every {POOLER_POLL_SECONDS} s"
    if probe.listen is ListenState.DELIVERS:
        took = (probe.seconds or 0.0) * 1000
        return Check(
            "pooler",
            OK,
            f"{where}; LISTEN/NOTIFY works (a NOTIFY arrived in {took:.1f} ms): a scheduler "
            "here wakes on notifications",
            round(took, 1),
            "ms",
        )
    if probe.listen is ListenState.OFF:
        return Check("pooler", OK, f"{where}; LISTEN is off ({probe.reason}): {polls}")
    if probe.listen is ListenState.SILENT:
        return Check(
            "pooler",
            WARN,
            f"{where}; LISTEN/NOTIFY does not deliver (a NOTIFY to ourselves did not arrive "
            f"within {probe.seconds or 0:.1f} s): a transaction pooler is in between; {polls} "
            "after finding that out at start-up (add dbcron_listen=off to the URL to skip it)",
        )
    return Check("pooler", WARN, f"{where}; LISTEN fails ({probe.reason}): {polls}")


def _row_security(diagnostics: Diagnostics | None) -> Check:
    """Row level security of dbcron's tables against Supabase's public API roles."""
    found = None
    if diagnostics is not None:
        found = diagnostics.row_security(POSTGRES_TABLES, SUPABASE_PUBLIC_ROLES)
    if found is None:
        return Check("row_security", SKIP, "this store cannot be asked")
    off = [t.table for t in found.tables if not t.row_security]
    if off:
        rls = f"row level security is off on {', '.join(off)}"
    else:
        rls = f"row level security is on for all {len(found.tables)} tables"
    if not found.roles:
        harmless = " (harmless without those roles)" if off else ""
        return Check(
            "row_security",
            OK,
            f"no {' or '.join(SUPABASE_PUBLIC_ROLES)} role (not Supabase: no public REST API "
            f"roles); {rls}{harmless}",
        )
    roles = ", ".join(found.roles)
    granted = [t for t in found.tables if t.privileges]
    held = "; ".join(
        f"{role} holds {', '.join(privileges)} on {t.table}"
        for t in granted
        for role, privileges in t.privileges.items()
    )
    revoke = f"REVOKE ALL ON TABLE {', '.join(t.table for t in granted)} FROM {roles}"
    exposed = [t.table for t in granted if not t.row_security]
    if exposed:
        return Check(
            "row_security",
            FAIL,
            f"{rls} while {held}: Supabase's public REST API exposes {', '.join(exposed)}; "
            f"run ALTER TABLE {exposed[0]} ENABLE ROW LEVEL SECURITY (each of them) and {revoke}",
        )
    if granted:
        return Check(
            "row_security",
            WARN,
            f"{rls}, so without a policy the rows stay hidden, but {held}; run {revoke}",
        )
    if off:
        return Check(
            "row_security",
            WARN,
            f"{rls}: {roles} hold no privilege on it now, but a grant would expose it; run "
            f"ALTER TABLE {off[0]} ENABLE ROW LEVEL SECURITY (each of them)",
        )
    return Check("row_security", OK, f"{rls}; no privilege for {roles}")


def _config_check(loaded: LoadedSettings) -> Check:
    """Where the settings came from, and the database URL (password redacted)."""
    rows = loaded.effective()
    url, url_source = next((value, source) for key, value, source in rows if key == "database.url")
    by_source: dict[str, list[str]] = {}
    for key, _value, source in rows:
        if source != "default" and key != "database.url":
            by_source.setdefault(source, []).append(key)
    parts = [f"database.url {url} from {url_source}"]
    parts += [f"{source}: {', '.join(keys)}" for source, keys in by_source.items()]
    if loaded.config_path is not None and not any(
        s.startswith("config file") for s in [url_source, *by_source]
    ):
        parts.append(f"config file {loaded.config_path} (sets nothing)")
    parts.append("the rest: defaults")
    return Check("config", OK, "; ".join(parts))
