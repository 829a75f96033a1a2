-- dbcron schema v9 for PostgreSQL: a job may have a key, a stable slug that names it in
-- jobs files (dbcron export / apply) and on the command line. Keys are unique among the
-- jobs that are not deleted: a deleted job keeps its key in its record, and a new job
-- may take it.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS key TEXT
    CHECK (key IS NULL OR key ~ '^[a-z0-9][a-z0-9._-]{0,62}$');

CREATE UNIQUE INDEX IF NOT EXISTS jobs_key_idx ON jobs (key)
    WHERE key IS NOT NULL AND status <> 'deleted';

-- A job named on the command line by its exact name (dbcron show "Daily Fetch").
CREATE INDEX IF NOT EXISTS jobs_name_idx ON jobs (name) WHERE status <> 'deleted';
