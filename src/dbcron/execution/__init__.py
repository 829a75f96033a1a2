"""Execution: runs one execution of a job's handler and reports how it ended.

Two modes:

- ``process`` (default): each worker slot owns a worker process, forked from a fork
  server that imported dbcron and its handlers once (:mod:`dbcron.execution.forkserver`): the
  workers share those pages, and never import the application's ``__main__`` module. A
  handler that overruns its timeout is stopped for real: the worker (and its process
  group) is killed, the execution is recorded ``timeout``, and a fresh worker takes the
  slot.
- ``thread``: handlers run in threads of the scheduler process, for light and trusted
  handlers. A thread cannot be killed: one that overruns its timeout keeps its slot and
  stays in flight (its row ``running``, its lease renewed) until its handler returns;
  only then is it reported ``timeout``, its result discarded.

Either way, the process groups (sessions) a handler reports through
``ctx.track_process_group`` (the shell handler does) are killed with SIGKILL when its run
is stopped: at its timeout (process mode, or thread mode once the handler is past its
grace), when its worker dies, and when a stop kills what still runs.

Either way the handler's logging (and, in process mode, its stdout and stderr) is
captured into the execution's ``logs``, bounded in size with the truncation marked.
"""

from __future__ import annotations

from dbcron.execution.capture import BoundedLog, ensure_capture_level
from dbcron.execution.executor import Executor, make_executor
from dbcron.execution.invoke import kill_process_groups, run_work
from dbcron.execution.processes import ProcessExecutor
from dbcron.execution.threads import ThreadExecutor
from dbcron.execution.work import (
    KILL_GRACE_SECONDS,
    MAX_LOG_BYTES,
    SHUTDOWN_MESSAGE,
    OnDone,
    Report,
    Work,
)

__all__ = [
    "KILL_GRACE_SECONDS",
    "MAX_LOG_BYTES",
    "SHUTDOWN_MESSAGE",
    "BoundedLog",
    "Executor",
    "OnDone",
    "ProcessExecutor",
    "Report",
    "ThreadExecutor",
    "Work",
    "ensure_capture_level",
    "kill_process_groups",
    "make_executor",
    "run_work",
]
