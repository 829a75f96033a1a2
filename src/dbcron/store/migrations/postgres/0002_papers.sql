-- dbcron schema v2 for PostgreSQL: the papers that paper_fetch jobs find on arXiv.
-- One row per paper (arxiv_id without its version); a newer version updates the row.
-- job_id names the job that first found the paper; it is deliberately not a foreign
-- key, so that purging a job keeps the papers it fetched. Plain SQL, no DO blocks.

CREATE TABLE IF NOT EXISTS papers (
    arxiv_id         TEXT NOT NULL UNIQUE CHECK (length(arxiv_id) > 0),
    version          INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    title            TEXT NOT NULL,
    authors          JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(authors) = 'array'),
    abstract         TEXT,
    categories       JSONB NOT NULL DEFAULT '[]'::jsonb
                     CHECK (jsonb_typeof(categories) = 'array'),
    primary_category TEXT,
    published        TIMESTAMPTZ,
    updated          TIMESTAMPTZ,
    doi              TEXT,
    journal_ref      TEXT,
    comment          TEXT,
    pdf_url          TEXT,
    first_seen_at    TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    job_id           TEXT
);

CREATE INDEX IF NOT EXISTS papers_published_idx ON papers (published);
CREATE INDEX IF NOT EXISTS papers_first_seen_idx ON papers (first_seen_at);

-- Supabase exposes the public schema to its anon role: with row level security on and
-- no policy, only the table owner (dbcron's own connection) can read or write papers.
ALTER TABLE papers ENABLE ROW LEVEL SECURITY;
