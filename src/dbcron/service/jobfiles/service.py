"""The jobs-file service: ``export`` writes jobs as a file, ``plan`` and ``apply`` make
the database match one. What ``dbcron export`` / ``dbcron apply`` (and the REST API)
call; every write goes through :class:`~dbcron.manager.JobManager`, so validation,
events and the accounting of dropped fires are those of any other change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from dbcron.errors import DbcronError, ValidationError
from dbcron.manager import JobManager
from dbcron.models import Job, JobStatus, new_id
from dbcron.service.jobfiles.fields import (
    BY_JOB_FIELD,
    FIELDS,
    derived_keys,
    field_defaults,
    job_document,
)
from dbcron.service.jobfiles.plan import Action, ApplyResult, Plan, make_plan, match
from dbcron.service.jobfiles.source import Source, load_source, show_path
from dbcron.service.jobfiles.templates import JobSpec, resolve

#: The formats export writes.
FORMATS = ("yaml", "json")


@dataclass(frozen=True)
class Exported:
    """An exported file's text and how many jobs it holds."""

    text: str
    jobs: int


class JobFiles:
    """Export jobs as a declarative file; plan and apply a file."""

    def __init__(self, manager: JobManager) -> None:
        self.manager = manager

    # -- export --------------------------------------------------------------------

    def export_document(
        self,
        jobs: Sequence[str] = (),
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
    ) -> dict[str, Any]:
        """The file of the jobs named in ``jobs`` (ids, keys, names or id prefixes), or
        of every job that is not deleted, filtered by ``status`` and ``job_type``: a
        ``jobs`` list sorted by key, each job with only the fields not at their default.
        A job without a key gets the one derived from its name (see
        :func:`~dbcron.service.jobfiles.fields.derived_keys`), which apply matches it by."""
        if status is not None and str(status) == JobStatus.DELETED.value:
            raise ValidationError("deleted jobs cannot be exported: a file holds live jobs")
        every = self.manager.list_jobs()
        filtered = status is not None or job_type is not None
        selected = self.manager.list_jobs(status=status, job_type=job_type) if filtered else every
        if jobs:
            wanted = {job.job_id for job in selected}
            named: dict[str, Job] = {}
            for ref in jobs:
                job = self.manager.get_job(ref)
                if job.status is JobStatus.DELETED:
                    raise ValidationError(f"job {job.job_id} is deleted; it cannot be exported")
                if job.job_id in wanted:
                    named.setdefault(job.job_id, job)
            selected = list(named.values())
        keys = derived_keys(every)
        defaults = field_defaults(self.manager.defaults)
        documents = [job_document(job, keys[job.job_id], defaults) for job in selected]
        return {"jobs": sorted(documents, key=lambda d: str(d["key"]))}

    def export(
        self,
        jobs: Sequence[str] = (),
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        fmt: str = "yaml",
    ) -> Exported:
        """:meth:`export_document` as YAML or JSON text (``fmt``)."""
        if fmt not in FORMATS:
            raise ValidationError(f"--format must be yaml or json, not {fmt!r}")
        document = self.export_document(jobs, status=status, job_type=job_type)
        if fmt == "json":
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        else:
            text = yaml.safe_dump(
                document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120
            )
        return Exported(text, len(document["jobs"]))

    # -- plan and apply ------------------------------------------------------------

    def plan(self, text: str, name: str, *, prune: bool = False) -> Plan:
        """Read and validate the whole file ``text`` (called ``name``), then compare it
        with the database. Raises JobFileError (file, line and field in its message)
        for the first problem; reads only."""
        source = load_source(text, name)
        specs = resolve(source)
        stored = self.manager.list_jobs()
        by_key = match(stored)
        desired = [self._job(spec, by_key.get(spec.key), source) for spec in specs]
        return make_plan(source.name, desired, stored, prune=prune)

    def _job(self, spec: JobSpec, current: Job | None, source: Source) -> Job:
        """The job ``spec`` describes, validated as ``create`` validates (with the id
        of ``current``, the stored job it updates, if any)."""
        values = field_defaults(self.manager.defaults)
        values.update({name: setting.value for name, setting in spec.settings.items()})
        job = Job(
            **{BY_NAME_TO_JOB[name]: value for name, value in values.items()},
            job_id=current.job_id if current is not None else new_id(),
        )
        try:
            prepared, _ = self.manager.prepare_job(job)
        except ValidationError as exc:
            field = BY_JOB_FIELD.get(exc.field or "")
            setting = spec.settings.get(field.name) if field else None
            path = setting.path if setting is not None else spec.path
            where = "" if path[: len(spec.path)] == spec.path else f" (in {show_path(spec.path)})"
            message = str(exc)
            if field is not None and exc.field and message.startswith(f"{exc.field} "):
                message = field.name + message[len(exc.field) :]
            raise source.error(path, f"{message}{where}") from None
        return prepared

    def apply(self, plan: Plan) -> ApplyResult:
        """Write ``plan``: its creates, updates and deletes, in its order, each through
        :class:`JobManager` (an update fails with ConflictError when its job changed
        since the plan was made). A failure part-way says how many changes were made;
        applying the file again finishes the work."""
        result = ApplyResult(plan, [], [], [])
        total = sum(1 for item in plan.items if item.action is not Action.UNCHANGED)
        try:
            for item in plan.items:
                if item.action is Action.CREATE:
                    assert item.desired is not None
                    result.created.append(self.manager.create_job(item.desired))
                elif item.action is Action.UPDATE:
                    assert item.current is not None
                    result.updated.append(
                        self.manager.update_fields(
                            item.current.job_id,
                            expected_version=item.current.version,
                            **item.changes,
                        )
                    )
                elif item.action is Action.DELETE:
                    assert item.current is not None
                    result.deleted.append(self.manager.delete_job(item.current.job_id))
        except DbcronError as exc:
            done = len(result.created) + len(result.updated) + len(result.deleted)
            if not done:
                raise
            raise type(exc)(
                f"{exc} (after {done} of {total} changes were made; apply the file again to finish)"
            ) from exc
        return result


#: File field name -> job field name.
BY_NAME_TO_JOB = {f.name: f.job_field for f in FIELDS}
