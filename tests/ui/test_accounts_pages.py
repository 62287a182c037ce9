from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from curation.accounts.auth import TOKEN_KEY, log_in
from curation.accounts.permissions import Actor
from curation.accounts.users import add_user
from curation.enums import Role
from curation.settings import get_settings
from db.migrate import upgrade
from db.session import session_scope
from tests.factories import REPO, shown

PASSWORD = "correct horse battery"


@pytest.fixture
def db(home: Path) -> None:
    """SQLite only: these tests are about the pages; the domain runs on both backends elsewhere."""
    upgrade()


@pytest.fixture
def accounts_on(db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CURATION_AUTH=1 with admin 'ada', curator 'cy' and viewer 'vi'; restores the Streamlit options the
    app changes for a shared server."""
    monkeypatch.setenv("CURATION_AUTH", "1")
    get_settings.cache_clear()
    with session_scope() as session:
        add_user(session, Actor("test", Role.ADMIN), "ada", Role.ADMIN, PASSWORD)
        add_user(session, Actor("test", Role.ADMIN), "cy", Role.CURATOR, PASSWORD)
        add_user(session, Actor("test", Role.ADMIN), "vi", Role.VIEWER, PASSWORD)
    details = config.get_option("client.showErrorDetails")
    yield
    config.set_option("client.showErrorDetails", details)


def _app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=30)


def _click(app: AppTest, label: str) -> AppTest:
    return next(button for button in app.button if button.label == label).click().run()


def _log_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="login_name").input(name)
    app.text_input(key="login_password").input(password)
    return _click(app, "Log in")


def test_without_accounts_the_local_user_is_admin_and_no_login_is_asked(db: None) -> None:
    app = _app().run()
    assert not app.exception and app.title[0].value.startswith("Queue")
    app.switch_page("pages/users.py").run()
    assert app.title[0].value == "Users" and app.table[0].value.empty


def test_with_accounts_nothing_but_the_login_shows_until_the_password_is_right(accounts_on: None) -> None:
    app = _app().run()
    assert [t.value for t in app.title] == ["Log in"] and not app.table
    _log_in(app, "**ada**", "wrong password")
    assert shown(app.error[0].value).startswith("wrong user name or password for '**ada**'")
    _log_in(app, "ada", PASSWORD)
    assert not app.error and app.session_state["login_password"] == ""
    app.switch_page("app.py").run()  # AppTest stays on the login page; a browser reruns app.py
    assert not app.exception and app.title[0].value.startswith("Queue")
    assert shown(app.sidebar.caption[0].value) == "Logged in as ada (admin)"
    _click(app, "Log out")
    assert app.title[0].value == "Log in"


@pytest.mark.parametrize("sso", ["off", "email"])
def test_the_login_page_offers_single_sign_on_only_when_it_is_set(
        accounts_on: None, monkeypatch: pytest.MonkeyPatch, sso: str) -> None:
    monkeypatch.setenv("CURATION_SSO", sso)
    get_settings.cache_clear()
    app = _app().run()
    assert not app.exception and [t.value for t in app.title] == ["Log in"]
    assert [b.label for b in app.button if b.key == "sso_login"] == (
        ["Log in with single sign-on"] if sso == "email" else [])
    _log_in(app, "cy", PASSWORD)  # the password login still works beside it
    app.switch_page("app.py").run()
    assert shown(app.sidebar.caption[0].value) == "Logged in as cy (curator)"


def _page_as(page: str, token: str | None) -> AppTest:
    """A page file run on its own, as Streamlit may (its first request after a start runs a
    requested file in pages/ without app.py), so each page must resolve the login itself."""
    app = AppTest.from_file(str(REPO / "pages" / page), default_timeout=30)
    if token:
        app.session_state[TOKEN_KEY] = token
    return app.run()


# A real server's first request after start may run a file in pages/ directly (Streamlit's
# pages-folder mode lasts until app.py has run once), so each page must resolve the login itself.
PAGE_FILES = sorted(p.name for p in (REPO / "pages").glob("*.py") if p.name not in {"login.py", "common.py"})


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_run_on_its_own_refuses_without_a_login(accounts_on: None, page: str) -> None:
    app = _page_as(page, None)
    assert app.exception and "not logged in" in app.exception[0].message
    assert not app.table and not app.metric


def test_a_curator_sees_no_admin_pages_and_the_server_refuses_them_anyway(accounts_on: None) -> None:
    app = _log_in(_app().run(), "cy", PASSWORD)
    app.switch_page("app.py").run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/users.py")
    token = log_in("cy", PASSWORD)
    app = _page_as("users.py", token)
    assert shown(app.error[0].value).startswith(
        "user 'cy' with role 'curator' may not add, remove and change users"
    )
    assert not app.table and not app.text_input
    app = _page_as("audit.py", token)
    assert "may not read and export the audit log" in shown(app.error[0].value) and not app.table


def test_an_admin_adds_a_user_on_the_users_page_and_sees_it_in_the_audit_log(accounts_on: None) -> None:
    app = _log_in(_app().run(), "ada", PASSWORD)
    app.switch_page("app.py").run()
    app.switch_page("pages/users.py").run()
    app.text_input(key="new_name").input("dee")
    app.selectbox(key="new_role").select("viewer")
    app.text_input(key="new_password").input("short")
    _click(app, "Add user")
    assert shown(app.error[0].value) == "password too short (5 characters); use at least 10"
    app.text_input(key="new_password").input("a long enough password")
    _click(app, "Add user")
    assert app.success[0].value == "added dee as viewer"
    assert list(app.table[0].value["name"]) == ["ada", "cy", "dee", "vi"]
    app.switch_page("pages/audit.py").run()
    table = app.table[0].value
    assert [shown(table[column][0]) for column in ("actor", "action", "target")] == ["ada", "user.add", "user:dee"]


def test_a_viewer_starts_on_the_items_page_and_gets_no_queue(accounts_on: None) -> None:
    app = _log_in(_app().run(), "vi", PASSWORD)
    app.switch_page("app.py").run()
    assert not app.exception and app.title[0].value == "Items"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/queue.py")


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "::", ""])
def test_the_app_refuses_to_serve_beyond_this_machine_without_accounts(db: None, address: str) -> None:
    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        app = _app().run()
    finally:
        config.set_option("server.address", before)
    assert shown(app.error[0].value).startswith("refusing to listen on ")
    assert not app.title and not app.table
