"""``dbcron doctor``'s handler checks: every job type and handler plugin imports, and
every job in the database names a type and a handler that this process can resolve,
as a scheduler's workers would."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

from dbcron.errors import JobTypeError
from dbcron.handlers.registry import HandlerRegistry, import_callable, probe_plugins
from dbcron.models import Job
from dbcron.service.checks import Check, CheckStatus, first_line
from dbcron.store.protocol import Store

#: Jobs read per query while checking them all.
JOBS_PAGE = 500
#: At most this many jobs are named one per line; the rest are counted.
JOBS_NAMED = 20


@contextlib.contextmanager
def _quiet_imports() -> Iterator[None]:
    """Keep what an imported module prints at import time out of the report (``--json``
    must stay JSON); a worker captures the same output into its execution's logs."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def handler_checks(registry: HandlerRegistry) -> list[Check]:
    """Every job type's handler imports, and every handler plugin loads: one failed check
    for each that does not, else one ``ok`` saying what was loaded."""
    failed: list[Check] = []
    types = registry.types()
    with _quiet_imports():
        for spec in types:
            try:
                spec.resolve()
            except Exception as exc:  # whatever importing a module raises, reported
                failed.append(
                    Check(
                        "handlers",
                        CheckStatus.FAIL,
                        f"job type {spec.name!r} cannot be imported: {first_line(exc)}",
                    )
                )
        plugins = probe_plugins(registry)
    for plugin in plugins:
        if plugin.error is not None:
            failed.append(Check("handlers", CheckStatus.FAIL, plugin.error))
    if failed:
        return failed
    loaded = ", ".join(p.name for p in plugins)
    custom = ", ".join(s.name for s in registry.custom_handlers())
    detail = (
        f"all {len(types)} job types import; "
        + (f"handler plugins loaded: {loaded}" if plugins else "no handler plugins installed")
        + (f"; custom handlers: {custom}" if custom else "")
    )
    return [Check("handlers", CheckStatus.OK, detail, len(types), "job types")]


def job_checks(store: Store, registry: HandlerRegistry) -> list[Check]:
    """Every job in the database (all but deleted ones) has a known type and a handler
    that resolves here: one failed check per job that has not (at most
    :data:`JOBS_NAMED`, then a count), else one ``ok`` with the number of jobs. Custom
    handlers from plugins are known once :func:`handler_checks` loaded them."""
    resolve = _Resolver(registry)
    count, broken = 0, 0
    failed: list[Check] = []
    with _quiet_imports():
        for job in _all_jobs(store):
            count += 1
            problem = resolve.problem(job)
            if problem is None:
                continue
            broken += 1
            if broken <= JOBS_NAMED:
                failed.append(
                    Check(
                        "jobs",
                        CheckStatus.FAIL,
                        f"job {job.name!r} ({job.job_id[:8]}, {job.job_type}): {problem}",
                    )
                )
    if broken > JOBS_NAMED:
        failed.append(
            Check(
                "jobs",
                CheckStatus.FAIL,
                f"... and {broken - JOBS_NAMED:,} more jobs whose handler cannot be resolved",
                broken,
                "jobs",
            )
        )
    if failed:
        return failed
    if count == 0:
        return [Check("jobs", CheckStatus.OK, "no jobs yet", 0, "jobs")]
    said = f"the handlers of all {count:,} jobs resolve"
    if count == 1:
        said = "the handler of the one job resolves"
    return [Check("jobs", CheckStatus.OK, said, count, "jobs")]


def _all_jobs(store: Store) -> Iterator[Job]:
    """Every job but deleted ones, a page at a time (keyset paging)."""
    after: str | None = None
    while True:
        page = store.list_jobs(limit=JOBS_PAGE, after=after)
        yield from page
        if len(page) < JOBS_PAGE:
            return
        after = page[-1].job_id


class _Resolver:
    """Why a job's handler cannot be resolved (None when it can), remembered per job type
    and target: thousands of jobs share a few handlers."""

    def __init__(self, registry: HandlerRegistry) -> None:
        self._registry = registry
        self._known: dict[tuple[str, str], str | None] = {}

    def problem(self, job: Job) -> str | None:
        """Why ``job``'s handler cannot be resolved here, or None."""
        config: dict[str, Any] = job.config if isinstance(job.config, dict) else {}
        target = ""
        if job.job_type == "python":
            target = str(config.get("callable", ""))
        elif job.job_type == "custom":
            target = str(config.get("handler", ""))
        key = (job.job_type, target)
        if key not in self._known:
            self._known[key] = self._find(job.job_type, target)
        return self._known[key]

    def _find(self, job_type: str, target: str) -> str | None:
        try:
            self._resolve(job_type, target)
        except JobTypeError as exc:
            return first_line(exc)
        except Exception as exc:  # a module that fails while it is imported
            return f"importing its handler fails: {first_line(exc)}"
        return None

    def _resolve(self, job_type: str, target: str) -> Callable[..., Any]:
        spec = self._registry.get(job_type)  # JobTypeError: unknown job type
        if job_type == "python":
            return import_callable(target)
        if job_type != "custom":
            return spec.resolve()
        custom = self._registry.get_custom(target)
        if custom is not None:
            return custom.resolve()
        if ":" in target:
            return import_callable(target)
        known = ", ".join(s.name for s in self._registry.custom_handlers()) or "none"
        raise JobTypeError(
            f"no custom handler named {target!r} is registered (known: {known}); "
            "register it in an importable module (a dbcron.handlers entry point) or name "
            "it by dotted path, package.module:function"
        )
