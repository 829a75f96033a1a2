"""The dashboard: server-rendered pages (Jinja2) with htmx for live parts.

Every route is thin: it parses the query or form, calls one service of the runtime
(:class:`~dbcron.service.queries.Queries`, :class:`~dbcron.manager.JobManager`, the
dashboard read models of :mod:`dbcron.service.dashboard`) and renders a template.
:func:`install` mounts the static files and adds the routes to an app.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dbcron.web.pages import executions, jobform, jobs, overview, papers
from dbcron.web.pages.render import STATIC_DIR, error_page

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Serve the dashboard's pages and its static files (``/static``) from ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.html_errors = error_page
    for module in (overview, jobform, jobs, executions, papers):
        app.include_router(module.router)
