-- Maintenance queries for PostgreSQL (the maintenance job type). Parameters use %(name)s.

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
    WHERE newest > %(keep_last)s
      AND created_at < %(cutoff)s
      AND status NOT IN ('pending', 'running')
    LIMIT %(batch_size)s
);

-- name: maintenance_prune_nodes
DELETE FROM scheduler_nodes WHERE stopped_at IS NOT NULL AND stopped_at < %(cutoff)s;

-- name: maintenance_relation_bytes
SELECT coalesce(sum(pg_total_relation_size(to_regclass(t.relname))), 0)::bigint AS bytes
FROM unnest(ARRAY['jobs', 'job_executions', 'papers', 'scheduler_nodes']) AS t (relname);

-- name: maintenance_vacuum
VACUUM (ANALYZE) jobs, job_executions, papers, scheduler_nodes;
