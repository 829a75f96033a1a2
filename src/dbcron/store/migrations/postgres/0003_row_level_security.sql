-- dbcron schema v3 for PostgreSQL: row level security on every dbcron table.
-- dbcron connects as the tables' owner, which row level security does not restrict.
-- On Supabase the public schema is exposed through its REST API to the anon and
-- authenticated roles: with RLS on and no policy, those roles see and change nothing.
-- (dbcron never needs a policy for them.)

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE scheduler_nodes ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbcron_schema_version ENABLE ROW LEVEL SECURITY;
