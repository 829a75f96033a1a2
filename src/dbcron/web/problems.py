"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every error a client can cause is answered with a 4xx problem document whose
``detail`` is the same one-line message the CLI prints; nothing is written then.
Problems of the service layer map by class (:data:`STATUS_OF`); request validation
(a malformed body, a bad query parameter) becomes 422 naming the offending field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dbcron.errors import (
    AmbiguousIdError,
    ConflictError,
    DatabaseUnavailableError,
    DataRefusedError,
    DbcronError,
    NotFoundError,
    SchemaError,
    ValidationError,
)

__all__ = ["PROBLEM_JSON", "STATUS_OF", "document_problems", "install", "problem"]

#: The media type of a problem document.
PROBLEM_JSON: Final = "application/problem+json"

#: HTTP status of each service error, most specific class first.
STATUS_OF: Final[tuple[tuple[type[DbcronError], int, str], ...]] = (
    (ValidationError, 422, "Invalid input"),
    (NotFoundError, 404, "Not found"),
    (AmbiguousIdError, 409, "Ambiguous reference"),
    (ConflictError, 409, "Conflict"),
    (DatabaseUnavailableError, 503, "Database unavailable"),
    (SchemaError, 503, "Database schema not current"),
    (DataRefusedError, 422, "Refused by the database"),
)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem document response; ``field`` names the offending input where known."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if field is not None:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: DbcronError) -> tuple[int, str]:
    """The HTTP status and title of a service error (500 only for a store failure that
    no client input caused)."""
    for kind, status, title in STATUS_OF:
        if isinstance(exc, kind):
            return status, title
    return 500, "Internal error"


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _location(loc: Sequence[Any]) -> str:
    """``("body", "schedule_expression")`` -> ``schedule_expression``; a query or path
    parameter keeps its name."""
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    field = _location(error.get("loc", ()))
    return f"{field}: {error.get('msg', 'invalid value')}"


#: Renders an error as an HTML page for a browser, or returns None to answer with the
#: problem document (set by the dashboard: :func:`dbcron.web.pages.render.error_page`).
HtmlErrors = Callable[[Request, int, str, str], Response | None]


def _wants_html(request: Request) -> bool:
    """True for a browser asking for a dashboard page (not the API, not htmx, which
    shows a failed request's message itself)."""
    path = request.url.path
    if path.startswith("/api/") or path == "/metrics" or request.headers.get("HX-Request"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _answer(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The error as a dashboard page for a browser, else as a problem document."""
    render: HtmlErrors | None = request.app.state.html_errors
    if render is not None and _wants_html(request):
        page = render(request, status, title, detail)
        if page is not None:
            return page
    return problem(status, title, detail, field=field, headers=headers, **extra)


def install(app: FastAPI) -> None:
    """Answer service errors, request validation errors and HTTP errors (404 of an
    unknown route, 405) as problem documents (as pages for a browser when the dashboard
    set ``app.state.html_errors``)."""
    app.state.html_errors = None

    @app.exception_handler(DbcronError)
    async def _service_error(request: Request, exc: DbcronError) -> Response:
        status, title = status_of(exc)
        field = exc.field if isinstance(exc, ValidationError) else None
        return _answer(request, status, title, _first_line(exc), field=field)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        return _answer(
            request,
            422,
            "Invalid request",
            _message(first) if first else "invalid request",
            field=_location(first.get("loc", ())) if first else None,
            errors=[
                {"field": _location(e.get("loc", ())), "message": e.get("msg")} for e in errors
            ],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = dict(exc.headers) if exc.headers else None
        return _answer(request, exc.status_code, detail, detail, headers=headers)


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI schema say what the server sends: every 4xx/5xx response of
    ``app`` is ``application/problem+json`` (FastAPI documents a response model as
    ``application/json``). FastAPI's documented way to extend the schema: replace
    ``app.openapi`` with a function that builds it once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[:1] in ("4", "5") and "application/json" in content:
                            response["content"] = {PROBLEM_JSON: content["application/json"]}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
