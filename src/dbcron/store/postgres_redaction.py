"""Keeping the database password out of every message: the driver's exceptions (and those
they chain) and the log records of psycopg and psycopg_pool."""

from __future__ import annotations

import logging
import threading

from dbcron.urls import redact_secrets

#: The loggers of psycopg and psycopg_pool: their records quote the driver's errors.
_DRIVER_LOGGERS = ("psycopg", "psycopg.pool", "psycopg_pool", "psycopg_pool.sched")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scrub(exc: BaseException, secrets: frozenset[str]) -> None:
    """Take ``secrets`` out of the messages of ``exc`` and of the exceptions it chains
    (``__cause__``, ``__context__``), so that a traceback shows none of them."""
    if not secrets:
        return
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if any(isinstance(arg, str) for arg in current.args):
            current.args = tuple(
                redact_secrets(arg, secrets) if isinstance(arg, str) else arg
                for arg in current.args
            )
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


class _LogRedactor(logging.Filter):
    """Takes the passwords of every opened database URL out of psycopg's log records
    (psycopg_pool logs connection failures with the driver's text, which may quote a
    malformed URL). Secrets are kept for the life of the process: a pool thread may
    still log after its store was closed."""

    def __init__(self) -> None:
        super().__init__("")
        self._lock = threading.Lock()
        self.secrets: frozenset[str] = frozenset()

    def add(self, secrets: frozenset[str]) -> None:
        """Hide ``secrets`` too from now on."""
        if secrets <= self.secrets:
            return
        with self._lock:
            self.secrets = self.secrets | secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` without secrets; never drops it."""
        secrets = self.secrets
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        clean = redact_secrets(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            _scrub(record.exc_info[1], secrets)
            record.exc_text = None
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text, secrets)
        return True


_LOG_REDACTOR = _LogRedactor()


def _redact_driver_logs(secrets: frozenset[str]) -> None:
    """Install the redacting filter on psycopg's loggers (once) and give it ``secrets``."""
    _LOG_REDACTOR.add(secrets)
    for name in _DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_REDACTOR not in logger.filters:
            logger.addFilter(_LOG_REDACTOR)
