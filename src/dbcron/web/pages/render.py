"""Rendering pages: the template environment, the context every page gets, and how
times are shown (relative, with the absolute time in the title)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from dbcron.errors import DbcronError
from dbcron.models import ExecutionStatus, JobStatus
from dbcron.relative_time import relative
from dbcron.web.auth import csrf_token, current_principal
from dbcron.web.state import runtime_of

__all__ = ["STATIC_DIR", "Links", "ago", "error_page", "page", "vendor_ready"]

#: The dashboard's static files; ``vendor/`` in it is built by frontend/build.mjs.
STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
_VENDOR_FILES: Final = ("htmx.min.js", "chart.umd.min.js")


def vendor_ready() -> bool:
    """True when the front-end packages were built into ``static/vendor`` (``make
    venv`` does it); without them the pages work but do not update live."""
    return all((STATIC_DIR / "vendor" / name).is_file() for name in _VENDOR_FILES)


def ago(moment: datetime, now: datetime) -> str:
    """``3 min ago`` / ``in 2 h`` / ``just now`` (within 5 s): ``moment`` relative to
    ``now``."""
    return relative(moment, now, now_within=5, now_text="just now")


def _absolute(moment: datetime, zone: str | None) -> str:
    utc_text = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
    if not zone or zone == "UTC":
        return utc_text
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M:%S %Z} ({utc_text})"


def when(moment: datetime | None, now: datetime, zone: str | None = None) -> Markup:
    """A ``<time>`` element: relative text, the absolute time (UTC, and in ``zone``)
    as its title and machine-readable ``datetime``."""
    if moment is None:
        return Markup('<span class="muted">never</span>')
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(), _absolute(moment, zone), ago(moment, now)
    )


def duration(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 5 s``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = timedelta(seconds=round(seconds))
    minutes, rest = divmod(int(whole.total_seconds()), 60)
    return f"{minutes} min {rest} s"


def badge(status: ExecutionStatus | JobStatus | str) -> Markup:
    """A status as a labelled badge (colour and text, never colour alone)."""
    text = str(getattr(status, "value", status))
    return Markup('<span class="badge badge-{0}">{0}</span>').format(escape(text))


_ENV = Environment(
    loader=PackageLoader("dbcron.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.update(when=when, duration=duration, badge=badge)
templates = Jinja2Templates(env=_ENV)


class Links:
    """Links to jobs and executions for pages that list many of them: the same paths as
    ``url_for("job_page", ...)`` and ``url_for("execution_page", ...)``, built without
    Starlette's route search (a tenth of a millisecond each, so 100 ms for a table of
    500 jobs)."""

    def __init__(self, request: Request) -> None:
        """Links under ``request``'s root path (where the app is mounted)."""
        self._root = str(request.scope.get("root_path", "")).rstrip("/")

    def job(self, job_id: str) -> str:
        """The job page of ``job_id``."""
        return f"{self._root}/jobs/{quote(job_id, safe='')}"

    def execution(self, execution_id: str) -> str:
        """The page of one execution."""
        return f"{self._root}/executions/{quote(execution_id, safe='')}"


def page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """``template`` rendered with ``context`` and what every page shows: the time now
    (on the services' clock), the principal, the CSRF token, whether the front-end
    packages are there."""
    runtime = runtime_of(request)
    base = {
        "now": runtime.queries.clock.now(),
        "principal": current_principal(request),
        "csrf": csrf_token(request),
        "vendor": vendor_ready(),
        "path": request.url.path,
        "links": Links(request),
    }
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse | None:
    """An error as a dashboard page (the same message as the problem document), or None
    when the page cannot be shown (the request has no principal: the problem document
    answers then)."""
    try:
        current_principal(request)
    except DbcronError:
        return None
    context = {"status": status, "title": title, "detail": detail}
    return page(request, "error.html", context, status_code=status)
