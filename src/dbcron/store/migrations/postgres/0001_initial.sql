-- dbcron schema v1 for PostgreSQL (self-hosted or Supabase).
-- Plain SQL only (no DO blocks), idempotent, timestamptz in UTC, jsonb for JSON.

CREATE TABLE IF NOT EXISTS jobs (
    job_id                 TEXT PRIMARY KEY,
    name                   TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    job_type               TEXT NOT NULL CHECK (length(job_type) > 0),
    schedule_expression    TEXT NOT NULL CHECK (length(schedule_expression) > 0),
    config                 JSONB NOT NULL DEFAULT '{}'::jsonb
                           CHECK (jsonb_typeof(config) = 'object'),
    status                 TEXT NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'inactive', 'paused', 'deleted')),
    description            TEXT,
    timeout_seconds        INTEGER CHECK (timeout_seconds IS NULL OR timeout_seconds > 0),
    retry_count            INTEGER CHECK (retry_count IS NULL OR retry_count >= 0),
    retry_delay_seconds    INTEGER CHECK (retry_delay_seconds IS NULL OR retry_delay_seconds >= 0),
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    last_execution         TIMESTAMPTZ,
    next_execution         TIMESTAMPTZ,
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
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    duration_seconds DOUBLE PRECISION CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
    result           JSONB,
    error_message    TEXT,
    retry_attempt    INTEGER NOT NULL DEFAULT 0 CHECK (retry_attempt >= 0),
    logs             TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    scheduled_for    TIMESTAMPTZ NOT NULL,
    trigger          TEXT NOT NULL DEFAULT 'schedule'
                     CHECK (trigger IN ('schedule', 'manual', 'retry', 'catchup', 'dependency')),
    run_after        TIMESTAMPTZ NOT NULL,
    node_id          TEXT,
    lease_expires_at TIMESTAMPTZ,
    fencing_token    BIGINT NOT NULL DEFAULT 0,
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
    started_at     TIMESTAMPTZ NOT NULL,
    last_heartbeat TIMESTAMPTZ NOT NULL,
    stopped_at     TIMESTAMPTZ
);
