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

-- History pages, newest first: ordered by (created_at, scheduled_for, retry_attempt,
-- execution_id), all descending; a page after the first starts below the execution
-- :before (a keyset: the index is entered at that row, whatever the depth). Across jobs
-- the walk is job_executions_window_idx; of one job, job_executions_history_idx (the job is
-- a plain equality, never "IS NULL OR", so that the planner never walks every execution).
-- Optional filters: trigger kind and a created_at range [:since, :until).

-- name: list_executions
SELECT e.* FROM job_executions AS e
WHERE (%(status)s::text IS NULL OR e.status = %(status)s)
  AND (%(trigger)s::text IS NULL OR e.trigger = %(trigger)s)
  AND (%(since)s::timestamptz IS NULL OR e.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR e.created_at < %(until)s)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT %(limit)s;

-- name: list_executions_before
SELECT e.* FROM job_executions AS e
WHERE (%(status)s::text IS NULL OR e.status = %(status)s)
  AND (%(trigger)s::text IS NULL OR e.trigger = %(trigger)s)
  AND (%(since)s::timestamptz IS NULL OR e.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR e.created_at < %(until)s)
  -- scalar subqueries, not a join: the planner turns them into parameters of the index
  -- range (a join made it walk the index from the top, filtering)
  AND e.created_at <= (SELECT created_at FROM job_executions WHERE execution_id = %(before)s)
  AND (e.created_at, e.scheduled_for, e.retry_attempt, e.execution_id) < (
      SELECT created_at, scheduled_for, retry_attempt, execution_id FROM job_executions
      WHERE execution_id = %(before)s
  )
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT %(limit)s;

-- name: list_executions_of_job
SELECT e.* FROM job_executions AS e
WHERE e.job_id = %(job_id)s AND (%(status)s::text IS NULL OR e.status = %(status)s)
  AND (%(trigger)s::text IS NULL OR e.trigger = %(trigger)s)
  AND (%(since)s::timestamptz IS NULL OR e.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR e.created_at < %(until)s)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT %(limit)s;

-- name: list_executions_of_job_before
SELECT e.* FROM job_executions AS e
WHERE e.job_id = %(job_id)s AND (%(status)s::text IS NULL OR e.status = %(status)s)
  AND (%(trigger)s::text IS NULL OR e.trigger = %(trigger)s)
  AND (%(since)s::timestamptz IS NULL OR e.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR e.created_at < %(until)s)
  -- scalar subqueries, not a join: the planner turns them into parameters of the index
  -- range (a join made it walk the index from the top, filtering)
  AND e.created_at <= (SELECT created_at FROM job_executions WHERE execution_id = %(before)s)
  AND (e.created_at, e.scheduled_for, e.retry_attempt, e.execution_id) < (
      SELECT created_at, scheduled_for, retry_attempt, execution_id FROM job_executions
      WHERE execution_id = %(before)s
  )
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT %(limit)s;

-- Pending or running executions across jobs (status is 'pending' or 'running'): a handful
-- of rows found through the engine's partial index job_executions_active_idx, instead of
-- a walk down the whole history looking for them.

-- name: list_unfinished
SELECT e.* FROM job_executions AS e
WHERE e.status IN ('pending', 'running') AND e.status = %(status)s
  AND (%(trigger)s::text IS NULL OR e.trigger = %(trigger)s)
  AND (%(since)s::timestamptz IS NULL OR e.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR e.created_at < %(until)s)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT %(limit)s;

-- name: list_unfinished_before
SELECT e.* FROM job_executions AS e
WHERE e.status IN ('pending', 'running') AND e.status = %(status)s
  AND (%(trigger)s::text IS NULL OR e.trigger = %(trigger)s)
  AND (%(since)s::timestamptz IS NULL OR e.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR e.created_at < %(until)s)
  AND (e.created_at, e.scheduled_for, e.retry_attempt, e.execution_id) < (
      SELECT created_at, scheduled_for, retry_attempt, execution_id FROM job_executions
      WHERE execution_id = %(before)s
  )
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT %(limit)s;

-- Statistics of the window (executions created at or after :since), one grouped query per
-- scope; the columns are those of JobStats. "runs" counts the executions that started
-- (every one but missed and pending ones).
-- p95 is percentile_disc(0.95): the nearest-rank percentile.

