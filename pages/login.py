"""Log in: the only page anyone sees, with accounts on, until they do."""

import streamlit as st

from curation.accounts.auth import TOKEN_KEY, current_actor, log_in
from curation.display.safe_text import md
from curation.errors import CurationError, NotLoggedIn
from curation.settings import get_settings
from pages.common import signed_in_identity


def _log_in() -> None:
    state = st.session_state
    try:
        state[TOKEN_KEY] = log_in(state.login_name, state.login_password)
    except CurationError as exc:
        state.login_error = str(exc)
    state.login_password = ""  # the password never outlives the attempt


st.title("Log in")
if error := st.session_state.pop("login_error", None):
    st.error(md(error))
elif st.session_state.get(TOKEN_KEY):
    try:
        current_actor(st.session_state[TOKEN_KEY])
    except NotLoggedIn as exc:
        st.info(md(str(exc)))
with st.form("login"):
    st.text_input("User name", key="login_name")
    st.text_input("Password", type="password", key="login_password")
    st.form_submit_button("Log in", type="primary", on_click=_log_in)
if get_settings().sso != "off":  # st.login: the identity provider in .streamlit/secrets.toml [auth]
    if signed_in_identity():  # signed in there, but refused here (the message above says why)
        st.button("Sign out of single sign-on", key="sso_logout", on_click=st.logout)
    else:
        st.button("Log in with single sign-on", key="sso_login", on_click=st.login)
