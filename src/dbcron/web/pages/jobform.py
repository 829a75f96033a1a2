"""``/jobs/new`` and ``/jobs/{ref}/edit``: the job form, its config inputs generated
from the job type's JSON schema, checked as it is typed (``/jobs/form/check`` answers
the services' own message, or the next fires) ."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dbcron.cron import preview
from dbcron.errors import ConflictError, ValidationError
from dbcron.handlers.registry import HandlerSpec
from dbcron.manager import JobManager
from dbcron.models import Job, JobStatus, MisfirePolicy, OverlapPolicy
from dbcron.service.secrets import mask_config, unmask_config
from dbcron.web.auth import AdminDep, ViewerDep
from dbcron.web.pages.render import page
from dbcron.web.pages.schemaform import config_from_form, fields_of, refused
from dbcron.web.state import runtime_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Whole-number job fields of the form (empty: the configured default).
INT_FIELDS: Final = (
    "timeout_seconds",
    "retry_count",
    "retry_delay_seconds",
    "max_concurrency",
    "priority",
)
#: Text job fields (empty: none).
TEXT_FIELDS: Final = ("key", "description")
#: Fires the form previews.
PREVIEW_FIRES: Final = 5


def _form_values(job: Job | None) -> dict[str, str]:
    """The job form's inputs for ``job`` (a new job's defaults when None)."""
    if job is None:
        return {"status": JobStatus.ACTIVE.value, "timezone": "", "job_type": "shell"}
    values = {
        "name": job.name,
        "job_type": job.job_type,
        "schedule_expression": job.schedule_expression,
        "timezone": job.timezone,
        "status": job.status.value,
        "overlap_policy": job.overlap_policy.value,
        "misfire_policy": job.misfire_policy.value,
        "version": str(job.version),
    }
    for name in (*INT_FIELDS, *TEXT_FIELDS):
        value = getattr(job, name)
        values[name] = "" if value is None else str(value)
    return values


def _job_fields(form: Mapping[str, str]) -> dict[str, Any]:
    """The job fields the form gives (empty inputs left out, numbers parsed)."""
    out: dict[str, Any] = {}
    for name in ("name", "job_type", "schedule_expression", "timezone"):
        out[name] = form.get(name, "").strip()
    for name in TEXT_FIELDS:
        text = form.get(name, "").strip()
        out[name] = text or None
    for name in INT_FIELDS:
        text = form.get(name, "").strip()
        if text:
            try:
                out[name] = int(text)
            except ValueError:
                raise refused(f"{name} must be a whole number, not {text!r}", name) from None
    for name in ("status", "overlap_policy", "misfire_policy"):
        if form.get(name):
            out[name] = form[name]
    if not out["timezone"]:
        del out["timezone"]
    return out


def _spec(jobs: JobManager, job_type: str) -> HandlerSpec:
    known = {spec.name: spec for spec in jobs.registry.types()}
    return known.get(job_type) or jobs.registry.get(job_type)


def _config(jobs: JobManager, form: Mapping[str, str], stored: Job | None) -> dict[str, Any]:
    """The submitted config; masked secrets of ``stored`` restored."""
    spec = _spec(jobs, form.get("job_type", "").strip())
    config = config_from_form(spec.json_schema(), form)
    return unmask_config(config, stored.config) if stored is not None else config


def _draft(jobs: JobManager, form: Mapping[str, str], stored: Job | None) -> Job:
    """The job the form describes, not validated."""
    values = _job_fields(form)
    config = _config(jobs, form, stored)
    if stored is None:
        name, job_type = values.pop("name"), values.pop("job_type")
        schedule = values.pop("schedule_expression") or None
        description = values.pop("description")
        return jobs.draft_job(name, job_type, schedule, config, description, **values)
    return stored.with_changes(**values, config=config)


def _render(
    request: Request,
    job: Job | None,
    values: Mapping[str, str],
    *,
    error: ValidationError | ConflictError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    jobs = runtime_of(request).jobs
    types = jobs.registry.types()
    chosen = values.get("job_type") or "shell"
    spec = _spec(jobs, chosen)
    if job is not None and chosen == job.job_type and "config_given" not in values:
        config: Mapping[str, Any] | None = mask_config(job.config)
    else:
        config = None
    fields = fields_of(spec.json_schema(), config)
    if "config_given" in values:
        fields = [replace(f, value=values.get(f.input_name, "")) for f in fields]
    return page(
        request,
        "job_form.html",
        {
            "job": job,
            "values": values,
            "types": types,
            "spec": spec,
            "fields": fields,
            "statuses": [s for s in JobStatus if s is not JobStatus.DELETED],
            "overlaps": list(OverlapPolicy),
            "misfires": list(MisfirePolicy),
            "error": error,
            "default_timezone": jobs.defaults.timezone,
        },
        status_code=status_code,
    )


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    values = {key: value for key, value in data.items() if isinstance(value, str)}
    values["config_given"] = "1"
    return values


@router.get("/jobs/new", response_class=HTMLResponse)
def new_job(
    request: Request,
    principal: AdminDep,
    job_type: Annotated[str, Query(max_length=100)] = "shell",
) -> HTMLResponse:
    """The empty job form."""
    return _render(request, None, {**_form_values(None), "job_type": job_type})


@router.post("/jobs/new", response_class=HTMLResponse)
async def create_job(request: Request, principal: AdminDep) -> Response:
    """Create the job the form describes; its page, or the form with the message."""
    values = await _form(request)
    jobs = runtime_of(request).jobs
    try:
        created = jobs.create_job(_draft(jobs, values, None))
    except ValidationError as exc:
        return _render(request, None, values, error=exc, status_code=422)
    return RedirectResponse(request.url_for("job_page", ref=created.job_id), status_code=303)


@router.get("/jobs/{ref}/edit", response_class=HTMLResponse)
def edit_job(request: Request, ref: str, principal: AdminDep) -> HTMLResponse:
    """The form of an existing job (secrets masked)."""
    job = runtime_of(request).jobs.get_job(ref)
    return _render(request, job, _form_values(job))


@router.post("/jobs/{ref}/edit", response_class=HTMLResponse)
async def save_job(request: Request, ref: str, principal: AdminDep) -> Response:
    """Store the edited job (409 and the message when it changed meanwhile)."""
    values = await _form(request)
    jobs = runtime_of(request).jobs
    stored = jobs.get_job(ref)
    try:
        version = int(values.get("version", ""))
        changes = _job_fields(values)
        changes["config"] = _config(jobs, values, stored)
        saved = jobs.update_fields(stored.job_id, expected_version=version, **changes)
    except ValueError:
        return _render(
            request, stored, values, error=refused("version is missing"), status_code=422
        )
    except ValidationError as exc:
        return _render(request, stored, values, error=exc, status_code=422)
    except ConflictError as exc:
        return _render(request, stored, values, error=exc, status_code=409)
    return RedirectResponse(request.url_for("job_page", ref=saved.job_id), status_code=303)


@router.get("/jobs/form/config", response_class=HTMLResponse)
def config_inputs(
    request: Request,
    principal: ViewerDep,
    job_type: Annotated[str, Query(max_length=100)] = "shell",
) -> HTMLResponse:
    """The config inputs of ``job_type`` (htmx swaps them in when the type changes)."""
    spec = _spec(runtime_of(request).jobs, job_type)
    return page(
        request,
        "fragments/config_fields.html",
        {"spec": spec, "fields": fields_of(spec.json_schema(), None)},
    )


@router.post("/jobs/form/check", response_class=HTMLResponse)
async def check(request: Request, principal: AdminDep) -> HTMLResponse:
    """The form checked as the job service checks it (nothing is written): its
    message, or the next fires of the schedule with DST notes. Admin only, like the
    form: checking a ``python`` job imports its module."""
    values = await _form(request)
    jobs = runtime_of(request).jobs
    ref = values.get("job_id", "")
    stored = jobs.get_job(ref) if ref else None
    fires: list[Any] = []
    error: ValidationError | None = None
    try:
        job, schedule = jobs.prepare_job(_draft(jobs, values, stored))
        start: datetime = jobs.clock.now()
        fires = preview(schedule, start, PREVIEW_FIRES)
        zone = job.timezone
    except ValidationError as exc:
        error, zone = exc, "UTC"
    return page(
        request, "fragments/form_check.html", {"error": error, "fires": fires, "zone": zone}
    )
