"""``/api/docs``: the REST API's interactive documentation (Swagger UI), served from the
package's own static files (built from npm's ``swagger-ui-dist``), never from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

__all__ = ["DOCS_PATH", "router"]

#: Where the documentation page is served.
DOCS_PATH = "/api/docs"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH)
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/api/openapi.json``."""
    vendor = "/static/vendor"
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title="dbcron REST API",
        swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
        swagger_css_url=f"{vendor}/swagger-ui.css",
        swagger_favicon_url=f"{vendor}/swagger-favicon.png",
    )
