"""The web adapter: the dashboard, the REST API (``/api/v1``), and the metrics and
health endpoints, served by FastAPI + uvicorn (``dbcron web``, ``dbcron start --web``).

Like the CLI it is a thin adapter: each endpoint parses its input, calls one method of
the service layer (from the :class:`~dbcron.runtime.Runtime` it was built with) and
renders the result; the rules live in the services. :func:`dbcron.web.app.create_app`
builds the application; :mod:`dbcron.web.server` serves it.
"""
