"""Errors: where the active model and the curators disagree; relabel in place. Each list is a
table (at most 200 rows, worst first) and one relabel control, not a card and a button per row,
so the page draws in the same time with 100k items as with 100."""

import streamlit as st

from curation.accounts.permissions import can
from curation.display.safe_text import md, one_line
from curation.enums import MistakeKind, Permission
from curation.errors import CurationError
from curation.task import get_task
from curation.triage.label_issues import label_issues
from curation.triage.mistakes import model_mistakes, suspect_labels
from curation.triage.queue import relabel
from db.session import session_scope
from pages.common import current_user, flash, show_flash, show_similar, show_table

task = get_task()
user = current_user()
st.title("Errors")
show_flash()


def _relabel(key: str) -> None:
    item_id, label = st.session_state[key]
    try:
        with session_scope() as session:
            relabel(session, current_user(), item_id, label)
        flash(f"item {item_id} relabelled {label}")
    except CurationError as exc:
        flash(f"error: {exc}")


def _other(label: str) -> str:
    return task.negative_label if label == task.positive_label else task.positive_label


confidence = st.slider("Suspect labels: model at least this sure", 0.5, 0.99, 0.9, 0.01)
with session_scope() as session:
    sections = {
        MistakeKind.FALSE_POSITIVE.value: ("False positives (model says " + task.positive_label + ")",
                  model_mistakes(session, user, MistakeKind.FALSE_POSITIVE)),
        MistakeKind.FALSE_NEGATIVE.value: ("False negatives (model says " + task.negative_label + ")",
                      model_mistakes(session, user, MistakeKind.FALSE_NEGATIVE)),
        "suspect": ("Suspect labels (a confident model and the LLM both disagree)",
                    suspect_labels(session, user, confidence)),
    }

if not any(rows for _, rows in sections.values()):
    st.info("No disagreements to review: either there is no active model yet (train one on the "
            "Model page) or it agrees with every curator label.")
may_relabel = can(user, Permission.RELABEL)


def relabel_control(key: str, rows: list[dict]) -> int:
    """One picker and one Relabel button for a list; returns the picked item's id."""
    choices = [(row["id"], _other(row["label"])) for row in rows]
    titles = {row["id"]: one_line(f"{row['id']} · {row['title'] or row.get('url') or ''}") for row in rows}
    left, right = st.columns([4, 1])
    picked = left.selectbox("Item to relabel", choices, key=f"pick-{key}", label_visibility="collapsed",
                            format_func=lambda choice: f"{titles[choice[0]]} → {choice[1]}")
    right.button("Relabel", key=f"relabel-{key}", on_click=_relabel, args=(f"pick-{key}",),
                 disabled=not may_relabel, width="stretch")
    return picked[0]


for key, (heading, rows) in sections.items():
    st.subheader(f"{heading}: {len(rows)}", anchor=False)
    if not rows:
        continue
    show_table(rows, f"{key}-page", page_rows=20)
    relabel_control(key, rows)

st.subheader("Likely wrong labels (cleanlab on out-of-fold predictions)", anchor=False)
if st.toggle("Rank the labels with cleanlab", key="issues-on",
             help="Each label is judged by a model that never saw it; reads every stored vector."):
    try:
        with session_scope() as session:
            issues = [vars(issue) for issue in label_issues(session, user)]
    except CurationError as exc:
        st.info(md(str(exc)))
        issues = None
    if issues:
        show_table(issues, "issues-page")
        show_similar(user, relabel_control("issues", issues), "errors")
    elif issues is not None:
        st.success("cleanlab finds no label that the rest of the data contradicts.")
