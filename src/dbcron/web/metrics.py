"""``/metrics`` in the Prometheus text format (prometheus-client).

Two sources (docs/metrics.md):

- **counters and histograms** fed by the runtime's event bus: executions started and
  ended (by job type and status), their duration and lateness, retries, rescues and
  missed fires. Events are published in the process that does the work, so these count
  what *this* process saw: the engine's runs under ``dbcron start --web``, only the
  web's own actions under ``dbcron web``;
- **gauges read from the database at each scrape** (two bounded queries through
  :meth:`~dbcron.service.queries.Queries.cluster_gauges`): running and pending
  executions and the nodes of the whole cluster, whichever process serves them.

Labels are bounded whatever the number of jobs: the job *type* (the handlers that
exist), the status, the trigger, and the node id (scheduler processes of the last 30
days); never a job id or name. Each app has its own registry (not the global one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Final

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from dbcron.errors import DbcronError
from dbcron.events import (
    Event,
    ExecutionCancelled,
    ExecutionFinished,
    ExecutionMissed,
    ExecutionRescued,
    ExecutionStarted,
    FiresClaimed,
    JobChanged,
    JobCreated,
)
from dbcron.runtime import Runtime
from dbcron.web.auth import ViewerDep

__all__ = ["UNKNOWN_TYPE", "WebMetrics", "router"]

#: The job type label of an execution whose job this process never saw.
UNKNOWN_TYPE: Final = "unknown"
_DURATION_BUCKETS: Final = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600)
_LATENESS_BUCKETS: Final = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
_CLAIM_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

router = APIRouter(tags=["metrics"])


class _ClusterCollector(Collector):
    """Gauges of the whole cluster, read from the database at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """``dbcron_database_up``, and when it is 1 the work and node gauges."""
        up = GaugeMetricFamily(
            "dbcron_database_up", "1 when the database answered this scrape, else 0"
        )
        try:
            gauges = self.runtime.queries.cluster_gauges()
        except DbcronError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "dbcron_executions_running",
            "Executions running now on any node (from the database)",
            value=gauges.running,
        )
        yield GaugeMetricFamily(
            "dbcron_executions_pending",
            "Executions waiting to run, due or not (from the database)",
            value=gauges.pending,
        )
        nodes = GaugeMetricFamily(
            "dbcron_nodes",
            "Scheduler nodes by state (running, dead, stopped) in the last 30 days",
            labels=["state"],
        )
        counts = dict.fromkeys(("running", "dead", "stopped"), 0)
        for state in gauges.node_states.values():
            counts[state] = counts.get(state, 0) + 1
        for state, count in counts.items():
            nodes.add_metric([state], count)
        yield nodes
        age = GaugeMetricFamily(
            "dbcron_node_heartbeat_age_seconds",
            "Seconds since each running or dead node's last heartbeat",
            labels=["node"],
        )
        for node in gauges.nodes:
            if gauges.node_states[node.node_id] != "stopped":
                seconds = (gauges.generated_at - node.last_heartbeat).total_seconds()
                age.add_metric([node.node_id], max(0.0, seconds))
        yield age


class WebMetrics:
    """One app's metrics: its own registry, fed by ``runtime``'s event bus."""

    def __init__(self, runtime: Runtime) -> None:
        """Subscribe to ``runtime.bus`` (until :meth:`close`)."""
        self.registry = CollectorRegistry()
        self.started = Counter(
            "dbcron_executions_started",
            "Executions this process saw start, by job type and trigger",
            ["job_type", "trigger"],
            registry=self.registry,
        )
        self.ended = Counter(
            "dbcron_executions",
            "Executions this process saw end, by job type and final status "
            "(success, failed, timeout, cancelled)",
            ["job_type", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "dbcron_execution_duration_seconds",
            "Run time of the executions this process saw end, by job type",
            ["job_type"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.lateness = Histogram(
            "dbcron_execution_lateness_seconds",
            "Start time minus scheduled time of the executions this process saw start "
            "(for the schedule trigger: the claim latency)",
            ["job_type", "trigger"],
            buckets=_LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "dbcron_execution_retries",
            "Retries scheduled after a failed or timed-out execution, by job type",
            ["job_type"],
            registry=self.registry,
        )
        self.rescued = Counter(
            "dbcron_executions_rescued",
            "Running executions whose lease expired and that were marked failed",
            ["job_type"],
            registry=self.registry,
        )
        self.missed = Counter(
            "dbcron_missed_fires",
            "Fires recorded missed (misfire policy, overlap, pause), by job type",
            ["job_type"],
            registry=self.registry,
        )
        self.claim = Histogram(
            "dbcron_claim_seconds",
            "Wall time of this process's claim transactions (due jobs turned into fires)",
            buckets=_CLAIM_BUCKETS,
            registry=self.registry,
        )
        self.claimed = Counter(
            "dbcron_fires_claimed",
            "Due jobs this process's claims turned into fires",
            registry=self.registry,
        )
        self.registry.register(_ClusterCollector(runtime))
        self._types: dict[str, str] = {}
        self._lock = threading.Lock()
        self._unsubscribe: list[Callable[[], None]] = [runtime.bus.subscribe(Event, self._on_event)]

    def close(self) -> None:
        """Stop listening to the bus."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)

    def _job_type(self, job_id: str) -> str:
        with self._lock:
            return self._types.get(job_id, UNKNOWN_TYPE)

    def _remember(self, job_id: str, job_type: str) -> None:
        with self._lock:
            self._types[job_id] = job_type

    def _on_event(self, event: Event) -> None:
        """Count one event (runs in the publishing thread: quick, no I/O)."""
        match event:
            case JobCreated(job=job) | JobChanged(job=job):
                self._remember(job.job_id, job.job_type)
            case ExecutionStarted(execution=execution, job=job):
                self._remember(job.job_id, job.job_type)
                trigger = execution.trigger.value
                self.started.labels(job.job_type, trigger).inc()
                if execution.started_at is not None:
                    late = (execution.started_at - execution.scheduled_for).total_seconds()
                    self.lateness.labels(job.job_type, trigger).observe(max(0.0, late))
            case ExecutionFinished():
                job_type = self._job_type(event.job_id)
                self.ended.labels(job_type, event.status.value).inc()
                if event.duration_seconds is not None:
                    self.duration.labels(job_type).observe(event.duration_seconds)
                if event.retry_scheduled:
                    self.retries.labels(job_type).inc()
            case ExecutionRescued(execution=execution):
                job_type = self._job_type(execution.job_id)
                self.rescued.labels(job_type).inc()
                self.ended.labels(job_type, execution.status.value).inc()
            case ExecutionCancelled(execution=execution):
                self.ended.labels(self._job_type(execution.job_id), "cancelled").inc()
            case ExecutionMissed(execution=execution):
                self.missed.labels(self._job_type(execution.job_id)).inc()
            case FiresClaimed(jobs=jobs, seconds=seconds):
                self.claim.observe(seconds)
                self.claimed.inc(jobs)
            case _:
                pass


def metrics_of(request: Request) -> WebMetrics:
    """The app's metrics."""
    metrics: WebMetrics = request.app.state.metrics
    return metrics


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request, principal: ViewerDep) -> Response:
    """The metrics in the Prometheus text format (a viewer's token when authentication
    is configured)."""
    return Response(metrics_of(request).render(), media_type=CONTENT_TYPE_LATEST)
