-- The scheduling engine's queries for PostgreSQL. Rows are locked with FOR UPDATE SKIP
-- LOCKED, so that several schedulers share the work and never wait on each other.

-- name: lock_due_jobs
SELECT * FROM jobs
WHERE status = 'active' AND next_execution <= %(now)s
ORDER BY next_execution
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: active_counts
-- A retry still waiting out its delay does not hold its job's slot.
SELECT job_id, count(*) AS n FROM job_executions
WHERE status IN ('pending', 'running') AND job_id = ANY(%(ids)s::text[])
  AND (status = 'running' OR run_after <= %(now)s)
GROUP BY job_id;

-- name: running_counts
SELECT job_id, count(*) AS n FROM job_executions
WHERE status = 'running' AND job_id = ANY(%(ids)s::text[])
GROUP BY job_id;

-- name: jobs_by_ids
SELECT * FROM jobs WHERE job_id = ANY(%(ids)s::text[])
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

-- name: prefer_index_order
-- For this transaction only (pooler-safe): never sort to find the first pending
-- executions. Right after a burst the table's statistics still say "few pending rows",
-- and the planner would fetch and sort every pending row for each batch instead of
-- reading the first rows of job_executions_queue_idx, which is already in order.
SET LOCAL enable_sort = off;

-- name: lock_runnable
-- Jobs already found at capacity (or locked) and rows already read are excluded, so that
-- a long queue of one busy job cannot hide other jobs' runnable work.
SELECT * FROM job_executions
WHERE status = 'pending' AND run_after <= %(now)s
  AND NOT (job_id = ANY(%(skip_jobs)s::text[]))
  AND NOT (execution_id = ANY(%(skip_ids)s::text[]))
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

-- name: extend_leases_of
UPDATE job_executions SET lease_expires_at = %(until)s
WHERE execution_id = ANY(%(ids)s::text[])
  AND node_id = %(node_id)s AND status = 'running';

-- name: lock_expired
-- A run whose node still sends heartbeats is not taken while its lease is only
-- recently expired: after a database outage every node gets a lease period to renew
-- its own leases. A row its node no longer renews is taken once the lease is a whole
-- lease period overdue.
SELECT e.* FROM job_executions AS e
LEFT JOIN scheduler_nodes AS n ON n.node_id = e.node_id
WHERE e.status = 'running' AND e.lease_expires_at < %(now)s
  AND (n.node_id IS NULL OR n.stopped_at IS NOT NULL OR n.last_heartbeat < %(stale_before)s
       OR e.lease_expires_at < %(stale_before)s)
ORDER BY e.lease_expires_at
LIMIT %(limit)s
FOR UPDATE OF e SKIP LOCKED;

-- name: jobs_by_ids_unlocked
-- No lock: a job row another node's claim holds is read as it was committed (a locked
-- row means "busy now", never "deleted").
SELECT * FROM jobs WHERE job_id = ANY(%(ids)s::text[]);

-- name: queued_of_jobs
SELECT 1 AS queued FROM job_executions
WHERE status = 'pending' AND job_id = ANY(%(ids)s::text[])
LIMIT 1;

-- name: next_wakeup
-- Pending executions count only when their job has room for them: one queued behind a
-- job at max_concurrency becomes runnable when that job's running execution ends (its
-- completion wakes the schedulers), and must not make the loop spin meanwhile.
SELECT (SELECT min(next_execution) FROM jobs WHERE status = 'active') AS next_fire,
       (SELECT min(p.first_run)
        FROM (SELECT job_id, min(run_after) AS first_run FROM job_executions
              WHERE status = 'pending' GROUP BY job_id) AS p
        JOIN jobs AS j ON j.job_id = p.job_id
        WHERE j.overlap_policy = 'allow' OR j.status = 'deleted'
           OR j.max_concurrency > (
                SELECT count(*) FROM job_executions AS r
                WHERE r.job_id = p.job_id AND r.status = 'running')) AS next_run;

