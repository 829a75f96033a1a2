-- Maintenance queries for SQLite (the maintenance job type). Parameters use :name.

-- name: maintenance_prune_executions
-- One batch: final executions that are older than the cutoff and not among their
-- job's newest keep_last. Pending and running executions are never touched.
DELETE FROM job_executions WHERE execution_id IN (
    SELECT execution_id FROM (
        SELECT execution_id, status, created_at,
               row_number() OVER (
                   PARTITION BY job_id
                   ORDER BY created_at DESC, scheduled_for DESC, retry_attempt DESC
               ) AS newest
        FROM job_executions
    ) AS ranked
    WHERE newest > :keep_last
      AND created_at < :cutoff
      AND status NOT IN ('pending', 'running')
    LIMIT :batch_size
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
