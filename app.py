"""Streamlit entry point: the frame, the login gate and the router, nothing else."""

import gc
import importlib
import threading
from pathlib import Path

import streamlit as st

from curation.accounts.auth import COOKIE_NAME, TOKEN_KEY, current_actor, log_out
from curation.accounts.binding import check_bind_address
from curation.accounts.permissions import can
from curation.accounts.sso import sso_log_in
from curation.display.safe_text import md, md_line
from curation.enums import Permission
from curation.errors import CurationError, NotLoggedIn
from curation.redaction import install_log_redaction
from curation.settings import get_settings
from db.migrate import upgrade
from pages.common import forget_login, remember_login, signed_in_identity

FAVICON = Path(__file__).parent / "pages" / "favicon.png"


# What the Model and Errors pages compute with (torch, transformers, cleanlab): about 12 s to
# import, which the first visitor of either page would wait for, and the charts' Altair and
# pandas. The Queue never needs them. What a page imports after these is ~30k objects.
WARM_IMPORTS = ("models.crossval", "curation.triage.label_issues", "curation.display.charts")


@st.cache_resource
def _start() -> str:
    """Once per server process: mask secrets in every log record, bring the schema up to date,
    and import the model code in the background while the first pages are served."""
    install_log_redaction()
    revision = upgrade()
    threading.Thread(target=_warm_imports, name="warm-imports", daemon=True).start()
    return revision


def _warm_imports() -> None:
    """Import WARM_IMPORTS, collect once, and move what is left out of the collector's reach: a
    full collection over torch's ~550k objects takes about 0.4 s, and it fell on a key press
    every few dozen. Done here, at the end of the import, because a curator triaging only reruns
    the Queue's fragment, which never reaches the end of this script."""
    for name in WARM_IMPORTS:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()


def _log_out() -> None:
    log_out(st.session_state.pop(TOKEN_KEY, ""))
    if settings.sso != "off" and signed_in_identity():
        st.logout()  # else the identity provider's login would log them straight in again


def _single_sign_on(identity: dict) -> bool:
    """Someone st.login signed in, without a valid login of ours: log them in as their user, or
    leave the refusal for the login page."""
    try:
        st.session_state[TOKEN_KEY] = sso_log_in(identity)
    except CurationError as exc:
        st.session_state["login_error"] = str(exc)
        return False
    return True


_start()
# The icon is a file of ours: a material icon name makes the browser fetch it from Google's CDN.
st.set_page_config(page_title="Curation", page_icon=str(FAVICON), layout="wide")
settings = get_settings()
if settings.auth:
    st.set_option("client.showErrorDetails", "type")  # a shared server shows no exception text
# A new browser session (reload, new tab, restarted browser) starts from the login cookie
# (read through to_dict(): under AppTest the session's client answers any key with a mock).
cookie = st.context.cookies.to_dict().get(COOKIE_NAME)
if cookie and TOKEN_KEY not in st.session_state:
    st.session_state[TOKEN_KEY] = cookie
try:
    check_bind_address(st.get_option("server.address"), settings.auth)
    actor = current_actor(st.session_state.get(TOKEN_KEY))
except NotLoggedIn:
    if cookie:
        forget_login()
    if settings.sso != "off" and (identity := signed_in_identity()) and _single_sign_on(identity):
        st.rerun()
    st.navigation([st.Page("pages/login.py", title="Log in", icon=":material/login:")]).run()
    st.stop()
except CurationError as exc:
    st.error(md(str(exc)))
    st.stop()

# Each page with the permission it needs; pages check again on every action.
PAGES = [
    (st.Page("pages/queue.py", title="Queue", icon=":material/inbox:", default=True), Permission.DECIDE),
    (st.Page("pages/items.py", title="Items", icon=":material/list:"), Permission.VIEW),
    (st.Page("pages/sources.py", title="Sources", icon=":material/add_link:"), Permission.VIEW),
    (st.Page("pages/model.py", title="Model", icon=":material/model_training:"), Permission.VIEW),
    (st.Page("pages/errors.py", title="Errors", icon=":material/rule:"), Permission.VIEW),
    (st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"), Permission.VIEW),
    (st.Page("pages/activity.py", title="Activity", icon=":material/insights:"), Permission.VIEW),
    (st.Page("pages/adjudicate.py", title="Adjudicate", icon=":material/gavel:"), Permission.ADJUDICATE),
    (st.Page("pages/users.py", title="Users", icon=":material/group:"), Permission.MANAGE_USERS),
    (st.Page("pages/audit.py", title="Audit log", icon=":material/history:"), Permission.VIEW_AUDIT),
]
if settings.auth:
    st.sidebar.caption(f"Logged in as **{md_line(actor.name)}** ({actor.role})")
    st.sidebar.button("Log out", on_click=_log_out)
    with st.sidebar:
        remember_login(st.session_state[TOKEN_KEY])
st.navigation([page for page, needed in PAGES if can(actor, needed)]).run()
