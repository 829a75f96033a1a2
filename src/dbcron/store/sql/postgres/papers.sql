-- Paper queries for PostgreSQL (the papers table of migration 0002). Parameters use %(name)s.

-- name: papers_insert_new
INSERT INTO papers (
    arxiv_id, version, title, authors, abstract, categories, primary_category, published,
    updated, doi, journal_ref, comment, pdf_url, first_seen_at, last_seen_at, job_id
) VALUES (
    %(arxiv_id)s, %(version)s, %(title)s, %(authors)s, %(abstract)s, %(categories)s,
    %(primary_category)s, %(published)s, %(updated)s, %(doi)s, %(journal_ref)s, %(comment)s,
    %(pdf_url)s, %(now)s, %(now)s, %(job_id)s
)
ON CONFLICT (arxiv_id) DO NOTHING;

-- name: papers_update_newer
UPDATE papers SET
    version = %(version)s, title = %(title)s, authors = %(authors)s, abstract = %(abstract)s,
    categories = %(categories)s, primary_category = %(primary_category)s,
    published = %(published)s, updated = %(updated)s, doi = %(doi)s,
    journal_ref = %(journal_ref)s, comment = %(comment)s, pdf_url = %(pdf_url)s,
    last_seen_at = %(now)s
WHERE arxiv_id = %(arxiv_id)s AND version < %(version)s;

-- name: papers_touch
UPDATE papers SET
    last_seen_at = %(now)s,
    doi = coalesce(%(doi)s::text, doi),
    journal_ref = coalesce(%(journal_ref)s::text, journal_ref),
    comment = coalesce(%(comment)s::text, comment)
WHERE arxiv_id = %(arxiv_id)s;

-- name: papers_list
SELECT * FROM papers
WHERE (%(pattern)s::text IS NULL
       OR lower(title) LIKE %(pattern)s::text ESCAPE '\'
       OR lower(coalesce(abstract, '')) LIKE %(pattern)s::text ESCAPE '\'
       OR lower(authors::text) LIKE %(pattern)s::text ESCAPE '\'
       OR lower(arxiv_id) LIKE %(pattern)s::text ESCAPE '\')
  AND (%(since)s::timestamptz IS NULL OR published >= %(since)s::timestamptz)
ORDER BY published DESC NULLS LAST, arxiv_id
LIMIT %(limit)s;

-- name: papers_get
SELECT * FROM papers WHERE arxiv_id = %(arxiv_id)s;

-- name: papers_last_success_started_at
SELECT max(started_at) AS started_at FROM job_executions
WHERE job_id = %(job_id)s AND status = 'success';
