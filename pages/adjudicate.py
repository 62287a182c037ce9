"""Adjudicate (leads and admins): overlap items two curators labelled differently, with both
decisions, their notes, the classifier score and the LLM verdict side by side. The lead's
decision is final and becomes the training label."""

import streamlit as st

from curation.display.safe_text import md, md_line, md_link, safe_url
from curation.errors import CurationError
from curation.task import get_task
from curation.triage.adjudication import adjudicate, list_disputes
from db.session import session_scope
from pages.common import current_user, flash, show_flash

task = get_task()


def _settle(item_id: int, label: str) -> None:
    try:
        with session_scope() as session:
            adjudicate(session, current_user(), item_id, label,
                       note=st.session_state.get(f"why_{item_id}") or None)
        flash(f"item {item_id}: {label} is final")
    except CurationError as exc:
        flash(f"error: {exc}")


st.title("Adjudicate")
show_flash()
user = current_user()  # resolves the login even when run on its own
try:
    with session_scope() as session:
        disputes = list_disputes(session, user)
except CurationError as exc:
    st.error(md(str(exc)))
    st.stop()
if not disputes:
    st.info("No disputed items: every overlap item the curators decided, they agreed on "
            "(or a lead has settled it).")
    st.stop()
for dispute in disputes:
    with st.container(border=True):
        st.subheader(md_line(dispute.title or dispute.url or f"Item {dispute.item_id}"), anchor=False)
        if link := safe_url(dispute.url):
            st.markdown(md_link("Open source", link))
        columns = st.columns(len(dispute.decisions) + 1)
        for column, decision in zip(columns, dispute.decisions):
            column.metric(md_line(decision["curator"]), decision["label"])
            column.caption(md(decision["note"] or "no note"))
        model = columns[-1]
        model.metric(f"Classifier P({task.positive_label})",
                     "—" if dispute.score is None else f"{dispute.score:.2f}")
        model.metric("LLM verdict", dispute.llm_verdict or "—")
        if dispute.llm_rationale:
            model.caption(md(dispute.llm_rationale))
        st.text_input("Why (optional)", key=f"why_{dispute.item_id}")
        buttons = st.columns(2)
        for button, label in zip(buttons, task.labels):
            button.button(f"Final: {label}", key=f"settle_{dispute.item_id}_{label}",
                          on_click=_settle, args=(dispute.item_id, label), width="stretch")
