"""The web application: one FastAPI app over one :class:`~dbcron.runtime.Runtime`."""

from __future__ import annotations

from fastapi import FastAPI

from dbcron import __version__
from dbcron.runtime import Runtime
from dbcron.web import api, apidocs, auth, health, metrics, pages, problems
from dbcron.web.security import SecurityMiddleware

__all__ = ["create_app"]


def create_app(runtime: Runtime) -> FastAPI:
    """The dashboard, the REST API (``/api/v1``, OpenAPI at ``/api/docs``) and the
    health endpoints over ``runtime``'s services, behind the authentication of
    ``runtime.settings.web`` (:mod:`dbcron.web.auth`), security headers
    (:mod:`dbcron.web.security`) and with ``/metrics``. The runtime stays the caller's:
    the app does not close it (``app.state.metrics.close()`` unsubscribes the metrics
    from its event bus)."""
    app = FastAPI(
        title="dbcron",
        version=__version__,
        summary="Cron that lives in a database: jobs, executions and scheduler nodes.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime
    problems.install(app)
    problems.document_problems(app)
    auth.install(app, runtime.settings.web)
    app.add_middleware(SecurityMiddleware, auth_configured=runtime.settings.web.auth_configured)
    app.state.metrics = metrics.WebMetrics(runtime)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api.router)
    app.include_router(apidocs.router)
    pages.install(app)
    return app
