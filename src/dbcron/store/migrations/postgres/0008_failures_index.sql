-- dbcron schema v8 for PostgreSQL: the failures of a window, without reading the window.
-- `status` lists the jobs with the most failures and timeouts; grouping every execution
-- of the window by job reads the whole window. Failures are a few percent of the
-- history: a partial index holds just them.

CREATE INDEX IF NOT EXISTS job_executions_failures_idx
    ON job_executions (created_at, job_id) WHERE status IN ('failed', 'timeout');
