"""Where ``python`` jobs (and custom handlers named by dotted path) are imported from.

A scheduler puts its working directory (where ``dbcron start`` was run) and the
``handlers.paths`` directories on the import path of whatever runs a handler: its worker
processes, its threads, and ``dbcron run`` in the foreground. Each execution carries
them (:class:`ImportDirs`, in its :class:`~dbcron.execution.work.Work`), so a worker
forked from a clean interpreter finds the same modules as the scheduler would. An import
that fails says, in one line, which module was missing and which directories were
searched.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

from dbcron.handlers.context import HandlerFailed

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ImportDirs:
    """The directories a handler's modules are imported from, before ``sys.path``."""

    working_dir: str | None = None
    """The scheduler's working directory (absolute), or None."""
    paths: tuple[str, ...] = ()
    """The ``handlers.paths`` directories (absolute)."""

    def directories(self) -> list[str]:
        """The working directory, then ``handlers.paths``, each once."""
        found: list[str] = []
        for entry in (self.working_dir, *self.paths):
            if entry is not None and entry not in found:
                found.append(entry)
        return found

    def activate(self) -> None:
        """Put :meth:`directories` at the front of ``sys.path``, in order, unless they
        are there already (idempotent; safe from several threads)."""
        wanted = self.directories()
        with _lock:
            present = {_absolute(entry) for entry in sys.path if isinstance(entry, str)}
            missing = [entry for entry in wanted if entry not in present]
            if missing:
                sys.path[0:0] = missing
                importlib.invalidate_caches()

    def describe(self) -> str:
        """The directories searched, for an import error: these, then the rest of
        ``sys.path``; a directory that does not exist is marked."""
        parts: list[str] = []
        if self.working_dir is not None:
            parts.append(f"the working directory {_shown(self.working_dir)}")
        if self.paths:
            parts.append("handlers.paths " + ", ".join(_shown(p) for p in self.paths))
        named = set(self.directories())
        rest = [
            _absolute(entry)
            for entry in sys.path
            if isinstance(entry, str) and _absolute(entry) not in named
        ]
        rest = list(dict.fromkeys(rest))
        if rest:
            parts.append("sys.path " + ", ".join(rest))
        return ", then ".join(parts) if parts else "sys.path (empty)"


def _absolute(entry: str) -> str:
    """A ``sys.path`` entry as an absolute path (``''`` is the working directory)."""
    try:
        return os.path.abspath(entry or os.curdir)
    except OSError:  # the working directory was deleted
        return entry


def _shown(directory: str) -> str:
    return directory if os.path.isdir(directory) else f"{directory} (missing)"


def import_target(path: str, dirs: ImportDirs | None, *, what: str = "callable") -> Any:
    """The object at ``package.module:function`` (``dirs`` put on the import path first).

    Raises HandlerFailed with one line naming the module and the directories searched
    when the module cannot be found, or the attribute the module lacks.
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise HandlerFailed(f"{what} {path!r} is not a dotted path like package.module:function")
    if dirs is not None:
        dirs.activate()
    searched = (dirs or ImportDirs()).describe()
    try:
        target: Any = _import(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing == module_name or module_name.startswith(missing + "."):
            raise HandlerFailed(
                f"cannot import {what} {path!r}: no module named {missing!r}; searched {searched}"
            ) from None
        raise HandlerFailed(
            f"cannot import {what} {path!r}: module {module_name!r} needs {missing!r}, which "
            f"is not installed; searched {searched}"
        ) from None
    except ImportError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HandlerFailed(
            f"cannot import {what} {path!r}: importing {module_name!r} failed: {reason}"
        ) from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            where = getattr(sys.modules.get(module_name), "__file__", None) or module_name
            raise HandlerFailed(
                f"cannot import {what} {path!r}: module {module_name!r} ({where}) has no "
                f"attribute {attr!r}"
            ) from None
    if not callable(target):
        raise HandlerFailed(f"{what} {path!r} is not callable")
    return target


def _import(module_name: str) -> Any:
    """``importlib.import_module``, once more after invalidating the import caches when
    the module is not found: a module file written since its directory was last listed
    within the same mtime tick is otherwise not seen (a job created right after its
    module was written)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError:
        importlib.invalidate_caches()
        return importlib.import_module(module_name)
