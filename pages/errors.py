"""Errors: where the active model and the curators disagree; relabel in place."""

import streamlit as st

from curation.accounts.permissions import can
from curation.display.safe_text import md_line
from curation.enums import MistakeKind, Permission
from curation.errors import CurationError
from curation.task import get_task
from curation.triage.mistakes import model_mistakes, suspect_labels
from curation.triage.queue import relabel
from db.session import session_scope
from pages.common import current_user, flash, show_flash

task = get_task()
user = current_user()
st.title("Errors")
show_flash()


def _relabel(item_id: int, label: str) -> None:
    try:
        with session_scope() as session:
            relabel(session, current_user(), item_id, label)
        flash(f"item {item_id} relabelled {label}")
    except CurationError as exc:
        flash(f"error: {exc}")


confidence = st.slider("Suspect labels: model at least this sure", 0.5, 0.99, 0.9, 0.01)
with session_scope() as session:
    sections = {
        "False positives (model says " + task.positive_label + ")": model_mistakes(session, MistakeKind.FALSE_POSITIVE),
        "False negatives (model says " + task.negative_label + ")": model_mistakes(session, MistakeKind.FALSE_NEGATIVE),
        "Suspect labels (a confident model and the LLM both disagree)": suspect_labels(session, confidence),
    }

if not any(sections.values()):
    st.info("No disagreements to review: either there is no active model yet (train one on the "
            "Model page) or it agrees with every curator label.")
for heading, rows in sections.items():
    st.subheader(f"{heading}: {len(rows)}", anchor=False)
    for row in rows:
        with st.container(border=True):
            left, right = st.columns([4, 2])
            left.text(row["title"] or row["url"] or f"Item {row['id']}")
            left.caption(md_line(f"label {row['label']} by {row['curator']} · model "
                                 f"{row['probability']:.2f} · LLM {row['llm_verdict'] or 'none'}"))
            other = task.negative_label if row["label"] == task.positive_label else task.positive_label
            right.button(f"Relabel {other}", key=f"relabel-{heading[:5]}-{row['id']}",
                         on_click=_relabel, args=(row["id"], other),
                         disabled=not can(user, Permission.RELABEL))
