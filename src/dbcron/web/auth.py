"""Who is asking: the principal of a request, its role, and the CSRF token of forms.

Every route declares what it needs with :data:`ViewerDep` (read) or :data:`AdminDep`
(change); the dashboard's forms carry :func:`csrf_token` (a hidden ``csrf_token``
field, or the ``X-CSRF-Token`` header for htmx requests).

Without authentication configured the server only listens on loopback
(:func:`dbcron.web.server.check_bind`) and every request is the local operator,
``local``, with the admin role.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request

__all__ = [
    "LOCAL",
    "AdminDep",
    "Principal",
    "Role",
    "ViewerDep",
    "csrf_token",
    "current_principal",
    "require_admin",
    "require_viewer",
]


class Role(enum.StrEnum):
    """What a principal may do."""

    VIEWER = "viewer"
    """Read jobs, executions, logs, status and metrics."""
    ADMIN = "admin"
    """Also create, change, run, cancel and delete."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The user (dashboard login) or token (API) a request is made by."""

    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """True when the principal may change things."""
        return self.role is Role.ADMIN


#: The principal of every request when no authentication is configured (loopback only).
LOCAL: Final = Principal("local", Role.ADMIN)


def current_principal(request: Request) -> Principal:
    """The principal of ``request``."""
    return LOCAL


def require_viewer(request: Request) -> Principal:
    """Any authenticated principal."""
    return current_principal(request)


def require_admin(request: Request) -> Principal:
    """A principal with the admin role; 403 otherwise."""
    principal = require_viewer(request)
    if not principal.is_admin:
        raise HTTPException(403, f"{principal.name} has the viewer role: changes need admin")
    return principal


def csrf_token(request: Request) -> str:
    """The CSRF token a form of this request's session must send back ("" when no
    authentication is configured: loopback requests carry no session cookie to abuse)."""
    return ""


#: Dependency of read routes: the requesting principal.
ViewerDep = Annotated[Principal, Depends(require_viewer)]
#: Dependency of routes that change something: an admin principal.
AdminDep = Annotated[Principal, Depends(require_admin)]
