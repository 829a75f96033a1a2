"""The service layer: every rule the adapters (CLI, Python API, REST API) rely on.

- :class:`dbcron.manager.JobManager`: jobs (validation, CRUD, pause/resume, triggers);
- :mod:`dbcron.service.queries`: the read model (history, job detail, status, papers);
- :mod:`dbcron.service.operations`: schema (init/migrate), seed jobs, ``dbcron run``
  and the engine's effective settings.

The services are built by :mod:`dbcron.runtime`, the one composition root, and publish
their events on its :class:`~dbcron.events.EventBus` after their store call returned.
This package imports nothing at import time so that its modules can import each other.
"""
