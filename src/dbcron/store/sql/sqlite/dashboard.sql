-- The dashboard's read queries (dbcron.service.histogram).

-- Executions created at or after :since by UTC hour and status, read from the window
-- index (created_at, status, ...): stored timestamps are fixed-width UTC text, so the
-- first 13 characters (2026-03-01T09) are the hour.
-- name: runs_per_hour
SELECT substr(created_at, 1, 13) AS hour, status, count(*) AS runs
FROM job_executions
WHERE created_at >= :since
GROUP BY substr(created_at, 1, 13), status
ORDER BY hour, status;
