"""Users (admins): who may log in, with which role. curation.accounts.users checks the role and writes
the audit log for every change; this page only forwards the form and draws the result."""

from collections.abc import Callable

import streamlit as st
from sqlalchemy.orm import Session

from curation.accounts.auth import TOKEN_KEY, current_actor
from curation.accounts.permissions import Actor
from curation.accounts.users import add_user, list_users, remove_user, set_password, set_role
from curation.display.safe_text import md
from curation.enums import Role
from curation.errors import CurationError
from db.session import session_scope
from pages.common import show_table

actor = current_actor(st.session_state.get(TOKEN_KEY))
ROLES = [role.value for role in Role]


def _apply(change: Callable[[Session, Actor], object], done: str) -> None:
    """Run a change as whoever is logged in now: a login ended in another tab refuses it."""
    try:
        who = current_actor(st.session_state.get(TOKEN_KEY))
        with session_scope() as session:
            change(session, who)
        st.session_state.users_flash = ("success", done)
    except CurationError as exc:
        st.session_state.users_flash = ("error", str(exc))


def _add() -> None:
    state = st.session_state
    _apply(lambda s, who: add_user(s, who, state.new_name, state.new_role, state.new_password),
           f"added {state.new_name} as {state.new_role}")
    state.new_password = ""


def _change_role() -> None:
    state = st.session_state
    _apply(lambda s, who: set_role(s, who, state.pick, state.pick_role),
           f"{state.pick} is now {state.pick_role}")


def _change_password() -> None:
    state = st.session_state
    _apply(lambda s, who: set_password(s, who, state.pick, state.pick_password),
           f"new password set for {state.pick}; their logins have ended")
    state.pick_password = ""


def _remove() -> None:
    _apply(lambda s, who: remove_user(s, who, st.session_state.pick), f"removed {st.session_state.pick}")


st.title("Users")
if flash := st.session_state.pop("users_flash", None):
    getattr(st, flash[0])(md(flash[1]))
try:
    with session_scope() as session:
        users = list_users(session, actor)
except CurationError as exc:
    st.error(md(str(exc)))
    st.stop()
show_table(users, "users-page")

with st.form("add_user", clear_on_submit=False):
    st.subheader("Add a user")
    st.text_input("User name", key="new_name")
    st.selectbox("Role", ROLES, index=ROLES.index(Role.CURATOR), key="new_role")
    st.text_input("Password", type="password", key="new_password")
    st.form_submit_button("Add user", on_click=_add)

if users:
    st.subheader("Change a user")
    st.selectbox("User", [user["name"] for user in users], key="pick")
    left, middle, right = st.columns(3)
    left.selectbox("New role", ROLES, key="pick_role")
    left.button("Change role", on_click=_change_role)
    middle.text_input("New password", type="password", key="pick_password")
    middle.button("Set password", on_click=_change_password)
    right.checkbox("Yes, remove this user", key="confirm_remove")
    right.button("Remove user", on_click=_remove, disabled=not st.session_state.get("confirm_remove"))