-- name: window_stats
SELECT
  count(*) FILTER (WHERE status NOT IN ('missed', 'pending')) AS runs,
  count(*) FILTER (WHERE status = 'success') AS success,
  count(*) FILTER (WHERE status = 'failed') AS failed,
  count(*) FILTER (WHERE status = 'timeout') AS timeout,
  count(*) FILTER (WHERE status = 'missed') AS missed,
  count(*) FILTER (WHERE status = 'running') AS running,
  count(*) FILTER (WHERE status = 'pending') AS pending,
  avg(duration_seconds) FILTER (WHERE status IN ('success', 'failed', 'timeout')) AS mean_duration,
  count(duration_seconds) FILTER (WHERE status IN ('success', 'failed', 'timeout')) AS timed,
  percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_seconds)
    FILTER (WHERE status IN ('success', 'failed', 'timeout')) AS p95_duration
FROM job_executions
WHERE created_at >= %(since)s;

-- The jobs with the most failures and timeouts in the window (then by id), read from the
-- partial index of failures only (a few percent of the rows).
-- name: failing_jobs
SELECT job_id, count(*) AS bad FROM job_executions
WHERE status IN ('failed', 'timeout') AND created_at >= %(since)s
GROUP BY job_id
ORDER BY count(*) DESC, job_id
LIMIT %(limit)s;

-- The window's statistics of each of the jobs :ids, one group each (history index).
-- name: stats_of_jobs
SELECT
  e.job_id,
  count(*) FILTER (WHERE e.status NOT IN ('missed', 'pending')) AS runs,
  count(*) FILTER (WHERE e.status = 'success') AS success,
  count(*) FILTER (WHERE e.status = 'failed') AS failed,
  count(*) FILTER (WHERE e.status = 'timeout') AS timeout,
  count(*) FILTER (WHERE e.status = 'missed') AS missed,
  count(*) FILTER (WHERE e.status = 'running') AS running,
  count(*) FILTER (WHERE e.status = 'pending') AS pending,
  avg(e.duration_seconds) FILTER (WHERE e.status IN ('success', 'failed', 'timeout')) AS mean_duration,
  count(e.duration_seconds) FILTER (WHERE e.status IN ('success', 'failed', 'timeout')) AS timed
FROM job_executions AS e
WHERE e.job_id = ANY(%(ids)s::text[]) AND e.created_at >= %(since)s
GROUP BY e.job_id;

-- name: p95_of_jobs
SELECT
  job_id,
  percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_seconds) AS p95_duration
FROM job_executions
WHERE job_id = ANY(%(ids)s::text[]) AND created_at >= %(since)s
  AND duration_seconds IS NOT NULL AND status IN ('success', 'failed', 'timeout')
GROUP BY job_id;

-- name: count_unfinished
SELECT
  count(*) FILTER (WHERE status = 'pending') AS pending,
  count(*) FILTER (WHERE status = 'running') AS running
FROM job_executions
WHERE status IN ('pending', 'running');

-- name: list_nodes
SELECT * FROM scheduler_nodes ORDER BY last_heartbeat DESC, node_id;

-- name: find_execution_ids
-- Execution ids starting with a prefix, as a range of the primary key (a LIKE pattern is
-- not an index range on every backend).
SELECT execution_id FROM job_executions
WHERE execution_id >= %(low)s AND execution_id < %(high)s
ORDER BY execution_id
LIMIT %(limit)s;

-- name: last_results
-- The newest ended execution (not pending, running or missed) of each job of :ids: one
-- walk down each job's history index.
SELECT e.* FROM unnest(%(ids)s::text[]) AS ids (job_id)
CROSS JOIN LATERAL (
    SELECT * FROM job_executions AS latest
    WHERE latest.job_id = ids.job_id
      AND latest.status NOT IN ('pending', 'running', 'missed')
    ORDER BY latest.created_at DESC
    LIMIT 1
) AS e;

-- name: lock_execution
SELECT * FROM job_executions WHERE execution_id = %(execution_id)s FOR UPDATE;

-- name: cancel_unfinished
UPDATE job_executions
SET status = 'cancelled', finished_at = %(finished_at)s, duration_seconds = %(duration_seconds)s,
    error_message = %(error_message)s, lease_expires_at = NULL
WHERE execution_id = %(execution_id)s AND status = %(status)s;

-- name: not_running_on_node
SELECT execution_id, status FROM job_executions
WHERE execution_id = ANY(%(ids)s::text[])
  AND NOT (status = 'running' AND node_id = %(node_id)s);

-- name: save_live_logs
UPDATE job_executions SET logs = %(logs)s
WHERE execution_id = %(execution_id)s AND status = 'running'
  AND fencing_token = %(fencing_token)s;
