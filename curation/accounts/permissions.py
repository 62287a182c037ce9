"""Who may do what. Every domain entry point that changes something calls require() itself, so a
hidden button is never the only guard: the check holds for the pages, the CLI and any script.

    require(actor, Permission.DECIDE)   # raises PermissionDenied naming the user, role and action
"""

from dataclasses import dataclass, field
from typing import Protocol

from curation.enums import Permission, Role
from curation.errors import PermissionDenied

_VIEWER = frozenset({Permission.VIEW})
_CURATOR = _VIEWER | {Permission.DECIDE, Permission.RELABEL, Permission.RETRAIN, Permission.ADD_SOURCES}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.CURATOR: _CURATOR,
    Role.LEAD: _CURATOR | {Permission.ADJUDICATE},
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, the local user when accounts are off, or the CLI.
    origin says where the action came from when that is not the app, e.g. {"via": "cli",
    "os_user": "ana"}; audit entries carry it (see audit.origin)."""

    name: str
    role: Role
    origin: dict[str, str] = field(default_factory=dict, compare=False)


class HasRole(Protocol):
    name: str
    role: str


LOCAL_ADMIN = Actor("local", Role.ADMIN)


def can(who: HasRole | Role | str, permission: Permission) -> bool:
    """Whether a user (Actor or db User) or a bare role may do this; for drawing the UI."""
    role = who if isinstance(who, str) else who.role
    return permission in ROLE_PERMISSIONS.get(role, frozenset())  # type: ignore[call-overload]


def require(who: HasRole | Role | str, permission: Permission) -> None:
    """Raise PermissionDenied unless who may do this. Call it first in every domain function
    that acts for a user."""
    if can(who, permission):
        return
    role = who if isinstance(who, str) else who.role
    name = "role" if isinstance(who, str) else f"user '{who.name}' with role"
    allowed = sorted(r.value for r, perms in ROLE_PERMISSIONS.items() if permission in perms)
    raise PermissionDenied(
        f"{name} '{role}' may not {permission.value}; this needs role {' or '.join(allowed)} "
        "(an admin can change roles with `python -m curation user role NAME ROLE`)"
    )
