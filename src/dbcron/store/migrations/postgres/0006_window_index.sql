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

-- Autovacuum for a high-churn history: every execution row is inserted, updated once or
-- twice (running, then its outcome) and deleted by retention. The default (vacuum once
-- 20% of a table is dead) waits for 2,000,000 dead rows on a 10,000,000-row history:
-- the queue's indexes fill with dead entries and the window's index-only scans fall
-- back to the heap. Vacuum after 1% (plus 1,000 rows), analyze after 2%; inserts count
-- too, so that the visibility map keeps up with a history that only grows.
ALTER TABLE job_executions SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02
);
-- Each fire rewrites its job's row (next_execution): a small table updated all the time.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05
);
