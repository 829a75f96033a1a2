"""A jobs file's structure, ``defaults`` and ``templates``, resolved into plain jobs.

```yaml
defaults:                 # every job's, unless a template or the job says otherwise
  timezone: Europe/Paris
templates:                # named partial jobs
  nightly-fetch:
    type: paper_fetch
    schedule: "0 3 * * *"
    config: {max_papers: 50}
jobs:
  - key: fetch-rag
    name: Fetch RAG papers
    extends: nightly-fetch          # a template may extend another one too
    config: {keywords: [RAG]}
```

Precedence: defaults < the template chain (the base first) < the job's own fields. A
field's value replaces the one before, except ``config``, whose settings merge one level
deep: each setting replaces the one of the same name (a list or mapping value whole).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from dbcron.errors import ValidationError
from dbcron.service.job_fields import check_key
from dbcron.service.jobfiles.fields import BY_NAME, OWN_ONLY, REQUIRED, kind_problem
from dbcron.service.jobfiles.source import Path, Source

SECTIONS = ("defaults", "templates", "jobs")


@dataclass(frozen=True)
class Setting:
    """A field's value and where it was written (the job, a template or defaults)."""

    value: Any
    path: Path


@dataclass(frozen=True)
class JobSpec:
    """One job of a file, its templates and defaults applied."""

    path: Path
    """Where the job is: ``("jobs", index)``."""
    settings: dict[str, Setting]
    """Every field the file gives it, by file field name (``extends`` resolved)."""

    @property
    def key(self) -> str:
        """The job's key."""
        value: str = self.settings["key"].value
        return value


def resolve(source: Source) -> list[JobSpec]:
    """The jobs of ``source`` with defaults and templates applied; JobFileError (naming
    the line) for anything out of place: an unknown section or field, a value of the
    wrong kind, an unknown template, a cycle of templates, a missing or repeated key."""
    data = source.data
    if not isinstance(data, dict):
        raise source.error((), "a jobs file is a mapping with a 'jobs' list")
    for section in data:
        if section not in SECTIONS:
            raise source.error(
                (str(section),),
                f"unknown section {section!r}{_hint(str(section), SECTIONS)} (a jobs file "
                "has jobs, and optionally defaults and templates)",
            )
    defaults = data.get("defaults") or {}
    _check_fields(source, ("defaults",), defaults, extends=False)
    templates = data.get("templates") or {}
    if not isinstance(templates, dict):
        raise source.error(("templates",), "must be a mapping of template names to fields")
    for name, template in templates.items():
        _check_fields(source, ("templates", str(name)), template, extends=True)
    if "jobs" not in data:
        raise source.error((), "the file has no 'jobs' list")
    jobs = data["jobs"]
    if not isinstance(jobs, list):
        raise source.error(("jobs",), "must be a list of jobs")
    resolver = _Resolver(source, defaults, templates)
    specs: list[JobSpec] = []
    first_line: dict[str, int] = {}
    for index, job in enumerate(jobs):
        path: Path = ("jobs", index)
        _check_fields(source, path, job, extends=True)
        spec = resolver.job(path, job)
        key_path = spec.settings["key"].path
        if spec.key in first_line:
            raise source.error(
                key_path, f"key {spec.key!r} is used twice (first on line {first_line[spec.key]})"
            )
        first_line[spec.key] = source.line(key_path)
        specs.append(spec)
    return specs


class _Resolver:
    """Applies defaults and template chains to the jobs of one file."""

    def __init__(self, source: Source, defaults: dict[str, Any], templates: dict[Any, Any]):
        self.source = source
        self.defaults = defaults
        self.templates = {str(name): fields for name, fields in templates.items()}

    def job(self, path: Path, job: dict[str, Any]) -> JobSpec:
        settings: dict[str, Setting] = {}
        _layer(settings, ("defaults",), self.defaults)
        if "extends" in job:
            for name in self._chain(job["extends"], (*path, "extends"), []):
                _layer(settings, ("templates", name), self.templates[name] or {})
        _layer(settings, path, job)
        if "key" not in settings:
            raise self.source.error(
                path, "key is required: a unique slug that names the job (e.g. 'daily-fetch')"
            )
        try:
            check_key(settings["key"].value)
        except ValidationError as exc:
            raise self.source.error(settings["key"].path, str(exc)) from None
        for name in REQUIRED:
            if name not in settings:
                raise self.source.error(
                    path, f"{name} is required (in the job, a template it extends or defaults)"
                )
        settings.setdefault("name", settings["key"])
        return JobSpec(path, settings)

    def _chain(self, name: str, where: Path, seen: list[str]) -> list[str]:
        """The templates ``name`` stands for, the base first; ``where`` says it."""
        if name not in self.templates:
            known = ", ".join(sorted(self.templates)) or "none"
            raise self.source.error(
                where,
                f"unknown template {name!r}{_hint(name, self.templates)} (templates: {known})",
            )
        if name in seen:
            cycle = " -> ".join([*seen[seen.index(name) :], name])
            raise self.source.error(where, f"templates extend each other in a cycle: {cycle}")
        parent = (self.templates[name] or {}).get("extends")
        if parent is None:
            return [name]
        return [*self._chain(parent, ("templates", name, "extends"), [*seen, name]), name]


def _layer(settings: dict[str, Setting], path: Path, fields: dict[str, Any]) -> None:
    """Lay ``fields`` (written at ``path``) over ``settings``; config merges."""
    for name, value in fields.items():
        if name == "extends":
            continue
        if name == "config" and "config" in settings and isinstance(value, dict):
            value = {**settings["config"].value, **value}
        settings[name] = Setting(value, (*path, name))


def _check_fields(source: Source, path: Path, fields: Any, *, extends: bool) -> None:
    """Refuse what ``fields`` (at ``path``) may not hold: unknown fields, fields of the
    wrong kind, ``key``/``name`` outside a job, ``extends`` in defaults."""
    if fields is None and path[0] == "templates":
        return
    if not isinstance(fields, dict):
        raise source.error(path, "must be a mapping of job fields")
    in_job = path[0] == "jobs"
    for name, value in fields.items():
        where = (*path, str(name))
        if name == "extends" and extends:
            if not isinstance(value, str):
                raise source.error(where, "must be the name of a template")
            continue
        field = BY_NAME.get(str(name))
        if field is None:
            known = [*BY_NAME, "extends"] if extends else list(BY_NAME)
            raise source.error(where, f"unknown field {name!r}{_hint(str(name), known)}")
        if field.name in OWN_ONLY and not in_job:
            raise source.error(where, f"{field.name} belongs to each job: it cannot be shared")
        problem = kind_problem(field, value)
        if problem is not None:
            raise source.error(where, problem)


def _hint(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
