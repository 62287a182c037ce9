"""Logging in: password check with lockout, and login sessions that expire.

The browser holds only a random token (the pages keep it in st.session_state[TOKEN_KEY], and a
cookie named COOKIE_NAME carries it to a reload, a new tab or a restarted browser); the database
holds its SHA-256, the user and the expiry. Every page view resolves the token again,
so a removed user, a changed role or an expired login takes effect at once. With accounts off
(CURATION_AUTH unset) everyone is the single local admin and no login is asked for."""

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from curation.accounts.audit import record
from curation.accounts.permissions import LOCAL_ADMIN, Actor
from curation.accounts.users import HASHER
from curation.enums import AuditAction, Role
from curation.errors import LoginFailed, NotLoggedIn
from curation.settings import get_settings
from db.models import LoginSession, User, utcnow
from db.session import session_scope

TOKEN_KEY = "auth_token"
COOKIE_NAME = "curation_login"
_DUMMY_HASH = HASHER.hash("not a password of anyone")


def open_session(session: Session, name: str, password: str, now: datetime | None = None) -> str:
    """Check the password and start a login session; returns its token. The failure count is
    committed before LoginFailed is raised, so a failed attempt still counts."""
    now = now or utcnow()
    settings = get_settings()
    user = session.scalar(select(User).where(User.name == name))
    if user and user.locked_until and user.locked_until > now:
        raise LoginFailed(
            f"account '{name}' is locked until {user.locked_until:%Y-%m-%d %H:%M} UTC after "
            f"{settings.login_max_failures} failed logins; wait, or ask an admin to set a new password"
        )
    # An unknown name is checked against a dummy hash, so it takes as long as a wrong password.
    if not _verify(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        if user is not None:
            _count_failure(session, user, now)
        session.commit()
        raise LoginFailed(
            f"wrong user name or password for '{name}'; {settings.login_max_failures} failures in a "
            f"row lock the account for {settings.lockout_minutes:g} minutes"
        )
    user.failed_logins, user.locked_until = 0, None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return start_login(session, user, now)


def start_login(session: Session, user: User, now: datetime) -> str:
    """A login session for a user whose identity is checked (by password, or by single sign-on);
    returns its token. Expired sessions of anyone are cleared on the way."""
    settings = get_settings()
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=_digest(token), user_id=user.id, created_at=now,
                             expires_at=now + timedelta(hours=settings.session_hours)))
    session.flush()
    return token


def close_session(session: Session, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def actor_for_token(session: Session, token: str | None, now: datetime | None = None) -> Actor:
    """The logged-in user behind a token, or NotLoggedIn saying why (none, unknown, expired)."""
    if not token:
        raise NotLoggedIn("not logged in; log in with your user name and password")
    now = now or utcnow()
    row = session.execute(
        select(LoginSession, User).join(User).where(LoginSession.token_hash == _digest(token))
    ).first()
    if row is None:
        raise NotLoggedIn("this login has ended (logged out, password changed or user removed); log in again")
    login_session, user = row
    if login_session.expires_at <= now:
        session.delete(login_session)
        raise NotLoggedIn(
            f"your login expired at {login_session.expires_at:%Y-%m-%d %H:%M} UTC "
            f"(logins last {get_settings().session_hours:g} hours); log in again"
        )
    return Actor(user.name, Role(user.role))


def current_actor(token: str | None) -> Actor:
    """Who is using the app: the local admin when accounts are off, else the token's user.
    Pages call this once per run: `actor = current_actor(st.session_state.get(TOKEN_KEY))`."""
    if not get_settings().auth:
        return LOCAL_ADMIN
    with session_scope() as session:
        return actor_for_token(session, token)


def log_in(name: str, password: str) -> str:
    """open_session() in a transaction of its own, for the login page; returns the token."""
    with session_scope() as session:
        return open_session(session, name, password)


def log_out(token: str) -> None:
    with session_scope() as session:
        close_session(session, token)


def _count_failure(session: Session, user: User, now: datetime) -> None:
    settings = get_settings()
    user.failed_logins += 1
    if user.failed_logins >= settings.login_max_failures:
        user.failed_logins = 0
        user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
        record(session, user.name, AuditAction.USER_LOCKED, f"user:{user.name}",
               {"minutes": settings.lockout_minutes})


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
