-- The dashboard's read queries (dbcron.service.histogram).

-- Executions created at or after :since by UTC hour and status, read from the window
-- index (created_at) INCLUDE (status, ...), as text like SQLite's: 2026-03-01T09.
-- name: runs_per_hour
SELECT to_char(date_trunc('hour', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24') AS hour,
       status, count(*) AS runs
FROM job_executions
WHERE created_at >= %(since)s
GROUP BY 1, status
ORDER BY 1, status;
