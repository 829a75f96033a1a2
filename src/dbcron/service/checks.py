"""The records of ``dbcron doctor``: one :class:`Check` per line, with its
:class:`CheckStatus`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class CheckStatus(Enum):
    """A check's outcome: only ``fail`` makes ``dbcron doctor`` exit with status 1."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    """Not run: what it needs (the database, its tables) is missing or does not apply."""


@dataclass(frozen=True)
class Check:
    """One line of ``dbcron doctor``: what was checked, how it went and why."""

    name: str
    status: CheckStatus
    detail: str
    value: float | None = None
    """The number measured, where there is one (in :attr:`unit`)."""
    unit: str | None = None
    """``ms``, ``version``, ``schedulers``, ``job types``, ``jobs``; None without a value."""


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class DoctorReport:
    """Every check of one ``dbcron doctor`` run, in the order they are shown."""

    checks: list[Check]

    @property
    def failed(self) -> bool:
        """Whether any check failed (``dbcron doctor`` then exits with status 1)."""
        return any(check.status is CheckStatus.FAIL for check in self.checks)
