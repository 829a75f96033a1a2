-- Job queries for SQLite. Parameters use the :name style.

-- name: insert_job
INSERT INTO jobs (
    job_id, name, job_type, schedule_expression, config, status, description,
    timeout_seconds, retry_count, retry_delay_seconds, created_at, updated_at,
    last_execution, next_execution, timezone, misfire_policy, catchup_window_seconds,
    max_concurrency, overlap_policy, priority, retry_backoff, version, keep_last,
    retention_days, key
) VALUES (
    :job_id, :name, :job_type, :schedule_expression, :config, :status, :description,
    :timeout_seconds, :retry_count, :retry_delay_seconds, :created_at, :updated_at,
    :last_execution, :next_execution, :timezone, :misfire_policy, :catchup_window_seconds,
    :max_concurrency, :overlap_policy, :priority, :retry_backoff, :version, :keep_last,
    :retention_days, :key
);

-- name: get_job
SELECT * FROM jobs WHERE job_id = :job_id;

-- name: get_job_version
SELECT version FROM jobs WHERE job_id = :job_id;

-- name: find_job_ids
SELECT job_id FROM jobs WHERE job_id LIKE :prefix ORDER BY job_id LIMIT :limit;

-- A job by its key, or by its exact name (jobs_key_idx, jobs_name_idx): deleted jobs are
-- left out, their keys and names are free for new jobs.

-- name: job_by_key
SELECT * FROM jobs WHERE key = :key AND status <> 'deleted';

-- name: jobs_named
-- INDEXED BY: with statistics gathered before jobs_name_idx existed, the planner would
-- skip-scan jobs_list_idx (for its order) instead of looking the name up.
SELECT * FROM jobs INDEXED BY jobs_name_idx WHERE name = :name AND status <> 'deleted'
ORDER BY created_at, job_id
LIMIT :limit;

-- name: update_job
UPDATE jobs SET
    name = :name, job_type = :job_type, schedule_expression = :schedule_expression,
    config = :config, status = :status, description = :description,
    timeout_seconds = :timeout_seconds, retry_count = :retry_count,
    retry_delay_seconds = :retry_delay_seconds, updated_at = :updated_at,
    -- The engine moves these on with every claim: they are written only when the
    -- schedule's timing changed, so that an update racing a claim cannot move
    -- them back.
    last_execution = CASE WHEN :keep_next THEN last_execution ELSE :last_execution END,
    next_execution = CASE WHEN :keep_next THEN next_execution ELSE :next_execution END,
    timezone = :timezone, misfire_policy = :misfire_policy,
    catchup_window_seconds = :catchup_window_seconds, max_concurrency = :max_concurrency,
    overlap_policy = :overlap_policy, priority = :priority, retry_backoff = :retry_backoff,
    version = :version, keep_last = :keep_last, retention_days = :retention_days,
    key = :key
WHERE job_id = :job_id AND version = :expected_version;

-- Job pages, oldest first (then by name, then id): a page after the first starts after
-- the job :after (a keyset over jobs_list_idx). With no status, deleted jobs are left out.

-- name: list_jobs
SELECT j.* FROM jobs AS j
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type)
ORDER BY j.created_at, j.name, j.job_id
LIMIT :limit;

-- name: list_jobs_after
WITH c AS (SELECT created_at, name, job_id FROM jobs WHERE job_id = :after)
SELECT j.* FROM jobs AS j, c
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type)
  AND j.created_at >= c.created_at
  AND (j.created_at, j.name, j.job_id) > (c.created_at, c.name, c.job_id)
ORDER BY j.created_at, j.name, j.job_id
LIMIT :limit;

-- name: count_jobs
SELECT count(*) AS n FROM jobs AS j
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type);

-- name: count_jobs_after
WITH c AS (SELECT created_at, name, job_id FROM jobs WHERE job_id = :after)
SELECT count(*) AS n FROM jobs AS j, c
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type)
  AND j.created_at >= c.created_at
  AND (j.created_at, j.name, j.job_id) > (c.created_at, c.name, c.job_id);

-- name: due_jobs
SELECT * FROM jobs
WHERE status = 'active' AND next_execution <= :now
ORDER BY next_execution, priority DESC, job_id
LIMIT :limit;

-- name: purge_job_executions
DELETE FROM job_executions WHERE job_id = :job_id;

-- name: purge_job
DELETE FROM jobs WHERE job_id = :job_id;

-- name: count_jobs_by_status
SELECT status, count(*) AS n FROM jobs GROUP BY status;

