-- Execution and node queries for SQLite. Parameters use the :name style.

-- name: insert_execution
INSERT INTO job_executions (
    execution_id, job_id, status, started_at, finished_at, duration_seconds, result,
    error_message, retry_attempt, logs, created_at, scheduled_for, trigger, run_after,
    node_id, lease_expires_at, fencing_token, priority
) VALUES (
    :execution_id, :job_id, :status, :started_at, :finished_at, :duration_seconds, :result,
    :error_message, :retry_attempt, :logs, :created_at, :scheduled_for, :trigger, :run_after,
    :node_id, :lease_expires_at, :fencing_token, :priority
);

-- name: get_execution
SELECT * FROM job_executions WHERE execution_id = :execution_id;

-- History pages, newest first: ordered by (created_at, scheduled_for, retry_attempt,
-- execution_id), all descending; a page after the first starts below the execution
-- :before (a keyset: the index is entered at that row, whatever the depth). Across jobs
-- the walk is job_executions_window_idx; of one job, job_executions_history_idx (the job is
-- a plain equality, never "IS NULL OR", so that the planner never walks every execution).
-- Optional filters: trigger kind and a created_at range [:since, :until).

-- name: list_executions
SELECT e.* FROM job_executions AS e
WHERE (:status IS NULL OR e.status = :status)
  AND (:trigger IS NULL OR e.trigger = :trigger)
  AND (:since IS NULL OR e.created_at >= :since) AND (:until IS NULL OR e.created_at < :until)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT :limit;

-- name: list_executions_before
WITH c AS (
  SELECT created_at, scheduled_for, retry_attempt, execution_id FROM job_executions
  WHERE execution_id = :before
)
SELECT e.* FROM job_executions AS e, c
WHERE (:status IS NULL OR e.status = :status)
  AND (:trigger IS NULL OR e.trigger = :trigger)
  AND (:since IS NULL OR e.created_at >= :since) AND (:until IS NULL OR e.created_at < :until)
  AND e.created_at <= c.created_at
  AND (e.created_at, e.scheduled_for, e.retry_attempt, e.execution_id)
    < (c.created_at, c.scheduled_for, c.retry_attempt, c.execution_id)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT :limit;

-- name: list_executions_of_job
SELECT e.* FROM job_executions AS e
WHERE e.job_id = :job_id AND (:status IS NULL OR e.status = :status)
  AND (:trigger IS NULL OR e.trigger = :trigger)
  AND (:since IS NULL OR e.created_at >= :since) AND (:until IS NULL OR e.created_at < :until)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT :limit;

-- name: list_executions_of_job_before
WITH c AS (
  SELECT created_at, scheduled_for, retry_attempt, execution_id FROM job_executions
  WHERE execution_id = :before
)
SELECT e.* FROM job_executions AS e, c
WHERE e.job_id = :job_id AND (:status IS NULL OR e.status = :status)
  AND (:trigger IS NULL OR e.trigger = :trigger)
  AND (:since IS NULL OR e.created_at >= :since) AND (:until IS NULL OR e.created_at < :until)
  AND e.created_at <= c.created_at
  AND (e.created_at, e.scheduled_for, e.retry_attempt, e.execution_id)
    < (c.created_at, c.scheduled_for, c.retry_attempt, c.execution_id)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT :limit;

-- Pending or running executions across jobs (status is 'pending' or 'running'): a handful
-- of rows found through the engine's partial index job_executions_active_idx, instead of
-- a walk down the whole history looking for them.

-- name: list_unfinished
SELECT e.* FROM job_executions AS e
WHERE e.status IN ('pending', 'running') AND e.status = :status
  AND (:trigger IS NULL OR e.trigger = :trigger)
  AND (:since IS NULL OR e.created_at >= :since) AND (:until IS NULL OR e.created_at < :until)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT :limit;

