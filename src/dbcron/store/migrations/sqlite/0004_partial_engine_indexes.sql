-- dbcron schema v4 for SQLite: the engine's indexes hold only the rows the engine looks
-- for. Pending and running executions are a handful; the history is millions of rows.
-- Full-table (status, ...) indexes made every history row cost index writes and let
-- the planner scan all pending rows to count one job's; partial indexes do neither.

DROP INDEX IF EXISTS job_executions_runnable_idx;
DROP INDEX IF EXISTS job_executions_queue_idx;

-- The order pending executions are taken in (priority first, then run_after).
CREATE INDEX IF NOT EXISTS job_executions_queue_idx
    ON job_executions (priority DESC, run_after) WHERE status = 'pending';

-- The earliest pending execution (when the scheduler must wake up next).
CREATE INDEX IF NOT EXISTS job_executions_next_run_idx
    ON job_executions (run_after) WHERE status = 'pending';

-- A job's active executions (overlap and concurrency checks).
CREATE INDEX IF NOT EXISTS job_executions_active_idx
    ON job_executions (job_id, status) WHERE status IN ('pending', 'running');
