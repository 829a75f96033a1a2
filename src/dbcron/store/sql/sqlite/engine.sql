-- The scheduling engine's queries for SQLite. Row locks are not needed: every write
-- transaction is BEGIN IMMEDIATE, so only one writer at a time touches the file.

-- name: lock_due_jobs
SELECT * FROM jobs
WHERE status = 'active' AND next_execution <= :now
ORDER BY next_execution
LIMIT :limit;

-- The ids come first (CROSS JOIN keeps that order): one index lookup per id, instead of
-- a scan of every active row checked against the list.

-- name: active_counts
-- A retry still waiting out its delay does not hold its job's slot.
SELECT e.job_id, count(*) AS n
FROM json_each(:ids) AS ids
CROSS JOIN job_executions AS e INDEXED BY job_executions_active_idx
    ON e.job_id = ids.value AND e.status IN ('pending', 'running')
WHERE e.status = 'running' OR e.run_after <= :now
GROUP BY e.job_id;

-- name: running_counts
SELECT e.job_id, count(*) AS n
FROM json_each(:ids) AS ids
CROSS JOIN job_executions AS e INDEXED BY job_executions_active_idx
    ON e.job_id = ids.value AND e.status IN ('pending', 'running')
WHERE e.status = 'running'
GROUP BY e.job_id;

-- name: jobs_by_ids
SELECT jobs.* FROM json_each(:ids) AS ids CROSS JOIN jobs ON jobs.job_id = ids.value;

-- name: insert_execution_if_new
INSERT INTO job_executions (
    execution_id, job_id, status, started_at, finished_at, duration_seconds, result,
    error_message, retry_attempt, logs, created_at, scheduled_for, trigger, run_after,
    node_id, lease_expires_at, fencing_token, priority
) VALUES (
    :execution_id, :job_id, :status, :started_at, :finished_at, :duration_seconds, :result,
    :error_message, :retry_attempt, :logs, :created_at, :scheduled_for, :trigger, :run_after,
    :node_id, :lease_expires_at, :fencing_token, :priority
) ON CONFLICT (job_id, scheduled_for, retry_attempt) DO NOTHING;

-- name: advance_job
UPDATE jobs SET next_execution = :next_execution,
    last_execution = coalesce(:last_fire, last_execution)
WHERE job_id = :job_id AND next_execution = :previous;

-- name: lock_runnable
-- Jobs already found at capacity (or locked) and rows already read are excluded, so that
-- a long queue of one busy job cannot hide other jobs' runnable work.
SELECT * FROM job_executions INDEXED BY job_executions_queue_idx
WHERE status = 'pending' AND run_after <= :now
  AND job_id NOT IN (SELECT value FROM json_each(:skip_jobs))
  AND execution_id NOT IN (SELECT value FROM json_each(:skip_ids))
ORDER BY priority DESC, run_after
LIMIT :limit;

-- name: cancel_execution
UPDATE job_executions
SET status = 'cancelled', finished_at = :now, error_message = :reason
WHERE execution_id = :execution_id AND status = 'pending';

-- name: finish_running
UPDATE job_executions
SET status = :status, finished_at = :finished_at, duration_seconds = :duration_seconds,
    result = :result, error_message = :error_message, logs = :logs, lease_expires_at = NULL
WHERE execution_id = :execution_id AND status = 'running' AND fencing_token = :fencing_token;

-- name: extend_leases
UPDATE job_executions SET lease_expires_at = :until
WHERE node_id = :node_id AND status = 'running';

-- name: extend_leases_of
UPDATE job_executions SET lease_expires_at = :until
WHERE execution_id IN (SELECT value FROM json_each(:ids))
  AND node_id = :node_id AND status = 'running';

-- name: lock_expired
-- A run whose node still sends heartbeats is not taken while its lease is only
-- recently expired: after a database outage every node gets a lease period to renew
-- its own leases. A row its node no longer renews is taken once the lease is a whole
-- lease period overdue.
SELECT e.* FROM job_executions AS e
LEFT JOIN scheduler_nodes AS n ON n.node_id = e.node_id
WHERE e.status = 'running' AND e.lease_expires_at < :now
  AND (n.node_id IS NULL OR n.stopped_at IS NOT NULL OR n.last_heartbeat < :stale_before
       OR e.lease_expires_at < :stale_before)
ORDER BY e.lease_expires_at
LIMIT :limit;

-- name: jobs_by_ids_unlocked
SELECT jobs.* FROM json_each(:ids) AS ids CROSS JOIN jobs ON jobs.job_id = ids.value;

-- name: queued_of_jobs
SELECT 1 AS queued FROM json_each(:ids) AS ids
CROSS JOIN job_executions AS e INDEXED BY job_executions_active_idx
    ON e.job_id = ids.value AND e.status IN ('pending', 'running')
WHERE e.status = 'pending'
LIMIT 1;

-- name: next_wakeup
-- Pending executions count only when their job has room for them: one queued behind a
-- job at max_concurrency becomes runnable when that job's running execution ends (its
-- completion wakes the scheduler), and must not make the loop spin meanwhile.
SELECT (SELECT min(next_execution) FROM jobs WHERE status = 'active') AS next_fire,
       (SELECT min(p.first_run)
        FROM (SELECT job_id, min(run_after) AS first_run
              FROM job_executions INDEXED BY job_executions_active_idx
              WHERE status IN ('pending', 'running') AND status = 'pending'
              GROUP BY job_id) AS p
        JOIN jobs AS j ON j.job_id = p.job_id
        WHERE j.overlap_policy = 'allow' OR j.status = 'deleted'
           OR j.max_concurrency > (
                SELECT count(*) FROM job_executions AS r INDEXED BY job_executions_active_idx
                WHERE r.job_id = p.job_id AND r.status IN ('pending', 'running')
                  AND r.status = 'running')) AS next_run;

-- name: node_lock
-- Serialises node registrations, so that of several nodes starting together exactly one
-- finds no other live node.
SELECT 1;  -- a BEGIN IMMEDIATE transaction already excludes other writers

-- name: other_live_nodes
SELECT count(*) AS n FROM scheduler_nodes
WHERE node_id <> :node_id AND stopped_at IS NULL
  AND last_heartbeat >= :live_after;

-- name: register_node
INSERT INTO scheduler_nodes (node_id, host, pid, version, started_at, last_heartbeat, stopped_at)
VALUES (:node_id, :host, :pid, :version, :started_at, :last_heartbeat, NULL);

-- name: heartbeat_node
UPDATE scheduler_nodes SET last_heartbeat = :now WHERE node_id = :node_id;

-- name: stop_node
UPDATE scheduler_nodes SET stopped_at = :now, last_heartbeat = :now WHERE node_id = :node_id;

-- name: running_tokens
SELECT e.execution_id, e.fencing_token
FROM json_each(:ids) AS ids CROSS JOIN job_executions AS e ON e.execution_id = ids.value
WHERE e.status = 'running';

-- name: existing_executions
SELECT e.execution_id
FROM json_each(:ids) AS ids CROSS JOIN job_executions AS e ON e.execution_id = ids.value;

-- name: start_execution_at
UPDATE job_executions
SET status = 'running', started_at = :now, node_id = :node_id,
    lease_expires_at = :lease_expires_at, fencing_token = :fencing_token
WHERE execution_id = :execution_id AND status = 'pending';
