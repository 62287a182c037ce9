"""Streamlit entry point: the frame and the router, nothing else."""

import streamlit as st

from db.migrate import upgrade


@st.cache_resource
def _migrate() -> str:
    """Bring the schema up to date once per server process."""
    return upgrade()


_migrate()
st.set_page_config(page_title="Curation", layout="wide")
st.navigation([
    st.Page("pages/queue.py", title="Queue", icon=":material/inbox:", default=True),
    st.Page("pages/items.py", title="Items", icon=":material/list:"),
    st.Page("pages/errors.py", title="Errors", icon=":material/rule:"),
    st.Page("pages/activity.py", title="Activity", icon=":material/insights:"),
]).run()
