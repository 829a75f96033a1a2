-- Maintenance queries for SQLite (the maintenance job type). Parameters use :name.

-- Retention walks the history oldest first through job_executions_window_idx, one slice
-- of at most :batch_size rows per transaction, each slice starting after the previous
-- one: no batch re-reads or re-ranks what an earlier batch looked at.

-- name: maintenance_prune_slice_end
-- The created_at of the last row of the next slice (rows older than :walk_until, after
-- :walked_to); NULL when no row is left.
SELECT max(created_at) AS slice_end FROM (
    SELECT created_at FROM job_executions
    WHERE created_at > :walked_to AND created_at < :walk_until
    ORDER BY created_at
    LIMIT :batch_size
) AS slice;

-- name: maintenance_short_retention_jobs
-- Jobs that keep their history for less than the maintenance job's retention: the rows
-- between their cutoff and the common one are walked job by job (history index).
SELECT job_id, retention_days, keep_last FROM jobs
WHERE retention_days IS NOT NULL AND retention_days < :retention_days;

-- name: maintenance_largest_keep_last
SELECT max(keep_last) AS largest_keep FROM jobs;

-- name: maintenance_prune_job_slice_end
SELECT max(created_at) AS slice_end FROM (
    SELECT created_at FROM job_executions
    WHERE job_id = :job_id AND created_at > :walked_to AND created_at < :walk_until
    ORDER BY created_at
    LIMIT :batch_size
) AS slice;

-- name: maintenance_prune_job_executions
-- One slice of one job's history, (:walked_to, :slice_end]: final executions with at
-- least :keep_last newer executions of the job.
DELETE FROM job_executions WHERE execution_id IN (
    SELECT e.execution_id FROM job_executions AS e
    WHERE e.job_id = :job_id
      AND e.created_at > :walked_to AND e.created_at <= :slice_end
      AND e.status NOT IN ('pending', 'running')
      AND (
          SELECT count(*) FROM (
              SELECT 1 FROM job_executions AS newer
              WHERE newer.job_id = e.job_id AND newer.created_at > e.created_at
              LIMIT :keep_last
          ) AS kept
      ) >= :keep_last
);

-- name: maintenance_prune_executions
-- One slice: final executions created in (:walked_to, :slice_end] that are older than
-- their job's retention (its own retention_days, else :cutoff) and have at least its
-- keep_last (its own, else :keep_last) newer executions, counted through
-- job_executions_history_idx, at most :count_limit index entries per row. Pending and
-- running ones are never touched.
DELETE FROM job_executions WHERE execution_id IN (
    -- CROSS JOIN keeps the slice outermost: the planner would otherwise walk every job
    SELECT e.execution_id FROM job_executions AS e
    CROSS JOIN jobs AS j ON j.job_id = e.job_id
    WHERE e.created_at > :walked_to AND e.created_at <= :slice_end
      AND e.status NOT IN ('pending', 'running')
      AND CASE WHEN j.retention_days IS NULL THEN e.created_at < :cutoff
               ELSE julianday(e.created_at) < julianday(:now) - j.retention_days END
      AND (
          SELECT count(*) FROM (
              SELECT 1 FROM job_executions AS newer
              WHERE newer.job_id = e.job_id AND newer.created_at > e.created_at
              LIMIT :count_limit
          ) AS kept
      ) >= coalesce(j.keep_last, :keep_last)
);

-- name: maintenance_prune_nodes
DELETE FROM scheduler_nodes WHERE stopped_at IS NOT NULL AND stopped_at < :cutoff;

-- name: maintenance_optimize
PRAGMA optimize;

-- name: maintenance_auto_vacuum
PRAGMA auto_vacuum;

-- name: maintenance_incremental_vacuum
PRAGMA incremental_vacuum;

-- name: maintenance_page_size
PRAGMA page_size;

-- name: maintenance_page_count
PRAGMA page_count;

-- name: maintenance_freelist_count
PRAGMA freelist_count;
