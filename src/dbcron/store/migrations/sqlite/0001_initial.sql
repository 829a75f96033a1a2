-- dbcron schema v1 for SQLite.
-- Timestamps are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.ffffffZ), so that
-- text comparison is time comparison. JSON columns hold validated JSON text.

CREATE TABLE IF NOT EXISTS jobs (
    job_id                 TEXT PRIMARY KEY,
    name                   TEXT NOT NULL CHECK (length(trim(name)) > 0),
    job_type               TEXT NOT NULL CHECK (length(job_type) > 0),
    schedule_expression    TEXT NOT NULL CHECK (length(schedule_expression) > 0),
    config                 TEXT NOT NULL DEFAULT '{}'
                           CHECK (json_valid(config) AND json_type(config) = 'object'),
    status                 TEXT NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'inactive', 'paused', 'deleted')),
    description            TEXT,
    timeout_seconds        INTEGER CHECK (timeout_seconds IS NULL OR timeout_seconds > 0),
    retry_count            INTEGER CHECK (retry_count IS NULL OR retry_count >= 0),
    retry_delay_seconds    INTEGER CHECK (retry_delay_seconds IS NULL OR retry_delay_seconds >= 0),
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    last_execution         TEXT,
    next_execution         TEXT,
    timezone               TEXT NOT NULL DEFAULT 'UTC',
    misfire_policy         TEXT NOT NULL DEFAULT 'run_once'
                           CHECK (misfire_policy IN ('run_once', 'run_all', 'skip')),
    catchup_window_seconds INTEGER NOT NULL DEFAULT 3600 CHECK (catchup_window_seconds >= 0),
    max_concurrency        INTEGER NOT NULL DEFAULT 1 CHECK (max_concurrency >= 1),
    overlap_policy         TEXT NOT NULL DEFAULT 'skip'
                           CHECK (overlap_policy IN ('skip', 'queue', 'allow')),
    priority               INTEGER NOT NULL DEFAULT 0,
    retry_backoff          TEXT NOT NULL DEFAULT 'fixed'
                           CHECK (retry_backoff IN ('fixed', 'exponential')),
    version                INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);

CREATE INDEX IF NOT EXISTS jobs_due_idx ON jobs (status, next_execution);

CREATE TABLE IF NOT EXISTS job_executions (
    execution_id     TEXT PRIMARY KEY,
    job_id           TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'success', 'failed',
                                       'timeout', 'missed', 'cancelled')),
    started_at       TEXT,
    finished_at      TEXT,
    duration_seconds REAL CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
    result           TEXT CHECK (result IS NULL OR json_valid(result)),
    error_message    TEXT,
    retry_attempt    INTEGER NOT NULL DEFAULT 0 CHECK (retry_attempt >= 0),
    logs             TEXT,
    created_at       TEXT NOT NULL,
    scheduled_for    TEXT NOT NULL,
    trigger          TEXT NOT NULL DEFAULT 'schedule'
                     CHECK (trigger IN ('schedule', 'manual', 'retry', 'catchup', 'dependency')),
    run_after        TEXT NOT NULL,
    node_id          TEXT,
    lease_expires_at TEXT,
    fencing_token    INTEGER NOT NULL DEFAULT 0,
    priority         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (job_id, scheduled_for, retry_attempt)
);

CREATE INDEX IF NOT EXISTS job_executions_runnable_idx
    ON job_executions (status, run_after);
CREATE INDEX IF NOT EXISTS job_executions_history_idx
    ON job_executions (job_id, created_at DESC);
CREATE INDEX IF NOT EXISTS job_executions_lease_idx
    ON job_executions (lease_expires_at) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS job_executions_created_idx
    ON job_executions (created_at);

CREATE TABLE IF NOT EXISTS scheduler_nodes (
    node_id        TEXT PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    version        TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    stopped_at     TEXT
);
