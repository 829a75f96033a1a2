-- dbcron schema v2 for SQLite: the papers that paper_fetch jobs find on arXiv.
-- One row per paper (arxiv_id without its version); a newer version updates the row.
-- job_id names the job that first found the paper; it is deliberately not a foreign
-- key, so that purging a job keeps the papers it fetched.

CREATE TABLE IF NOT EXISTS papers (
    arxiv_id         TEXT NOT NULL UNIQUE CHECK (length(arxiv_id) > 0),
    version          INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    title            TEXT NOT NULL,
    authors          TEXT NOT NULL DEFAULT '[]'
                     CHECK (json_valid(authors) AND json_type(authors) = 'array'),
    abstract         TEXT,
    categories       TEXT NOT NULL DEFAULT '[]'
                     CHECK (json_valid(categories) AND json_type(categories) = 'array'),
    primary_category TEXT,
    published        TEXT,
    updated          TEXT,
    doi              TEXT,
    journal_ref      TEXT,
    comment          TEXT,
    pdf_url          TEXT,
    first_seen_at    TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    job_id           TEXT
);

CREATE INDEX IF NOT EXISTS papers_published_idx ON papers (published);
CREATE INDEX IF NOT EXISTS papers_first_seen_idx ON papers (first_seen_at);
