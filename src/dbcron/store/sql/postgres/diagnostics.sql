-- What `dbcron doctor` asks PostgreSQL.

-- name: ping
SELECT 1 AS one;

-- name: row_security
-- Row level security of dbcron's tables in the schema dbcron uses.
SELECT c.relname AS table_name, c.relrowsecurity AS row_security
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND c.relname = ANY(%(tables)s::text[])
ORDER BY c.relname;

-- name: existing_roles
SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%(roles)s::text[]) ORDER BY rolname;

-- name: role_table_privileges
-- The table privileges each role holds on dbcron's tables, through a grant to itself,
-- to a role it belongs to or to PUBLIC.
SELECT c.relname AS table_name, r.rolname AS role_name, p.privilege
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN pg_catalog.pg_roles r
CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege)
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND c.relname = ANY(%(tables)s::text[]) AND r.rolname = ANY(%(roles)s::text[])
  AND has_table_privilege(r.oid, c.oid, p.privilege)
ORDER BY c.relname, r.rolname, array_position(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'], p.privilege);
