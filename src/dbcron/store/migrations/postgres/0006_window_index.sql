-- dbcron schema v6 for PostgreSQL: the statistics window reads its rows from one index.
-- `status` counts and means every execution created in the window (24 h by default:
-- hundreds of thousands of rows at scale). With created_at alone in the index each of
-- them was a heap fetch; with the status and the duration included the window is an
-- index-only scan (where autovacuum keeps the visibility map current: see
-- docs/operations.md). The same index serves retention and the history across jobs.

DROP INDEX IF EXISTS job_executions_created_idx;

CREATE INDEX IF NOT EXISTS job_executions_window_idx
    ON job_executions (created_at) INCLUDE (status, duration_seconds);

-- Job pages (dbcron list) in their order, so that a page is read, not sorted.
CREATE INDEX IF NOT EXISTS jobs_list_idx ON jobs (created_at, name, job_id);
