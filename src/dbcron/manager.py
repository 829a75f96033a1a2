"""The service layer's job service: validation and CRUD of jobs, manual triggers.

The CLI, the REST API and the Python API all call :class:`JobManager` (built by
:mod:`dbcron.runtime`); no business rule lives in an adapter. Every write validates
first and writes nothing when the input is rejected; a write that was stored publishes
its event (:mod:`dbcron.events`) after the store call returned, never for rejected
input. The read model (history, status) is :class:`dbcron.service.queries.Queries`;
``history`` and ``status_report`` here delegate to it.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dbcron.clock import Clock
from dbcron.config import JobDefaults, SchedulerSettings
from dbcron.engine.database_clock import clock_for
from dbcron.errors import ConflictError, NotFoundError, ValidationError
from dbcron.eventbus import EventBus
from dbcron.models import (
    Execution,
    ExecutionStatus,
    Job,
    JobOrder,
    JobQuery,
    JobStatus,
    Trigger,
)
from dbcron.service.job_fields import (
    EDITABLE_FIELDS,
    ENUM_FIELDS,
    about,
    check_fields,
    enum_field,
    normalised,
)
from dbcron.service.queries import NODE_DEAD_AFTER, PAGE_SIZE, Queries
from dbcron.service.reports import Page, StatusReport
from dbcron.service.secrets import unmask_config
from dbcron.store.protocol import Store

if TYPE_CHECKING:
    from dbcron.cron import Schedule
    from dbcron.events import Event
    from dbcron.handlers.registry import HandlerRegistry

__all__ = ["EDITABLE_FIELDS", "NODE_DEAD_AFTER", "JobManager", "StatusReport"]

#: At most this many fires missed during a pause are recorded one by one on resume.
MAX_PAUSED_FIRES = 100
#: The daily maintenance job that ``dbcron init`` (and ``seed``) create unless one exists.
MAINTENANCE_JOB: dict[str, Any] = {
    "name": "Nightly maintenance",
    "job_type": "maintenance",
    "schedule_expression": "0 3 * * *",
    "config": {"retention_days": 30, "keep_last": 100},
    "description": "Prunes old execution records and optimises the database.",
    "retry_count": 1,
}


class JobManager:
    """Create, read, update, delete, pause, resume and trigger jobs."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        local_clock: Clock | None = None,
        defaults: JobDefaults | None = None,
        registry: HandlerRegistry | None = None,
        bus: EventBus | None = None,
        default_schedule: str | None = None,
    ) -> None:
        """``clock`` is the clock every due time is written on; by default the one the
        schedulers compare with (:func:`~dbcron.engine.database_clock.clock_for`: the database's
        clock on PostgreSQL, measured against ``local_clock``, the host clock unless
        given). ``default_schedule`` is the schedule of a job created without one
        (``scheduler.interval_hours``: ``@every 2h`` unless given)."""
        self.store = store
        self.clock: Clock = clock or clock_for(store, local_clock)
        self.defaults = defaults or JobDefaults()
        self.default_schedule = default_schedule or SchedulerSettings().default_schedule
        self._registry = registry
        self.bus = bus or EventBus()
        self._queries: Queries | None = None

    @property
    def registry(self) -> HandlerRegistry:
        """The job types jobs are validated against: the built-in and plugin ones
        unless others were given (imported on first use: reading jobs needs none)."""
        if self._registry is None:
            from dbcron.handlers.registry import default_registry

            self._registry = default_registry
        return self._registry

    @property
    def queries(self) -> Queries:
        """The read model over the same store and clock."""
        if self._queries is None:
            self._queries = Queries(self.store, clock=self.clock, bus=self.bus)
        return self._queries

    # -- ids -----------------------------------------------------------------------

    def resolve_id(self, job_id: str) -> str:
        """The full id of the job that ``job_id`` names: an id, a key, an exact name or
        a unique id prefix (see :meth:`Queries.resolve_id`).

        Raises NotFoundError when none matches and AmbiguousIdError (listing the
        candidates) when several do.
        """
        return self.queries.resolve_id(job_id)

    def get_job(self, job_id: str) -> Job:
        """The job that ``job_id`` names (an id, key, exact name or unique id prefix;
        deleted ones by id or prefix)."""
        return self.queries.get_job(job_id)

    # -- validation ----------------------------------------------------------------

    def validate(self, job: Job) -> Schedule:
        """Check every field of ``job``; raise ValidationError (a subclass) naming the
        first problem, its ``field`` the job field at fault. Returns the parsed schedule.
        (That no other job has its key is checked where it is written.)"""
        check_fields(job)
        from dbcron.cron import parse_schedule, validate_timezone

        with about("timezone"):
            validate_timezone(job.timezone)
        with about("schedule_expression"):
            schedule = parse_schedule(job.schedule_expression, job.timezone)
        with about("job_type"):
            self.registry.get(job.job_type)
        with about("config"):
            self.registry.validate_config(job.job_type, job.config)
            try:
                json.dumps(job.config, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"config is not JSON-serialisable: {exc}") from None
        return schedule

    def _check_key_free(self, job: Job) -> None:
        """ValidationError when another job that is not deleted has ``job``'s key."""
        if job.key is None or job.status is JobStatus.DELETED:
            return
        other = self.store.job_by_key(job.key)
        if other is not None and other.job_id != job.job_id:
            with about("key"):
                raise ValidationError(
                    f"key {job.key!r} is already used by job {other.job_id[:8]} ({other.name})"
                )

    # -- CRUD ----------------------------------------------------------------------

    def new_job(
        self,
        name: str,
        job_type: str,
        schedule_expression: str | None = None,
        config: dict[str, Any] | None = None,
        description: str | None = None,
        **options: Any,
    ) -> Job:
        """Create a job from its fields (what the CLI and the Python API take): options
        left out or None get the configured defaults, the time zone included; a job
        without a schedule runs every ``scheduler.interval_hours``
        (:attr:`default_schedule`)."""
        return self.create_job(
            self.draft_job(name, job_type, schedule_expression, config, description, **options)
        )

    def draft_job(
        self,
        name: str,
        job_type: str,
        schedule_expression: str | None = None,
        config: dict[str, Any] | None = None,
        description: str | None = None,
        **options: Any,
    ) -> Job:
        """The job :meth:`new_job` would create from these fields, not validated and not
        stored (the dashboard's form checks it with :meth:`prepare_job` as it is typed)."""
        given = {key: value for key, value in options.items() if value is not None}
        given.setdefault("timezone", self.defaults.timezone)
        return Job(
            name=name,
            job_type=job_type,
            schedule_expression=(
                self.default_schedule if schedule_expression is None else schedule_expression
            ),
            config=dict(config or {}),
            description=description,
            **given,
        )

    def create_job(self, job: Job) -> Job:
        """Validate and store a new job; fill defaults, timestamps and next_execution.

        Returns the stored job. A job may be created ``active``, ``inactive`` or
        ``paused``, never ``deleted``.
        """
        job, schedule = self.prepare_job(job)
        now = self.clock.now()
        job = job.with_changes(
            created_at=now,
            updated_at=now,
            last_execution=None,
            next_execution=self._next(job, schedule, now),
        )
        created = self.store.insert_job(job)
        from dbcron.events import JobCreated

        self.bus.publish(JobCreated(created))
        return created

    def prepare_job(self, job: Job) -> tuple[Job, Schedule]:
        """``job`` as :meth:`create_job` would store it (enum texts as members, the
        configured defaults where timeout and retries are None), validated, key included,
        and its schedule; writes nothing. Raises ValidationError as create_job does."""
        job = job.with_changes(
            **normalised({name: getattr(job, name) for name in ("name", "key", *ENUM_FIELDS)}),
            timeout_seconds=(
                self.defaults.timeout_seconds
                if job.timeout_seconds is None
                else job.timeout_seconds
            ),
            retry_count=self.defaults.retry_count if job.retry_count is None else job.retry_count,
            retry_delay_seconds=(
                self.defaults.retry_delay_seconds
                if job.retry_delay_seconds is None
                else job.retry_delay_seconds
            ),
        )
        if job.status is JobStatus.DELETED:
            with about("status"):
                raise ValidationError("a job cannot be created deleted")
        schedule = self.validate(job)
        self.registry.check_handler(job.job_type, job.config)
        self._check_key_free(job)
        return job, schedule

    def update_job(self, job: Job) -> Job:
        """Store every field of ``job`` (as read earlier, then changed).

        ``job.version`` must still be the stored version, otherwise ConflictError: a
        concurrent change is reported, never overwritten. next_execution is recomputed
        when the schedule, time zone or status changed.
        """
        current = self.get_job(job.job_id)
        changes = {f.name: getattr(job, f.name) for f in fields(Job) if f.name in EDITABLE_FIELDS}
        return self._apply(current, changes, expected_version=job.version)

    def update_fields(
        self,
        job_id: str,
        *,
        expected_version: int | None = None,
        masked: bool = False,
        **changes: Any,
    ) -> Job:
        """Change some fields of the job ``job_id`` (id, key, name or prefix); validate;
        store. With ``expected_version``, ConflictError unless the job is still at that
        version. Making a paused job active records the fires its pause missed, as
        :meth:`resume_job` does. ``masked``: the config was shown with its secrets masked
        (:func:`~dbcron.service.secrets.mask_config`), and values still masked keep the
        stored secrets."""
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValidationError(f"cannot change {', '.join(sorted(unknown))}")
        current = self.get_job(job_id)
        if masked and isinstance(changes.get("config"), dict):
            changes["config"] = unmask_config(changes["config"], current.config)
        version = current.version if expected_version is None else expected_version
        paused = (
            self._paused_fires(current, current.updated_at, self.clock.now())
            if current.status is JobStatus.PAUSED
            and current.updated_at is not None
            and "status" in changes
            and enum_field(JobStatus, changes["status"], "status") is JobStatus.ACTIVE
            else []
        )
        return self._apply(current, changes, expected_version=version, missed=paused)

    def _apply(
        self,
        current: Job,
        changes: dict[str, Any],
        expected_version: int,
        missed: list[Execution] | None = None,
    ) -> Job:
        """Validate ``changes`` to ``current`` and store them in one transaction with
        the fires they drop (and ``missed``), recorded ``missed``; refuses any change
        to a deleted job."""
        if current.status is JobStatus.DELETED:
            raise ValidationError(f"job {current.job_id} is deleted; it cannot be changed")
        updated = current.with_changes(**normalised(changes))
        schedule = self.validate(updated)
        if (updated.job_type, updated.config) != (current.job_type, current.config):
            self.registry.check_handler(updated.job_type, updated.config)
        if updated.key != current.key:
            self._check_key_free(updated)
        now = self.clock.now()
        timing_changed = any(
            getattr(updated, key) != getattr(current, key)
            for key in ("schedule_expression", "timezone", "status")
        )
        next_execution = (
            self._next(updated, schedule, now) if timing_changed else current.next_execution
        )
        updated = updated.with_changes(updated_at=now, next_execution=next_execution)
        dropped = self._dropped_fires(current, updated, now) if timing_changed else []
        recorded = [*dropped, *(missed or [])]
        stored = self.store.update_job(
            updated,
            expected_version,
            keep_next_execution=not timing_changed,
            missed=recorded,
        )
        from dbcron.events import ExecutionMissed, JobChanged, JobDeleted

        events: list[Event] = [
            JobDeleted(stored)
            if stored.status is JobStatus.DELETED
            else JobChanged(stored, previous=current)
        ]
        events += [ExecutionMissed(execution) for execution in recorded]
        self.bus.publish_all(events)
        return stored

    def _dropped_fires(self, current: Job, updated: Job, now: datetime) -> list[Execution]:
        """The overdue fires of ``current`` (due, not yet claimed) that a change of its
        schedule, time zone or status drops, as ``missed`` rows with the reason."""
        due = current.next_execution
        if current.status is not JobStatus.ACTIVE or due is None or due > now:
            return []
        if updated.status is not JobStatus.ACTIVE:
            reason = f"missed: the job was {_STATUS_VERBS[updated.status]} before the fire ran"
        elif updated.schedule_expression != current.schedule_expression:
            reason = (
                f"missed: the schedule changed from {current.schedule_expression!r} to "
                f"{updated.schedule_expression!r} before the fire ran"
            )
        else:
            reason = (
                f"missed: the time zone changed from {current.timezone} to "
                f"{updated.timezone} before the fire ran"
            )
        from dbcron.cron import parse_schedule

        schedule = parse_schedule(current.schedule_expression, current.timezone)
        fires = [due, *schedule.fires_between(due, now, MAX_PAUSED_FIRES)]
        return [Execution.missed(current, fire, reason, now) for fire in fires[:MAX_PAUSED_FIRES]]

    def delete_job(self, job_id: str, *, purge: bool = False) -> Job:
        """Soft-delete a job (status ``deleted``, history kept) or, with ``purge``,
        remove it and its history for good. Returns the job as it was last stored."""
        job = self.get_job(job_id)
        if purge:
            if not self.store.purge_job(job.job_id):
                raise NotFoundError(f"no job with id {job_id!r}")
            from dbcron.events import JobDeleted

            self.bus.publish(JobDeleted(job, purged=True))
            return job
        if job.status is JobStatus.DELETED:
            return job
        return self._apply(job, {"status": JobStatus.DELETED}, expected_version=job.version)

    def list_jobs(
        self, status: JobStatus | str | None = None, job_type: str | None = None
    ) -> list[Job]:
        """Jobs filtered by status and type; without a status, all but deleted ones."""
        wanted = None if status is None else enum_field(JobStatus, status, "status")
        if job_type is not None:
            self.registry.get(job_type)
        return self.store.list_jobs(status=wanted, job_type=job_type)

    def jobs_page(
        self,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        *,
        limit: int | None = PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Job]:
        """A page of jobs (see :meth:`Queries.jobs_page`), the filters validated."""
        wanted = None if status is None else enum_field(JobStatus, status, "status")
        if job_type is not None:
            self.registry.get(job_type)
        return self.queries.jobs_page(wanted, job_type, limit=limit, after=after)

    def search_jobs(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        name: str | None = None,
        order: JobOrder | str = JobOrder.CREATED,
        limit: int = PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Job]:
        """A page of jobs filtered by status, type and a substring of the name, in
        ``order`` (see :meth:`Queries.search_jobs`), the filters validated."""
        query = JobQuery(
            status=None if status is None else enum_field(JobStatus, status, "status"),
            job_type=job_type,
            name_contains=name or None,
            order=enum_field(JobOrder, order, "sort"),
        )
        if job_type is not None:
            with about("job_type"):
                self.registry.get(job_type)
        return self.queries.search_jobs(query, limit=limit, after=after)

    def get_due_jobs(self, now: datetime | None = None) -> list[Job]:
        """Active jobs whose next_execution is at or before ``now`` (default: the clock)."""
        return self.store.due_jobs(now or self.clock.now())

    def ensure_maintenance_job(self) -> Job | None:
        """Create the daily maintenance job unless a (not deleted) one exists.

        Returns the job created, or None when one was already there.
        """
        if self.store.list_jobs(job_type="maintenance"):
            return None
        return self.new_job(**MAINTENANCE_JOB)

    # -- state changes ---------------------------------------------------------------

    def pause_job(self, job_id: str) -> Job:
        """Stop a job's schedule from firing (its history and manual triggers remain)."""
        job = self.get_job(job_id)
        if job.status is JobStatus.PAUSED:
            return job
        return self._apply(job, {"status": JobStatus.PAUSED}, expected_version=job.version)

    def resume_job(self, job_id: str) -> Job:
        """Make a paused or inactive job active again; next_execution counts from now.

        The fires that fell while the job was paused (since it was last changed) are
        recorded as ``missed`` executions with the reason, so that none is silently lost.
        """
        job = self.get_job(job_id)
        if job.status is JobStatus.ACTIVE:
            return job
        paused = (
            self._paused_fires(job, job.updated_at, self.clock.now())
            if job.status is JobStatus.PAUSED and job.updated_at is not None
            else []
        )
        return self._apply(
            job, {"status": JobStatus.ACTIVE}, expected_version=job.version, missed=paused
        )

    def _paused_fires(self, job: Job, since: datetime, now: datetime) -> list[Execution]:
        from dbcron.cron import parse_schedule

        schedule = parse_schedule(job.schedule_expression, job.timezone)
        fires = schedule.fires_between(since, now, MAX_PAUSED_FIRES + 1)
        reason = f"missed: the job was paused (paused {since.isoformat()})"
        rows = [Execution.missed(job, fire, reason, now) for fire in fires[:MAX_PAUSED_FIRES]]
        if len(fires) > MAX_PAUSED_FIRES:
            rows[-1] = rows[-1].with_changes(
                error_message=(
                    f"missed: the job was paused (paused {since.isoformat()}); later fires "
                    f"until {now.isoformat()} were missed too and are not recorded one by one"
                )
            )
        return rows

    def trigger_job(self, job_id: str) -> Execution:
        """Record a ``manual`` pending execution that runs as soon as a scheduler sees it."""
        job = self.get_job(job_id)
        if job.status is JobStatus.DELETED:
            raise ValidationError(f"job {job.job_id} is deleted; it cannot be triggered")
        now = self.clock.now()
        return self.store.insert_execution(
            Execution(
                job_id=job.job_id,
                scheduled_for=now,
                run_after=now,
                created_at=now,
                trigger=Trigger.MANUAL,
                status=ExecutionStatus.PENDING,
                priority=job.priority,
            )
        )

    def cancel_execution(
        self, execution_id: str, *, by: str | None = None, reason: str | None = None
    ) -> Execution:
        """Cancel the execution ``execution_id`` (id or unique prefix of 8 characters or
        more): a pending one never runs; a running one is recorded ``cancelled`` at once
        and its node stops it (process mode kills its worker) within about a second.
        No retry follows. ``by`` and ``reason`` are kept in its error message.

        Returns the execution as recorded. Cancelling an execution that is already
        cancelled returns it unchanged; one that ended otherwise raises ConflictError.
        """
        found = self.queries.resolve_execution_id(execution_id)
        message = "cancelled" + (f" by {by}" if by else "") + (f": {reason}" if reason else "")
        before, after = self.store.cancel_execution(found, self.clock.now(), message)
        if before is None or after is None:  # purged between the two reads
            raise NotFoundError(f"no execution with id {execution_id!r}")
        if before.status is ExecutionStatus.CANCELLED:
            return before
        if before.status not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
            when = f" at {before.finished_at.isoformat()}" if before.finished_at else ""
            raise ConflictError(
                f"execution {found} already ended ({before.status.value}{when}); "
                "only a pending or running execution can be cancelled"
            )
        from dbcron.events import ExecutionCancelled

        self.bus.publish(ExecutionCancelled(after, previous_status=before.status))
        return after

    # -- reading (the read model, :class:`~dbcron.service.queries.Queries`) ----------

    def history(
        self,
        job_id: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int = 20,
    ) -> list[Execution]:
        """Executions, newest first, of one job (id or prefix) or of all jobs."""
        return self.queries.history(job_id, status=status, limit=limit)

    def next_fires(self, job: Job, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` fire times of ``job``'s schedule after ``after`` (now)."""
        return self.queries.next_fires(job, count, after)

    def status_report(
        self, window: timedelta = timedelta(hours=24), upcoming: int = 10
    ) -> StatusReport:
        """Everything ``dbcron status`` shows, read in a few queries."""
        return self.queries.status_report(window, upcoming)

    # -- internals -------------------------------------------------------------------

    @staticmethod
    def _next(job: Job, schedule: Schedule, now: datetime) -> datetime | None:
        if job.status is not JobStatus.ACTIVE:
            return None
        return schedule.next_fire(now)


#: How :meth:`JobManager._dropped_fires` names a change of status.
_STATUS_VERBS = {
    JobStatus.PAUSED: "paused",
    JobStatus.INACTIVE: "deactivated",
    JobStatus.DELETED: "deleted",
    JobStatus.ACTIVE: "activated",
}
