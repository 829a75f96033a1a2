-- Job queries for PostgreSQL. Parameters use the %(name)s style.

-- name: insert_job
INSERT INTO jobs (
    job_id, name, job_type, schedule_expression, config, status, description,
    timeout_seconds, retry_count, retry_delay_seconds, created_at, updated_at,
    last_execution, next_execution, timezone, misfire_policy, catchup_window_seconds,
    max_concurrency, overlap_policy, priority, retry_backoff, version, keep_last,
    retention_days, key
) VALUES (
    %(job_id)s, %(name)s, %(job_type)s, %(schedule_expression)s, %(config)s, %(status)s, %(description)s,
    %(timeout_seconds)s, %(retry_count)s, %(retry_delay_seconds)s, %(created_at)s, %(updated_at)s,
    %(last_execution)s, %(next_execution)s, %(timezone)s, %(misfire_policy)s, %(catchup_window_seconds)s,
    %(max_concurrency)s, %(overlap_policy)s, %(priority)s, %(retry_backoff)s, %(version)s, %(keep_last)s,
    %(retention_days)s, %(key)s
);

-- name: get_job
SELECT * FROM jobs WHERE job_id = %(job_id)s;

-- name: get_job_version
SELECT version FROM jobs WHERE job_id = %(job_id)s;

-- name: find_job_ids
SELECT job_id FROM jobs WHERE job_id LIKE %(prefix)s ORDER BY job_id LIMIT %(limit)s;

-- A job by its key, or by its exact name (jobs_key_idx, jobs_name_idx): deleted jobs are
-- left out, their keys and names are free for new jobs.

-- name: job_by_key
SELECT * FROM jobs WHERE key = %(key)s AND status <> 'deleted';

-- name: jobs_named
SELECT * FROM jobs WHERE name = %(name)s AND status <> 'deleted'
ORDER BY created_at, job_id
LIMIT %(limit)s;

-- name: update_job
UPDATE jobs SET
    name = %(name)s, job_type = %(job_type)s, schedule_expression = %(schedule_expression)s,
    config = %(config)s, status = %(status)s, description = %(description)s,
    timeout_seconds = %(timeout_seconds)s, retry_count = %(retry_count)s,
    retry_delay_seconds = %(retry_delay_seconds)s, updated_at = %(updated_at)s,
    -- The engine moves these on with every claim: they are written only when the
    -- schedule's timing changed, so that an update racing a claim cannot move
    -- them back.
    last_execution = CASE WHEN %(keep_next)s::boolean THEN last_execution ELSE %(last_execution)s::timestamptz END,
    next_execution = CASE WHEN %(keep_next)s::boolean THEN next_execution ELSE %(next_execution)s::timestamptz END,
    timezone = %(timezone)s, misfire_policy = %(misfire_policy)s,
    catchup_window_seconds = %(catchup_window_seconds)s, max_concurrency = %(max_concurrency)s,
    overlap_policy = %(overlap_policy)s, priority = %(priority)s, retry_backoff = %(retry_backoff)s,
    version = %(version)s, keep_last = %(keep_last)s, retention_days = %(retention_days)s,
    key = %(key)s
WHERE job_id = %(job_id)s AND version = %(expected_version)s;

-- Job pages, oldest first (then by name, then id): a page after the first starts after
-- the job :after (a keyset over jobs_list_idx). With no status, deleted jobs are left out.

-- name: list_jobs
SELECT j.* FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s)
ORDER BY j.created_at, j.name, j.job_id
LIMIT %(limit)s;

-- name: list_jobs_after
SELECT j.* FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s)
  AND j.created_at >= (SELECT created_at FROM jobs WHERE job_id = %(after)s)
  AND (j.created_at, j.name, j.job_id) > (
      SELECT created_at, name, job_id FROM jobs WHERE job_id = %(after)s
  )
ORDER BY j.created_at, j.name, j.job_id
LIMIT %(limit)s;

-- name: count_jobs
SELECT count(*) AS n FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s);

-- name: count_jobs_after
SELECT count(*) AS n FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s)
  AND j.created_at >= (SELECT created_at FROM jobs WHERE job_id = %(after)s)
  AND (j.created_at, j.name, j.job_id) > (
      SELECT created_at, name, job_id FROM jobs WHERE job_id = %(after)s
  );

-- name: due_jobs
SELECT * FROM jobs
WHERE status = 'active' AND next_execution <= %(now)s
ORDER BY next_execution, priority DESC, job_id
LIMIT %(limit)s;

-- name: purge_job_executions
DELETE FROM job_executions WHERE job_id = %(job_id)s;

