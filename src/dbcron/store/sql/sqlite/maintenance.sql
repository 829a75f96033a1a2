-- Maintenance queries for SQLite (the maintenance job type). Parameters use :name.

-- Retention walks the history oldest first through job_executions_window_idx, one slice
-- of at most :batch_size rows per transaction, each slice starting after the previous
-- one: no batch re-reads or re-ranks what an earlier batch looked at.

-- name: maintenance_prune_slice_end
-- The created_at of the last row of the next slice (rows older than the cutoff, after
-- :walked_to); NULL when no row is left.
SELECT max(created_at) AS slice_end FROM (
    SELECT created_at FROM job_executions
    WHERE created_at > :walked_to AND created_at < :cutoff
    ORDER BY created_at
    LIMIT :batch_size
) AS slice;

-- name: maintenance_prune_executions
-- One slice: final executions created in (:walked_to, :slice_end] that have at least
-- :keep_last newer executions of their job (counted through job_executions_history_idx,
-- at most :keep_last index entries per row). Pending and running ones are never touched.
DELETE FROM job_executions WHERE execution_id IN (
    SELECT e.execution_id FROM job_executions AS e
    WHERE e.created_at > :walked_to AND e.created_at <= :slice_end
      AND e.status NOT IN ('pending', 'running')
      AND (
          SELECT count(*) FROM (
              SELECT 1 FROM job_executions AS newer
              WHERE newer.job_id = e.job_id AND newer.created_at > e.created_at
              LIMIT :keep_last
          ) AS kept
      ) >= :keep_last
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
