-- dbcron schema v7 for PostgreSQL: a job may keep its own history longer or shorter than
-- the maintenance job's policy: its newest keep_last executions, and those younger than
-- retention_days (NULL: the maintenance job's setting applies).

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS keep_last INTEGER
    CHECK (keep_last IS NULL OR keep_last >= 0);
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS retention_days INTEGER
    CHECK (retention_days IS NULL OR retention_days >= 1);