-- name: node_lock
-- Serialises node registrations, so that of several nodes starting together exactly one
-- finds no other live node.
SELECT pg_advisory_xact_lock(7253462902);

-- name: other_live_nodes
SELECT count(*) AS n FROM scheduler_nodes
WHERE node_id <> %(node_id)s AND stopped_at IS NULL
  AND last_heartbeat >= %(live_after)s;

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
WHERE execution_id = ANY(%(ids)s::text[]) AND status = 'running'
FOR UPDATE;

-- name: existing_executions
SELECT execution_id FROM job_executions WHERE execution_id = ANY(%(ids)s::text[]);

-- name: start_execution_at
UPDATE job_executions
SET status = 'running', started_at = %(now)s, node_id = %(node_id)s,
    lease_expires_at = %(lease_expires_at)s, fencing_token = %(fencing_token)s
WHERE execution_id = %(execution_id)s AND status = 'pending';

-- Set-based batch writes: one statement per batch, whatever its size. The rows come as
-- one JSON array of objects (json_to_recordset types each field), which costs the client
-- one json.dumps instead of one array adapter per column; the rows were locked (FOR
-- UPDATE) earlier in the same transaction, or are new.

-- name: insert_executions_batch
INSERT INTO job_executions (
    execution_id, job_id, status, started_at, finished_at, error_message, retry_attempt,
    logs, created_at, scheduled_for, trigger, run_after, node_id, lease_expires_at,
    fencing_token, priority
)
SELECT r.execution_id, r.job_id, r.status, r.started_at, r.finished_at, r.error_message,
       r.retry_attempt, r.logs, r.created_at, r.scheduled_for, r.trigger, r.run_after,
       r.node_id, r.lease_expires_at, r.fencing_token, r.priority
FROM json_to_recordset(%(rows)s::json) AS r (
    execution_id text, job_id text, status text, started_at timestamptz,
    finished_at timestamptz, error_message text, retry_attempt integer, logs text,
    created_at timestamptz, scheduled_for timestamptz, trigger text, run_after timestamptz,
    node_id text, lease_expires_at timestamptz, fencing_token bigint, priority integer
)
ON CONFLICT (job_id, scheduled_for, retry_attempt) DO NOTHING
RETURNING execution_id;

-- name: advance_jobs_batch
UPDATE jobs AS j
SET next_execution = u.next_execution,
    last_execution = coalesce(u.last_fire, j.last_execution)
FROM json_to_recordset(%(rows)s::json) AS u (
    job_id text, next_execution timestamptz, previous timestamptz, last_fire timestamptz
)
WHERE j.job_id = ANY(%(ids)s::text[])  -- an index condition, whatever the statistics
  AND j.job_id = u.job_id AND j.next_execution = u.previous;

-- name: start_pending_batch
-- The rows were locked by lock_runnable in this transaction and are pending: no status
-- condition, so that the planner has only the primary key to use (a status condition
-- invites a scan of every pending row when the statistics are stale during a burst).
UPDATE job_executions
SET status = 'running', started_at = %(now)s, node_id = %(node_id)s,
    lease_expires_at = %(lease_expires_at)s, fencing_token = fencing_token + 1
WHERE execution_id = ANY(%(ids)s::text[]);

-- name: finish_running_batch
UPDATE job_executions AS e
SET status = u.status, finished_at = u.finished_at, duration_seconds = u.duration_seconds,
    result = u.result, error_message = u.error_message, logs = u.logs,
    lease_expires_at = NULL
FROM json_to_recordset(%(rows)s::json) AS u (
    execution_id text, fencing_token bigint, status text, finished_at timestamptz,
    duration_seconds double precision, result jsonb, error_message text, logs text
)
WHERE e.execution_id = ANY(%(ids)s::text[])
  AND e.execution_id = u.execution_id AND e.status = 'running'
  AND e.fencing_token = u.fencing_token
RETURNING e.execution_id;
