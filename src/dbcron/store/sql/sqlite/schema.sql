-- Schema bookkeeping for SQLite.

-- name: create_version_table
CREATE TABLE IF NOT EXISTS dbcron_schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

-- name: has_version_table
SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'dbcron_schema_version';

-- name: is_version_applied
SELECT count(*) AS n FROM dbcron_schema_version WHERE version = :version;

-- name: record_version
INSERT INTO dbcron_schema_version (version, name, applied_at) VALUES (:version, :name, :applied_at);

-- name: max_version
SELECT coalesce(max(version), 0) AS version FROM dbcron_schema_version;
