-- Paper queries for SQLite (the papers table of migration 0002). Parameters use :name.

-- name: papers_insert_new
INSERT INTO papers (
    arxiv_id, version, title, authors, abstract, categories, primary_category, published,
    updated, doi, journal_ref, comment, pdf_url, first_seen_at, last_seen_at, job_id
) VALUES (
    :arxiv_id, :version, :title, :authors, :abstract, :categories, :primary_category, :published,
    :updated, :doi, :journal_ref, :comment, :pdf_url, :now, :now, :job_id
)
ON CONFLICT (arxiv_id) DO NOTHING;

-- name: papers_update_newer
UPDATE papers SET
    version = :version, title = :title, authors = :authors, abstract = :abstract,
    categories = :categories, primary_category = :primary_category, published = :published,
    updated = :updated, doi = :doi, journal_ref = :journal_ref, comment = :comment,
    pdf_url = :pdf_url, last_seen_at = :now
WHERE arxiv_id = :arxiv_id AND version < :version;

-- name: papers_touch
UPDATE papers SET
    last_seen_at = :now,
    doi = coalesce(:doi, doi),
    journal_ref = coalesce(:journal_ref, journal_ref),
    comment = coalesce(:comment, comment)
WHERE arxiv_id = :arxiv_id;

-- name: papers_list
SELECT * FROM papers
WHERE (:pattern IS NULL
       OR lower(title) LIKE :pattern ESCAPE '\'
       OR lower(coalesce(abstract, '')) LIKE :pattern ESCAPE '\'
       OR lower(authors) LIKE :pattern ESCAPE '\'
       OR lower(arxiv_id) LIKE :pattern ESCAPE '\')
  AND (:since IS NULL OR published >= :since)
ORDER BY published DESC, arxiv_id
LIMIT :limit;

-- name: papers_get
SELECT * FROM papers WHERE arxiv_id = :arxiv_id;

-- name: papers_last_success_started_at
SELECT max(started_at) AS started_at FROM job_executions
WHERE job_id = :job_id AND status = 'success';
