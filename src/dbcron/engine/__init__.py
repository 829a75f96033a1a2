"""The engine: one scheduler node's loop and its parts, stage by stage (design.md section 4).

- :mod:`~dbcron.engine.scheduler`: the :class:`Scheduler` and its loop: claim due fires
  and start them, dispatch pending work (stage 1 and the start of stage 2);
- :mod:`~dbcron.engine.planner`, :mod:`~dbcron.engine.misfire`: which fires a claim runs
  or records missed;
- :mod:`~dbcron.engine.completer`: outcomes written by fencing token (end of stage 2);
- :mod:`~dbcron.engine.retry`: retry delays (stage 3);
- :mod:`~dbcron.engine.upkeep`: heartbeat, leases and rescue on timers (stage 4);
- :mod:`~dbcron.engine.wakeup`: when the loop looks for work again (design.md section 6);
- :mod:`~dbcron.engine.shutdown`: graceful stop;
- :mod:`~dbcron.engine.database_clock`: the database's clock, which every node compares with;
- :mod:`~dbcron.engine.node`: the state the parts share.

Running a handler is :mod:`dbcron.execution`'s job.
"""
