-- What `dbcron doctor` asks SQLite.

-- name: ping
SELECT 1 AS one;

-- name: journal_mode
-- Reads the mode without changing it (WAL is set when a connection opens).
PRAGMA journal_mode;
