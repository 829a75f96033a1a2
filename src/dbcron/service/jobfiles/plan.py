"""What applying a jobs file would do: the plan, job by job and field by field.

Jobs are matched by key. A job of the database without a key is matched by the key that
export derives for it (the slug of its name, made unique), so a file exported from a
database applies back to it without creating anything; such a job takes its key the
first time a file changes it. Jobs without a key are never deleted by ``--prune``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dbcron.models import Job
from dbcron.service.jobfiles.fields import FIELDS, derived_keys, file_value


class Action(StrEnum):
    """What the plan does to one job."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FieldChange:
    """One field that an update changes, named as the file names it (``config.x`` for
    one setting of the config); a value the job does not have is None."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class PlannedChange:
    """One job of the plan."""

    action: Action
    key: str
    current: Job | None
    """The job as stored (None for a create)."""
    desired: Job | None
    """The job as the file describes it (None for a delete)."""
    fields: tuple[FieldChange, ...] = ()
    """What an update changes, for people."""
    changes: Mapping[str, Any] = field(default_factory=dict)
    """What an update changes, by job field, for :meth:`JobManager.update_fields`."""

    @property
    def name(self) -> str:
        """The job's name (the file's, else the stored one)."""
        job = self.desired or self.current
        assert job is not None
        return job.name


@dataclass(frozen=True)
class Plan:
    """Every job a file touches, in the file's order, then the jobs ``--prune`` deletes."""

    source: str
    """The file's name."""
    items: tuple[PlannedChange, ...]
    prune: bool

    def of(self, action: Action) -> list[PlannedChange]:
        """The items with this action."""
        return [item for item in self.items if item.action is action]

    @property
    def has_changes(self) -> bool:
        """True when applying the plan would write anything."""
        return any(item.action is not Action.UNCHANGED for item in self.items)


@dataclass(frozen=True)
class ApplyResult:
    """What applying a plan wrote: the jobs as stored after each change."""

    plan: Plan
    created: list[Job]
    updated: list[Job]
    deleted: list[Job]


def make_plan(source: str, desired: Iterable[Job], stored: list[Job], *, prune: bool) -> Plan:
    """The plan that makes ``stored`` (every job that is not deleted, in
    :meth:`Store.list_jobs` order) match ``desired`` (each with its key; an update's
    ``job_id`` must be the stored job's: see :func:`match`)."""
    by_key = match(stored)
    items: list[PlannedChange] = []
    wanted: set[str] = set()
    for job in desired:
        assert job.key is not None
        wanted.add(job.key)
        current = by_key.get(job.key)
        if current is None:
            items.append(PlannedChange(Action.CREATE, job.key, None, job))
            continue
        changes = {
            f.job_field: getattr(job, f.job_field)
            for f in FIELDS
            if f.name != "key" and getattr(job, f.job_field) != getattr(current, f.job_field)
        }
        if not changes:
            items.append(PlannedChange(Action.UNCHANGED, job.key, current, job))
            continue
        if current.key != job.key:
            changes["key"] = job.key
        items.append(
            PlannedChange(
                Action.UPDATE, job.key, current, job, tuple(field_changes(current, job)), changes
            )
        )
    if prune:
        items += [
            PlannedChange(Action.DELETE, job.key, job, None)
            for job in stored
            if job.key is not None and job.key not in wanted
        ]
    return Plan(source, tuple(items), prune)


def match(stored: list[Job]) -> dict[str, Job]:
    """The stored jobs by the key a file names them with: their own, or for a job
    without one the key export derives for it."""
    keys = derived_keys(stored)
    return {keys[job.job_id]: job for job in stored}


def field_changes(current: Job, desired: Job) -> list[FieldChange]:
    """The fields that differ between ``current`` and ``desired``, in the file's order;
    ``config`` setting by setting."""
    out: list[FieldChange] = []
    for f in FIELDS:
        old, new = getattr(current, f.job_field), getattr(desired, f.job_field)
        if old == new:
            continue
        if f.name == "config":
            for name in sorted({*old, *new}):
                if old.get(name) != new.get(name) or (name in old) != (name in new):
                    out.append(FieldChange(f"config.{name}", old.get(name), new.get(name)))
            continue
        out.append(FieldChange(f.name, file_value(old), file_value(new)))
    return out
