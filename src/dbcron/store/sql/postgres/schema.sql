-- Schema bookkeeping for PostgreSQL.

-- name: migration_lock
SELECT pg_advisory_xact_lock(7253462901);

-- name: create_version_table
CREATE TABLE IF NOT EXISTS dbcron_schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);

-- name: has_version_table
SELECT count(*) AS n FROM pg_catalog.pg_tables
WHERE tablename = 'dbcron_schema_version' AND schemaname = current_schema();

-- name: is_version_applied
SELECT count(*) AS n FROM dbcron_schema_version WHERE version = %(version)s;

-- name: record_version
INSERT INTO dbcron_schema_version (version, name, applied_at) VALUES (%(version)s, %(name)s, %(applied_at)s);

-- name: max_version
SELECT coalesce(max(version), 0) AS version FROM dbcron_schema_version;

-- name: public_api_roles
SELECT rolname FROM pg_roles WHERE rolname IN ('anon', 'authenticated') ORDER BY rolname;

-- name: revoke_jobs
REVOKE ALL ON TABLE jobs, job_executions, scheduler_nodes, dbcron_schema_version FROM anon, authenticated;

-- name: revoke_papers
REVOKE ALL ON TABLE papers FROM anon, authenticated;
