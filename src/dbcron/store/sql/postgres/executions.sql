-- Execution and node queries for PostgreSQL. Parameters use the %(name)s style.

-- name: insert_execution
INSERT INTO job_executions (
    execution_id, job_id, status, started_at, finished_at, duration_seconds, result,
    error_message, retry_attempt, logs, created_at, scheduled_for, trigger, run_after,
    node_id, lease_expires_at, fencing_token, priority
) VALUES (
    %(execution_id)s, %(job_id)s, %(status)s, %(started_at)s, %(finished_at)s, %(duration_seconds)s, %(result)s,
    %(error_message)s, %(retry_attempt)s, %(logs)s, %(created_at)s, %(scheduled_for)s, %(trigger)s, %(run_after)s,
    %(node_id)s, %(lease_expires_at)s, %(fencing_token)s, %(priority)s
);

-- name: get_execution
SELECT * FROM job_executions WHERE execution_id = %(execution_id)s;

-- name: list_executions
SELECT * FROM job_executions
WHERE (%(job_id)s::text IS NULL OR job_id = %(job_id)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY created_at DESC, scheduled_for DESC, retry_attempt DESC
LIMIT %(limit)s;

-- name: execution_counts
SELECT status, count(*) AS n FROM job_executions
WHERE created_at >= %(since)s AND (%(job_id)s::text IS NULL OR job_id = %(job_id)s)
GROUP BY status;

-- name: execution_durations
SELECT duration_seconds FROM job_executions
WHERE created_at >= %(since)s AND (%(job_id)s::text IS NULL OR job_id = %(job_id)s)
  AND duration_seconds IS NOT NULL AND status IN ('success', 'failed', 'timeout');

-- One job's history and statistics: the job is a plain equality (never "IS NULL OR"),
-- so that the planner walks that job's rows through job_executions_history_idx instead of
-- every execution in time order.

-- name: list_executions_of_job
SELECT * FROM job_executions
WHERE job_id = %(job_id)s
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY created_at DESC, scheduled_for DESC, retry_attempt DESC
LIMIT %(limit)s;

-- name: execution_counts_of_job
SELECT status, count(*) AS n FROM job_executions
WHERE job_id = %(job_id)s AND created_at >= %(since)s
GROUP BY status;

-- name: execution_durations_of_job
SELECT duration_seconds FROM job_executions
WHERE job_id = %(job_id)s AND created_at >= %(since)s
  AND duration_seconds IS NOT NULL AND status IN ('success', 'failed', 'timeout');

-- name: list_nodes
SELECT * FROM scheduler_nodes ORDER BY last_heartbeat DESC, node_id;
