-- dbcron schema v4 for PostgreSQL: an index in the order pending executions are taken
-- (priority first, then run_after), so that taking a batch reads only that batch
-- instead of sorting every pending row.

CREATE INDEX IF NOT EXISTS job_executions_queue_idx
    ON job_executions (status, priority DESC, run_after);
