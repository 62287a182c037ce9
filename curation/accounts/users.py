"""User accounts: add, remove, change password or role, list. Passwords are hashed with argon2id
(argon2-cffi's defaults); the plain password is never stored or logged. Each change is checked
against the acting user's role and written to the audit log in the same transaction."""

import re
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from curation.accounts.audit import record
from curation.accounts.permissions import Actor, HasRole, require
from curation.enums import AuditAction, Permission, Role
from curation.errors import UserError
from curation.settings import get_settings
from db.models import LoginSession, User, utcnow

HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10  # long enough that the lockout, not guessing speed, is the limit online
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def add_user(session: Session, who: HasRole, name: str, role: str, password: str) -> dict[str, Any]:
    """Create an account; the name must be new."""
    require(who, Permission.MANAGE_USERS)
    _check_name(name)
    role = _check_role(role)
    _check_password(password)
    if session.scalar(select(User).where(User.name == name)):
        raise UserError(f"user '{name}' already exists; pick another name or change it with `user passwd`")
    user = User(name=name, role=role, password_hash=HASHER.hash(password))
    session.add(user)
    record(session, who.name, AuditAction.USER_ADD, f"user:{name}", {"role": role})
    return _summary(user)


def remove_user(session: Session, who: HasRole, name: str) -> None:
    """Delete an account and end its logins. Decisions keep the name they were made under."""
    require(who, Permission.MANAGE_USERS)
    user = get_user(session, name)
    _keep_an_admin(session, user, Role.VIEWER)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.delete(user)
    record(session, who.name, AuditAction.USER_REMOVE, f"user:{name}", {"role": user.role})


def set_password(session: Session, who: HasRole, name: str, password: str) -> None:
    """Replace the password, lift any lockout, and end the user's logins everywhere."""
    require(who, Permission.MANAGE_USERS)
    user = get_user(session, name)
    _check_password(password)
    user.password_hash = HASHER.hash(password)
    user.failed_logins, user.locked_until = 0, None
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    record(session, who.name, AuditAction.USER_PASSWORD, f"user:{name}", {})


def set_role(session: Session, who: HasRole, name: str, role: str) -> None:
    """Change a user's role; it applies to their next page view, logins included."""
    require(who, Permission.MANAGE_USERS)
    user = get_user(session, name)
    role = _check_role(role)
    _keep_an_admin(session, user, Role(role))
    record(session, who.name, AuditAction.USER_ROLE, f"user:{name}", {"from": user.role, "to": role})
    user.role = role


def list_users(session: Session, who: HasRole) -> list[dict[str, Any]]:
    """Every account by name, with role and lockout state; never the hash."""
    require(who, Permission.MANAGE_USERS)
    return [_summary(user) for user in session.scalars(select(User).order_by(User.name))]


def count_users(session: Session, role: Role | None = None) -> int:
    query = select(func.count()).select_from(User)
    if role:
        query = query.where(User.role == role)
    return session.scalar(query) or 0


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"no user named '{name}'; list users with `python -m curation user list`")
    return user


def shell_actor(session: Session, name: str, os_user: str) -> Actor:
    """Who a triage command typed in a shell acts as. With accounts on (CURATION_AUTH), name must
    be a user and acts with that user's role, so a viewer cannot decide and nobody can sign as a
    made-up name; with accounts off, a curator of that name, as at the Queue page. Either way the
    audit log records that it came from the command line and which OS user ran it."""
    via = {"via": "cli", "os_user": os_user}
    if not get_settings().auth:
        return Actor(name, Role.CURATOR, via)
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"no user named '{name}' (accounts are on, CURATION_AUTH); pass --curator "
                        "with an existing user, or add one with `python -m curation user add NAME`")
    return Actor(user.name, Role(user.role), via)


def _keep_an_admin(session: Session, user: User, new_role: Role) -> None:
    """Refuse to remove or demote the last admin: nobody could manage users from the app after."""
    if user.role == Role.ADMIN and new_role != Role.ADMIN and count_users(session, Role.ADMIN) == 1:
        raise UserError(f"'{user.name}' is the last admin; make another user admin first")


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise UserError(
            f"invalid user name {name!r}; use 1-64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )


def _check_role(role: str) -> str:
    if role not in {r.value for r in Role}:
        raise UserError(f"unknown role '{role}'; use one of {', '.join(r.value for r in Role)}")
    return str(role)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"password too short ({len(password)} characters); use at least {MIN_PASSWORD_LENGTH}"
        )


def _summary(user: User) -> dict[str, Any]:
    locked = user.locked_until and user.locked_until > utcnow()
    return {"name": user.name, "role": user.role, "created_at": user.created_at,
            "locked_until": user.locked_until if locked else None}
