"""The exception hierarchy: one root, one subclass per area.

Every error that a user can cause (bad input, a missing job, an unreachable database)
is a :class:`DbcronError`; the CLI prints its message on one line and exits with
:attr:`DbcronError.exit_code`. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class DbcronError(Exception):
    """Root of every error dbcron raises on purpose."""

    #: Process exit code the CLI uses: 2 for bad input (usage), 1 for runtime failures.
    exit_code: int = 1


class ValidationError(DbcronError):
    """Input that dbcron refuses: nothing was written."""

    exit_code = 2
    #: The job field the refused input was for (``schedule_expression``, ``key``, ...),
    #: where the validation knows it: a jobs file names its line from it.
    field: str | None = None


class CronError(ValidationError):
    """A malformed schedule expression or an unknown time zone."""


class ConfigError(ValidationError):
    """A configuration file, environment variable or flag that cannot be used."""


class JobTypeError(ValidationError):
    """An unknown job type, or a job config that does not fit its type's schema."""


class NotFoundError(DbcronError):
    """No job (or execution) has the given id or id prefix."""


class AmbiguousIdError(DbcronError):
    """An id prefix matches more than one job (or execution): bad input, exit status 2."""

    exit_code = 2


class ConflictError(DbcronError):
    """A concurrent update won: the record changed since it was read (version mismatch)."""


class StoreError(DbcronError):
    """The database failed in a way that is not the caller's fault."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached (down, wrong host, bad credentials)."""


class DataRefusedError(StoreError):
    """The database refused the data itself (a constraint, an invalid value): writing
    the same data again cannot succeed."""


class SchemaError(StoreError):
    """The database has no dbcron schema, or one newer than this version understands."""