-- name: purge_job
DELETE FROM jobs WHERE job_id = %(job_id)s;

-- name: count_jobs_by_status
SELECT status, count(*) AS n FROM jobs GROUP BY status;

-- The active jobs that fire next (jobs_due_idx: status, next_execution).
-- name: next_jobs_to_fire
SELECT * FROM jobs
WHERE status = 'active' AND next_execution IS NOT NULL
ORDER BY next_execution, job_id
LIMIT %(limit)s;

-- name: count_jobs_fired_since
SELECT count(*) AS n FROM jobs WHERE last_execution >= %(since)s;

-- Job searches (the REST API's job list): the filters of list_jobs plus a case-insensitive
-- substring of the name, in one of three orders, each ending with the job id; a page
-- after the first starts after the job :after in that order (a keyset by that job's
-- row; an :after that names no job gives an empty page). Sorting some thousand rows
-- needs no index of its own.

-- name: search_jobs_by_created
SELECT j.* FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s)
  AND (%(name)s::text IS NULL OR strpos(lower(j.name), lower(%(name)s)) > 0)
  AND (%(after)s::text IS NULL OR (j.created_at, j.name, j.job_id) > (
      SELECT created_at, name, job_id FROM jobs WHERE job_id = %(after)s
  ))
ORDER BY j.created_at, j.name, j.job_id
LIMIT %(limit)s;

-- name: search_jobs_by_name
SELECT j.* FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s)
  AND (%(name)s::text IS NULL OR strpos(lower(j.name), lower(%(name)s)) > 0)
  AND (%(after)s::text IS NULL OR (j.name, j.job_id) > (
      SELECT name, job_id FROM jobs WHERE job_id = %(after)s
  ))
ORDER BY j.name, j.job_id
LIMIT %(limit)s;

-- Jobs without a next run (paused, inactive, deleted) sort last.
-- name: search_jobs_by_next_run
SELECT j.* FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s)
  AND (%(name)s::text IS NULL OR strpos(lower(j.name), lower(%(name)s)) > 0)
  AND (%(after)s::text IS NULL OR (coalesce(j.next_execution, 'infinity'), j.job_id) > (
      SELECT coalesce(next_execution, 'infinity'), job_id FROM jobs WHERE job_id = %(after)s
  ))
ORDER BY coalesce(j.next_execution, 'infinity'), j.job_id
LIMIT %(limit)s;

-- The dashboard's jobs table: search (name, key, type, description, id prefix), status,
-- one of five orders (each reversible, then by name, then id), and the number matched.
-- Jobs without a next fire sort as the far future, jobs never fired as the far past.
-- name: table_jobs
SELECT j.*, count(*) OVER () AS matched FROM jobs AS j
WHERE (%(status)s::text IS NULL AND j.status <> 'deleted' OR j.status = %(status)s)
  AND (%(needle)s::text IS NULL
    OR left(j.job_id, length(%(needle)s)) = %(needle)s
    OR strpos(lower(j.name), %(needle)s) > 0
    OR strpos(lower(coalesce(j.key, '')), %(needle)s) > 0
    OR strpos(lower(j.job_type), %(needle)s) > 0
    OR strpos(lower(coalesce(j.description, '')), %(needle)s) > 0)
ORDER BY
  CASE WHEN %(sort)s = 'type' AND NOT %(descending)s THEN j.job_type END,
  CASE WHEN %(sort)s = 'type' AND %(descending)s THEN j.job_type END DESC,
  CASE WHEN %(sort)s = 'status' AND NOT %(descending)s THEN j.status END,
  CASE WHEN %(sort)s = 'status' AND %(descending)s THEN j.status END DESC,
  CASE WHEN %(sort)s = 'next' AND NOT %(descending)s
    THEN coalesce(j.next_execution, 'infinity'::timestamptz) END,
  CASE WHEN %(sort)s = 'next' AND %(descending)s
    THEN coalesce(j.next_execution, 'infinity'::timestamptz) END DESC,
  CASE WHEN %(sort)s = 'last' AND NOT %(descending)s
    THEN coalesce(j.last_execution, '-infinity'::timestamptz) END DESC,
  CASE WHEN %(sort)s = 'last' AND %(descending)s
    THEN coalesce(j.last_execution, '-infinity'::timestamptz) END,
  CASE WHEN NOT %(descending)s THEN lower(j.name) END,
  CASE WHEN NOT %(descending)s THEN j.job_id END,
  lower(j.name) DESC,
  j.job_id DESC
LIMIT %(limit)s;
