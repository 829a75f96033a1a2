-- Job queries for SQLite. Parameters use the :name style.

-- name: insert_job
INSERT INTO jobs (
    job_id, name, job_type, schedule_expression, config, status, description,
    timeout_seconds, retry_count, retry_delay_seconds, created_at, updated_at,
    last_execution, next_execution, timezone, misfire_policy, catchup_window_seconds,
    max_concurrency, overlap_policy, priority, retry_backoff, version
) VALUES (
    :job_id, :name, :job_type, :schedule_expression, :config, :status, :description,
    :timeout_seconds, :retry_count, :retry_delay_seconds, :created_at, :updated_at,
    :last_execution, :next_execution, :timezone, :misfire_policy, :catchup_window_seconds,
    :max_concurrency, :overlap_policy, :priority, :retry_backoff, :version
);

-- name: get_job
SELECT * FROM jobs WHERE job_id = :job_id;

-- name: get_job_version
SELECT version FROM jobs WHERE job_id = :job_id;

-- name: find_job_ids
SELECT job_id FROM jobs WHERE job_id LIKE :prefix ORDER BY job_id LIMIT :limit;

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
    version = :version
WHERE job_id = :job_id AND version = :expected_version;

-- name: list_jobs
SELECT * FROM jobs
WHERE (:status IS NULL AND status <> 'deleted' OR status = :status)
  AND (:job_type IS NULL OR job_type = :job_type)
ORDER BY created_at, name, job_id;

-- name: due_jobs
SELECT * FROM jobs
WHERE status = 'active' AND next_execution <= :now
ORDER BY next_execution, priority DESC, job_id
LIMIT :limit;

-- name: purge_job_executions
DELETE FROM job_executions WHERE job_id = :job_id;

-- name: purge_job
DELETE FROM jobs WHERE job_id = :job_id;
