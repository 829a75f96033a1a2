-- Maintenance queries for PostgreSQL (the maintenance job type). Parameters use %(name)s.

-- Retention walks the history oldest first through job_executions_window_idx, one slice
-- of at most :batch_size rows per transaction, each slice starting after the previous
-- one: no batch re-reads or re-ranks what an earlier batch looked at.

-- name: maintenance_prune_slice_end
-- The created_at of the last row of the next slice (rows older than the cutoff, after
-- :walked_to); NULL when no row is left.
SELECT max(created_at) AS slice_end FROM (
    SELECT created_at FROM job_executions
    WHERE created_at > %(walked_to)s AND created_at < %(cutoff)s
    ORDER BY created_at
    LIMIT %(batch_size)s
) AS slice;

-- name: maintenance_prune_executions
-- One slice: final executions created in (:walked_to, :slice_end] that have at least
-- :keep_last newer executions of their job (counted through job_executions_history_idx,
-- at most :keep_last index entries per row). Pending and running ones are never touched.
DELETE FROM job_executions WHERE execution_id IN (
    SELECT e.execution_id FROM job_executions AS e
    WHERE e.created_at > %(walked_to)s AND e.created_at <= %(slice_end)s
      AND e.status NOT IN ('pending', 'running')
      AND (
          SELECT count(*) FROM (
              SELECT 1 FROM job_executions AS newer
              WHERE newer.job_id = e.job_id AND newer.created_at > e.created_at
              LIMIT %(keep_last)s
          ) AS kept
      ) >= %(keep_last)s
);

-- name: maintenance_prune_nodes
DELETE FROM scheduler_nodes WHERE stopped_at IS NOT NULL AND stopped_at < %(cutoff)s;

-- name: maintenance_relation_bytes
SELECT coalesce(sum(pg_total_relation_size(to_regclass(t.relname))), 0)::bigint AS bytes
FROM unnest(ARRAY['jobs', 'job_executions', 'papers', 'scheduler_nodes']) AS t (relname);

-- name: maintenance_vacuum
VACUUM (ANALYZE) jobs, job_executions, papers, scheduler_nodes;
