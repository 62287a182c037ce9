"""Single sign-on: Streamlit's st.login (OIDC) says who someone is; this maps that identity to
an existing user of ours, whose role then applies as with a password login (the same login
session, token and cookie). CURATION_SSO says how: `email`, the user named by the identity's
email; `name`, the user named by the part before the @, and only for emails in
CURATION_SSO_DOMAIN (without it, anyone at any provider could claim a short name). An identity
that maps to no user is refused; nobody is ever created here, so an identity provider cannot
make an admin. The pages pass st.user as a plain dict, so this module needs no Streamlit."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.accounts.auth import start_login
from curation.errors import ConfigError, LoginFailed
from curation.settings import get_settings
from db.models import User, utcnow
from db.session import session_scope


def user_name_for(identity: Mapping[str, Any]) -> str:
    """The user name an OIDC identity (its claims) stands for under CURATION_SSO."""
    settings = get_settings()
    if settings.sso == "off":
        raise LoginFailed("single sign-on is off; log in with your user name and password "
                          "(an admin can set CURATION_SSO)")
    email = str(identity.get("email") or "").strip().lower()
    if "@" not in email:
        raise LoginFailed("the identity provider gave no email address, so no user can be matched; "
                          "configure it to release the email claim")
    if identity.get("email_verified") is False:
        raise LoginFailed(f"the identity provider has not verified {email}; verify it there first")
    if settings.sso == "email":
        return email
    domain = settings.sso_domain.strip().lower().lstrip("@")
    if not domain:
        raise ConfigError("CURATION_SSO=name needs CURATION_SSO_DOMAIN, the one email domain accepted")
    local, _, at = email.rpartition("@")
    if at != domain:
        raise LoginFailed(f"{email} is not an address at {domain}; only {domain} accounts may sign in")
    return local


def open_sso_session(session: Session, identity: Mapping[str, Any], now: datetime | None = None) -> str:
    """Log the identity in as its user; returns the login token. Refused, writing nothing,
    when no user has that name."""
    name = user_name_for(identity)
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise LoginFailed(f"signed in as {identity.get('email')}, but there is no user '{name}' here; "
                          f"ask an admin to add one (`python -m curation user add {name} --role ROLE`)")
    return start_login(session, user, now or utcnow())


def sso_log_in(identity: Mapping[str, Any]) -> str:
    """open_sso_session() in a transaction of its own, for app.py."""
    with session_scope() as session:
        return open_sso_session(session, identity)
