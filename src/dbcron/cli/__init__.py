"""The ``dbcron`` command line: a thin adapter over :class:`dbcron.JobManager`."""
