"""The ``maintenance`` job type: prune old history and optimise the database.

1. Deletes executions that are older than ``retention_days`` *and* not among their
   job's newest ``keep_last`` (a row survives if either protects it). Pending and
   running executions are never touched. Rows go ``batch_size`` at a time, each batch
   in its own short transaction, so the scheduler is never locked out; if the job's
   deadline comes first, what was deleted stays deleted and the run is a ``timeout``.
2. Deletes ``scheduler_nodes`` rows of schedulers stopped more than ``retention_days``
   ago.
3. With ``optimize`` (the default): SQLite ``PRAGMA optimize`` and ``PRAGMA
   incremental_vacuum`` (which only shrinks files created with
   ``auto_vacuum=incremental``; the result's notes say so otherwise), PostgreSQL
   ``VACUUM (ANALYZE)`` of jobs, job_executions, papers and scheduler_nodes.

The result::

    {"deleted": {"job_executions": 120, "scheduler_nodes": 1}, "batches": 1,
     "seconds": 0.04, "bytes_reclaimed": 0, "optimized": true, "notes": [...]}
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError

from dbcron.handlers.configs import MaintenanceConfig
from dbcron.handlers.context import HandlerContext, HandlerFailed, HandlerTimedOut

#: Seconds of the deadline kept free: no new delete batch starts within them.
DEADLINE_MARGIN_SECONDS = 1.0


def run(ctx: HandlerContext) -> dict[str, Any]:
    """Prune, then optimise; return what was done."""
    try:
        config = MaintenanceConfig.model_validate(ctx.config)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(config)"
        raise HandlerFailed(f"invalid maintenance config: {where}: {first['msg']}") from None
    store = ctx.store()
    maintenance = store.capabilities().maintenance
    if maintenance is None:
        raise HandlerFailed(f"maintenance needs a SQL store, not {type(store).__name__}")
    started = ctx.clock.monotonic()

    def near_deadline() -> bool:
        left = ctx.remaining()
        return left is not None and left < DEADLINE_MARGIN_SECONDS

    pruned = maintenance.prune_executions(
        retention_days=config.retention_days,
        keep_last=config.keep_last,
        batch_size=config.batch_size,
        should_stop=near_deadline,
    )
    ctx.logger.info(
        "deleted %d executions in %d batch(es) (older than %d days and beyond the newest %d "
        "of their job)",
        pruned.deleted,
        pruned.batches,
        config.retention_days,
        config.keep_last,
    )
    if not pruned.complete:
        raise HandlerTimedOut(
            f"deadline reached after deleting {pruned.deleted} executions in "
            f"{pruned.batches} batch(es); the next run continues"
        )
    nodes = maintenance.prune_nodes(retention_days=config.retention_days)
    if nodes:
        ctx.logger.info("deleted %d stopped scheduler node(s)", nodes)
    bytes_reclaimed: int | None = None
    optimized = False
    notes: list[str] = []
    if config.optimize:
        if near_deadline():
            notes.append("optimisation skipped: the job's deadline is too close")
        else:
            outcome = maintenance.optimize()
            optimized = outcome.optimized
            bytes_reclaimed = outcome.bytes_reclaimed
            notes.extend(outcome.notes)
    for note in notes:
        ctx.logger.info("%s", note)
    return {
        "deleted": {"job_executions": pruned.deleted, "scheduler_nodes": nodes},
        "batches": pruned.batches,
        "seconds": round(ctx.clock.monotonic() - started, 6),
        "bytes_reclaimed": bytes_reclaimed,
        "optimized": optimized,
        "notes": notes,
    }