-- name: list_unfinished_before
WITH c AS (
  SELECT created_at, scheduled_for, retry_attempt, execution_id FROM job_executions
  WHERE execution_id = :before
)
SELECT e.* FROM job_executions AS e, c
WHERE e.status IN ('pending', 'running') AND e.status = :status
  AND (:trigger IS NULL OR e.trigger = :trigger)
  AND (:since IS NULL OR e.created_at >= :since) AND (:until IS NULL OR e.created_at < :until)
  -- "+" keeps the time index out: the partial index of unfinished rows is the walk
  AND (+e.created_at, e.scheduled_for, e.retry_attempt, e.execution_id)
    < (c.created_at, c.scheduled_for, c.retry_attempt, c.execution_id)
ORDER BY e.created_at DESC, e.scheduled_for DESC, e.retry_attempt DESC, e.execution_id DESC
LIMIT :limit;

-- Statistics of the window (executions created at or after :since), one grouped query per
-- scope; the columns are those of JobStats. "runs" counts the executions that started
-- (every one but missed and pending ones).
-- SQLite has no percentile: p95 is read by window_p95 and p95_of_jobs, walking from the longest
-- duration down (a sort that keeps only the top 5%).

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
  count(duration_seconds) FILTER (WHERE status IN ('success', 'failed', 'timeout')) AS timed
FROM job_executions
WHERE created_at >= :since;

-- The jobs with the most failures and timeouts in the window (then by id), read from the
-- partial index of failures only (a few percent of the rows).
-- name: failing_jobs
SELECT job_id, count(*) AS bad FROM job_executions
WHERE status IN ('failed', 'timeout') AND created_at >= :since
GROUP BY job_id
ORDER BY count(*) DESC, job_id
LIMIT :limit;

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
FROM json_each(:ids) AS ids
CROSS JOIN job_executions AS e ON e.job_id = ids.value AND e.created_at >= :since
GROUP BY e.job_id;

-- name: window_p95
SELECT duration_seconds FROM job_executions
WHERE created_at >= :since AND duration_seconds IS NOT NULL
  AND status IN ('success', 'failed', 'timeout')
ORDER BY duration_seconds DESC
LIMIT 1 OFFSET :offset;

-- Nearest-rank p95 of each of the jobs :ids (a JSON array), one lookup per job.
-- name: p95_of_jobs
SELECT job_id, duration_seconds AS p95_duration FROM (
  SELECT
    e.job_id,
    e.duration_seconds,
    row_number() OVER (PARTITION BY e.job_id ORDER BY e.duration_seconds) AS position,
    count(*) OVER (PARTITION BY e.job_id) AS n
  FROM json_each(:ids) AS ids
  CROSS JOIN job_executions AS e
    ON e.job_id = ids.value AND e.created_at >= :since
  WHERE e.duration_seconds IS NOT NULL AND e.status IN ('success', 'failed', 'timeout')
)
WHERE position = (n * 95 + 99) / 100;

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
WHERE execution_id >= :low AND execution_id < :high
ORDER BY execution_id
LIMIT :limit;

-- name: last_results
-- The newest ended execution (not pending, running or missed) of each job of :ids (a JSON
-- array): one walk down each job's history index.
SELECT e.* FROM json_each(:ids) AS ids
CROSS JOIN job_executions AS e
  ON e.execution_id = (
      SELECT latest.execution_id FROM job_executions AS latest
      WHERE latest.job_id = ids.value
        AND latest.status NOT IN ('pending', 'running', 'missed')
      ORDER BY latest.created_at DESC
      LIMIT 1
  );

-- name: lock_execution
-- The write transaction (BEGIN IMMEDIATE) already holds the database's write lock.
SELECT * FROM job_executions WHERE execution_id = :execution_id;

-- name: cancel_unfinished
UPDATE job_executions
SET status = 'cancelled', finished_at = :finished_at, duration_seconds = :duration_seconds,
    error_message = :error_message, lease_expires_at = NULL
WHERE execution_id = :execution_id AND status = :status;

-- name: not_running_on_node
SELECT execution_id, status FROM job_executions
WHERE execution_id IN (SELECT value FROM json_each(:ids))
  AND NOT (status = 'running' AND node_id = :node_id);

-- name: save_live_logs
UPDATE job_executions SET logs = :logs
WHERE execution_id = :execution_id AND status = 'running' AND fencing_token = :fencing_token;
