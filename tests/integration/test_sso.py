"""Single sign-on: an OIDC identity (what st.login puts in st.user) maps to an existing user, whose
role then applies; an identity that maps to nobody is refused and nobody is created."""

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from curation.accounts.auth import actor_for_token
from curation.accounts.permissions import Actor
from curation.accounts.sso import open_sso_session
from curation.accounts.users import add_user
from curation.enums import Role
from curation.errors import ConfigError, LoginFailed
from curation.settings import get_settings
from db.models import LoginSession, User
from db.session import session_scope

ADMIN = Actor("root", Role.ADMIN)


@pytest.fixture
def sso(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Users 'ann@example.com' (curator) and 'lee' (lead); returns a function setting CURATION_SSO."""
    with session_scope() as session:
        add_user(session, ADMIN, "ann@example.com", Role.CURATOR, "correct horse battery")
        add_user(session, ADMIN, "lee", Role.LEAD, "correct horse battery")

    def mode(value: str, domain: str = "") -> None:
        monkeypatch.setenv("CURATION_SSO", value)
        monkeypatch.setenv("CURATION_SSO_DOMAIN", domain)
        get_settings.cache_clear()

    return mode


def _sign_in(identity: dict) -> Actor:
    with session_scope() as session:
        token = open_sso_session(session, identity)
    with session_scope() as session:
        return actor_for_token(session, token)


def test_an_identity_logs_in_as_the_user_its_email_names_with_that_users_role(sso) -> None:
    sso("email")
    assert _sign_in({"email": "Ann@Example.com", "email_verified": True, "name": "Ann"}) == Actor(
        "ann@example.com", Role.CURATOR)
    sso("name", "example.com")
    assert _sign_in({"email": "lee@example.com"}) == Actor("lee", Role.LEAD)


@pytest.mark.parametrize("mode, domain, identity, reason", [
    ("off", "", {"email": "ann@example.com"}, "single sign-on is off"),
    ("email", "", {"email": "bob@example.com"}, "there is no user 'bob@example.com' here; ask an admin"),
    ("email", "", {"name": "Ann"}, "gave no email address"),
    ("email", "", {"email": "ann@example.com", "email_verified": False}, "has not verified ann@example.com"),
    ("name", "example.com", {"email": "lee@elsewhere.org"}, "only example.com accounts may sign in"),
    ("name", "example.com", {"email": "admin@example.com"}, "there is no user 'admin' here"),
])
def test_an_identity_that_maps_to_no_user_is_refused_and_nothing_is_created(
        sso, mode: str, domain: str, identity: dict, reason: str) -> None:
    sso(mode, domain)
    with session_scope() as session, pytest.raises(LoginFailed, match=reason):
        open_sso_session(session, identity)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_name_matching_without_a_domain_is_a_configuration_error(sso) -> None:
    sso("name")
    with session_scope() as session, pytest.raises(ConfigError, match="needs CURATION_SSO_DOMAIN"):
        open_sso_session(session, {"email": "lee@example.com"})
