"""Scheduler node rows: registration, heartbeats, stop, listing."""

from __future__ import annotations

from datetime import datetime

from dbcron.models import (
    SchedulerNode,
)
from dbcron.store.jobs import SqlJobs


class SqlNodes(SqlJobs):
    """The scheduler node operations of a SQL store."""

    def list_nodes(self) -> list[SchedulerNode]:
        """See :meth:`Store.list_nodes`."""
        nodes = []
        for row in self._fetchall("list_nodes", {}):
            started, beat = (
                self._decode_ts(row["started_at"]),
                self._decode_ts(row["last_heartbeat"]),
            )
            assert started is not None and beat is not None
            nodes.append(
                SchedulerNode(
                    node_id=row["node_id"],
                    host=row["host"],
                    pid=row["pid"],
                    version=row["version"],
                    started_at=started,
                    last_heartbeat=beat,
                    stopped_at=self._decode_ts(row["stopped_at"]),
                )
            )
        return nodes

    def register_node(self, node: SchedulerNode, *, live_after: datetime | None = None) -> bool:
        """See :meth:`Store.register_node`."""
        with self.transaction() as cur:
            cur.execute(self.sql("node_lock"), {})
            first = True
            if live_after is not None:
                cur.execute(
                    self.sql("other_live_nodes"),
                    {"node_id": node.node_id, "live_after": self._encode_ts(live_after)},
                )
                first = int(cur.fetchone()["n"]) == 0
            cur.execute(
                self.sql("register_node"),
                {
                    "node_id": node.node_id,
                    "host": node.host,
                    "pid": node.pid,
                    "version": node.version,
                    "started_at": self._encode_ts(node.started_at),
                    "last_heartbeat": self._encode_ts(node.last_heartbeat),
                },
            )
            return first

    def heartbeat_node(self, node_id: str, now: datetime) -> None:
        """See :meth:`Store.heartbeat_node`."""
        with self.transaction() as cur:
            cur.execute(
                self.sql("heartbeat_node"), {"node_id": node_id, "now": self._encode_ts(now)}
            )

    def stop_node(self, node_id: str, now: datetime) -> None:
        """See :meth:`Store.stop_node`."""
        with self.transaction() as cur:
            cur.execute(self.sql("stop_node"), {"node_id": node_id, "now": self._encode_ts(now)})
