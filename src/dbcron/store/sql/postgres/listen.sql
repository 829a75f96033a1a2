-- Telling a direct connection from one through a pooler, and LISTEN that works from
-- LISTEN that never delivers (a transaction-mode pooler).

-- name: connection_ends
-- The client port the server sees and the port it listens on: on a direct TCP
-- connection they are this socket's own ends; a pooler or proxy sees its own.
SELECT inet_client_port() AS client_port, inet_server_port() AS server_port;

-- name: notify_probe
-- Sent through the pool (another connection) to a new listener: it arrives within
-- milliseconds where LISTEN works, never through a transaction-mode pooler.
SELECT pg_notify('dbcron_wakeup', 'listen-probe');

-- name: unlisten
UNLISTEN dbcron_wakeup;
