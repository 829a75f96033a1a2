-- The scheduling engine's queries for PostgreSQL. Rows are locked with FOR UPDATE SKIP
-- LOCKED, so that several schedulers share the work and never wait on each other.

-- name: lock_due_jobs
SELECT * FROM jobs
WHERE status = 'active' AND next_execution <= %(now)s
ORDER BY next_execution
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: active_counts
SELECT job_id, count(*) AS n FROM job_executions
WHERE status IN ('pending', 'running') AND job_id = ANY(%(ids)s)
GROUP BY job_id;

-- name: running_counts
SELECT job_id, count(*) AS n FROM job_executions
WHERE status = 'running' AND job_id = ANY(%(ids)s)
GROUP BY job_id;

-- name: jobs_by_ids
SELECT * FROM jobs WHERE job_id = ANY(%(ids)s)
FOR UPDATE SKIP LOCKED;

-- name: insert_execution_if_new
INSERT INTO job_executions (
    execution_id, job_id, status, started_at, finished_at, duration_seconds, result,
    error_message, retry_attempt, logs, created_at, scheduled_for, trigger, run_after,
    node_id, lease_expires_at, fencing_token, priority
) VALUES (
    %(execution_id)s, %(job_id)s, %(status)s, %(started_at)s, %(finished_at)s, %(duration_seconds)s, %(result)s,
    %(error_message)s, %(retry_attempt)s, %(logs)s, %(created_at)s, %(scheduled_for)s, %(trigger)s, %(run_after)s,
    %(node_id)s, %(lease_expires_at)s, %(fencing_token)s, %(priority)s
) ON CONFLICT (job_id, scheduled_for, retry_attempt) DO NOTHING;

-- name: advance_job
UPDATE jobs SET next_execution = %(next_execution)s,
    last_execution = coalesce(%(last_fire)s::timestamptz, last_execution)
WHERE job_id = %(job_id)s AND next_execution = %(previous)s;

-- name: lock_runnable
SELECT * FROM job_executions
WHERE status = 'pending' AND run_after <= %(now)s
ORDER BY priority DESC, run_after
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: cancel_execution
UPDATE job_executions
SET status = 'cancelled', finished_at = %(now)s, error_message = %(reason)s
WHERE execution_id = %(execution_id)s AND status = 'pending';

-- name: finish_running
UPDATE job_executions
SET status = %(status)s, finished_at = %(finished_at)s, duration_seconds = %(duration_seconds)s,
    result = %(result)s, error_message = %(error_message)s, logs = %(logs)s, lease_expires_at = NULL
WHERE execution_id = %(execution_id)s AND status = 'running' AND fencing_token = %(fencing_token)s;

-- name: extend_leases
UPDATE job_executions SET lease_expires_at = %(until)s
WHERE node_id = %(node_id)s AND status = 'running';

-- name: lock_expired
SELECT * FROM job_executions
WHERE status = 'running' AND lease_expires_at < %(now)s
ORDER BY lease_expires_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: next_wakeup
SELECT (SELECT min(next_execution) FROM jobs WHERE status = 'active') AS next_fire,
       (SELECT min(run_after) FROM job_executions WHERE status = 'pending') AS next_run;

-- name: register_node
INSERT INTO scheduler_nodes (node_id, host, pid, version, started_at, last_heartbeat, stopped_at)
VALUES (%(node_id)s, %(host)s, %(pid)s, %(version)s, %(started_at)s, %(last_heartbeat)s, NULL);

-- name: heartbeat_node
UPDATE scheduler_nodes SET last_heartbeat = %(now)s WHERE node_id = %(node_id)s;

-- name: stop_node
UPDATE scheduler_nodes SET stopped_at = %(now)s, last_heartbeat = %(now)s WHERE node_id = %(node_id)s;

-- name: db_now
SELECT clock_timestamp() AS now;

-- name: notify_wakeup
SELECT pg_notify('dbcron_wakeup', '');

-- name: listen
LISTEN dbcron_wakeup;

-- name: running_tokens
SELECT execution_id, fencing_token FROM job_executions
WHERE execution_id = ANY(%(ids)s) AND status = 'running'
FOR UPDATE;

-- name: existing_executions
SELECT execution_id FROM job_executions WHERE execution_id = ANY(%(ids)s);

-- name: start_execution_at
UPDATE job_executions
SET status = 'running', started_at = %(now)s, node_id = %(node_id)s,
    lease_expires_at = %(lease_expires_at)s, fencing_token = %(fencing_token)s
WHERE execution_id = %(execution_id)s AND status = 'pending';