-- The active jobs that fire next (jobs_due_idx: status, next_execution).
-- name: next_jobs_to_fire
SELECT * FROM jobs
WHERE status = 'active' AND next_execution IS NOT NULL
ORDER BY next_execution, job_id
LIMIT :limit;

-- name: count_jobs_fired_since
SELECT count(*) AS n FROM jobs WHERE last_execution >= :since;

-- Job searches (the REST API's job list): the filters of list_jobs plus a case-insensitive
-- substring of the name, in one of three orders, each ending with the job id; a page
-- after the first starts after the job :after in that order (a keyset by that job's
-- row; an :after that names no job gives an empty page). Sorting some thousand rows
-- needs no index of its own.

-- name: search_jobs_by_created
WITH c AS (SELECT created_at, name, job_id FROM jobs WHERE job_id = :after)
SELECT j.* FROM jobs AS j LEFT JOIN c ON 1 = 1
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type)
  AND (:name IS NULL OR instr(lower(j.name), lower(:name)) > 0)
  AND (:after IS NULL OR (j.created_at, j.name, j.job_id) > (c.created_at, c.name, c.job_id))
ORDER BY j.created_at, j.name, j.job_id
LIMIT :limit;

-- name: search_jobs_by_name
WITH c AS (SELECT name, job_id FROM jobs WHERE job_id = :after)
SELECT j.* FROM jobs AS j LEFT JOIN c ON 1 = 1
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type)
  AND (:name IS NULL OR instr(lower(j.name), lower(:name)) > 0)
  AND (:after IS NULL OR (j.name, j.job_id) > (c.name, c.job_id))
ORDER BY j.name, j.job_id
LIMIT :limit;

-- Jobs without a next run (paused, inactive, deleted) sort last.
-- name: search_jobs_by_next_run
WITH c AS (
  SELECT coalesce(next_execution, '9999-12-31T23:59:59.999999+00:00') AS nxt, job_id
  FROM jobs WHERE job_id = :after
)
SELECT j.* FROM jobs AS j LEFT JOIN c ON 1 = 1
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:job_type IS NULL OR j.job_type = :job_type)
  AND (:name IS NULL OR instr(lower(j.name), lower(:name)) > 0)
  AND (:after IS NULL OR (coalesce(j.next_execution, '9999-12-31T23:59:59.999999+00:00'), j.job_id)
    > (c.nxt, c.job_id))
ORDER BY coalesce(j.next_execution, '9999-12-31T23:59:59.999999+00:00'), j.job_id
LIMIT :limit;

-- The dashboard's jobs table: search (name, key, type, description, id prefix), status,
-- one of five orders (each reversible, then by name, then id), and the number matched.
-- Jobs without a next fire sort as the far future, jobs never fired as the far past.
-- name: table_jobs
SELECT j.*, count(*) OVER () AS matched FROM jobs AS j
WHERE (:status IS NULL AND j.status <> 'deleted' OR j.status = :status)
  AND (:needle IS NULL
    OR substr(j.job_id, 1, length(:needle)) = :needle
    OR instr(lower(j.name), :needle) > 0
    OR instr(lower(coalesce(j.key, '')), :needle) > 0
    OR instr(lower(j.job_type), :needle) > 0
    OR instr(lower(coalesce(j.description, '')), :needle) > 0)
ORDER BY
  CASE WHEN :sort = 'type' AND NOT :descending THEN j.job_type END,
  CASE WHEN :sort = 'type' AND :descending THEN j.job_type END DESC,
  CASE WHEN :sort = 'status' AND NOT :descending THEN j.status END,
  CASE WHEN :sort = 'status' AND :descending THEN j.status END DESC,
  CASE WHEN :sort = 'next' AND NOT :descending
    THEN coalesce(j.next_execution, '9999-12-31T23:59:59.999999+00:00') END,
  CASE WHEN :sort = 'next' AND :descending
    THEN coalesce(j.next_execution, '9999-12-31T23:59:59.999999+00:00') END DESC,
  CASE WHEN :sort = 'last' AND NOT :descending
    THEN coalesce(j.last_execution, '0001-01-01T00:00:00.000000+00:00') END DESC,
  CASE WHEN :sort = 'last' AND :descending
    THEN coalesce(j.last_execution, '0001-01-01T00:00:00.000000+00:00') END,
  CASE WHEN NOT :descending THEN lower(j.name) END,
  CASE WHEN NOT :descending THEN j.job_id END,
  lower(j.name) DESC,
  j.job_id DESC
LIMIT :limit;
