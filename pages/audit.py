"""Audit log (admins): who did what, newest first, with an export of the whole log."""

import json

import streamlit as st

from curation.accounts.audit import export_audit, list_audit
from curation.accounts.auth import TOKEN_KEY, current_actor
from curation.display.safe_text import md
from curation.enums import AuditAction
from curation.errors import CurationError
from db.session import session_scope
from pages.common import show_table

actor = current_actor(st.session_state.get(TOKEN_KEY))


def _export(format: str) -> str:
    """Built only when the download is clicked, not on every page view."""
    with session_scope() as session:
        return export_audit(session, actor, format)[0]


st.title("Audit log")
left, right = st.columns(2)
action = left.selectbox("Action", ["all", *(a.value for a in AuditAction)])
by = right.text_input("Actor", placeholder="any")
try:
    with session_scope() as session:
        entries = list_audit(session, actor, action=None if action == "all" else action, actor=by or None)
except CurationError as exc:
    st.error(md(str(exc)))
    st.stop()
if entries:
    rows = [entry | {"details": json.dumps(entry["details"])} for entry in entries]
    show_table(rows, "audit-page")
else:
    st.info("No entries match.")
format = st.radio("Export format", ["jsonl", "csv"], horizontal=True)
st.download_button("Export the whole log", lambda: _export(format), file_name=f"audit.{format}",
                   mime="text/csv" if format == "csv" else "application/x-ndjson")
