"""Queue: one item at a time; a, r, s, u accept, reject, skip and undo.

Only the triage fragment reruns on a decision, so a key press redraws the item and nothing else
(the sidebar and the guideline stay as they are)."""

import streamlit as st

from curation.accounts.permissions import can
from curation.corpus.near_duplicates import near_duplicates_of
from curation.display.safe_text import md, md_line, md_link, safe_url
from curation.enums import LabelState, Permission, QueueStrategy
from curation.errors import CurationError, NotLoggedIn
from curation.task import get_task
from curation.triage.bulk import decide_many
from curation.triage.queue import RETRAIN_JOB, QueueFilter, decide, next_item, undo
from db.session import session_scope
from pages.common import (
    OPEN_ITEM,
    current_user,
    flash,
    keyboard,
    show_document,
    show_flash,
    show_similar,
)

task = get_task()
user = current_user()
KEY_ACTIONS = {"a": task.positive_label, "r": task.negative_label, "s": "skip", "u": "undo"}

with st.sidebar:
    strategy = st.selectbox("Order", list(QueueStrategy), help="Default (density): uncertain and "
                            "typical first, closeness to the threshold times similarity to the "
                            "unlabelled items; classifier-LLM disagreement breaks ties.")
    source = st.selectbox("Source", ["any", "web", "youtube", "import"])
    status = st.selectbox("Items", list(LabelState))
filters = QueueFilter(source_type=None if source == "any" else source, status=status)


def _act(item_id: int, action: str) -> None:
    """Decide as whoever is logged in now, so a logout in another tab stops this one too."""
    try:
        with session_scope() as session:
            decide(session, current_user(), item_id, action, note=st.session_state.get("note") or None)
        st.session_state["note"] = ""
        st.session_state.pop(OPEN_ITEM, None)
        retrain = session.info.get(RETRAIN_JOB)
        flash(f"{action} recorded" + (f"; retraining as job #{retrain}" if retrain else ""))
    except CurationError as exc:
        flash(f"error: {exc}")


def _act_with_near_duplicates(item_ids: list[int], label: str) -> None:
    """The item and its near-duplicates as one bulk decision: one undo reverts them all."""
    try:
        with session_scope() as session:
            result = decide_many(session, current_user(), item_ids, label,
                                 note=st.session_state.get("note") or None)
        st.session_state["note"] = ""
        st.session_state.pop(OPEN_ITEM, None)
        refused = f"; refused: {' '.join(result.refused.values())}" if result.refused else ""
        flash(f"{label} recorded for {len(result.decided)} item(s){refused}")
    except CurationError as exc:
        flash(f"error: {exc}")


def _undo() -> None:
    try:
        with session_scope() as session:
            decision = undo(session, current_user())
        flash(f"undid {decision.label} on item {decision.item_id}")
    except CurationError as exc:
        flash(f"error: {exc}")


def _on_key(key: str, item_id: int | None) -> None:
    """a, r, s act on the item that was on screen when the key was pressed; u undoes."""
    if KEY_ACTIONS[key] == "undo":
        _undo()
    elif item_id is not None:
        _act(item_id, KEY_ACTIONS[key])


def _decision_buttons(item_id: int, twins: list[int]) -> None:
    st.text_input("Note (optional)", key="note")
    top, bottom = st.columns(2), st.columns(2)
    top[0].button(f"{task.positive_label.title()} (a)", key="accept", type="primary",
                  on_click=_act, args=(item_id, task.positive_label), width="stretch")
    top[1].button(f"{task.negative_label.title()} (r)", key="reject",
                  on_click=_act, args=(item_id, task.negative_label), width="stretch")
    bottom[0].button("Skip (s)", key="skip", on_click=_act, args=(item_id, "skip"),
                     width="stretch")
    bottom[1].button("Undo (u)", key="undo", on_click=_undo, width="stretch")
    if twins:
        copy = st.columns(2)
        for column, label in zip(copy, (task.positive_label, task.negative_label), strict=True):
            column.button(f"{label.title()} with its {len(twins)} near-duplicate(s)", key=f"{label}_twins",
                          on_click=_act_with_near_duplicates, args=([item_id, *twins], label),
                          width="stretch")


@st.fragment
def _triage() -> None:
    try:
        who = current_user()
    except NotLoggedIn:
        st.rerun()  # the whole app, which shows the login page
    show_flash()
    try:
        with session_scope() as session:  # an item opened from search comes first, whatever the filters
            item = next_item(session, who, strategy=strategy, filters=filters,
                             item_id=st.session_state.get(OPEN_ITEM))
            twins = near_duplicates_of(session, item.id) if item else []
    except CurationError as exc:
        st.session_state.pop(OPEN_ITEM, None)
        st.error(md(f"error: {exc}"))
        keyboard(["u"], None, _on_key)
        return
    if item is None:
        st.info("Nothing left to curate with these filters. Add sources, import a file, or change "
                "the filters in the sidebar.")
        st.button("Undo my last decision (u)", key="undo", on_click=_undo)
        keyboard(["u"], None, _on_key)
        return

    st.subheader(md_line(item.title or item.url or f"Item {item.id}"), anchor=False)
    if link := safe_url(item.url):
        st.markdown(md_link("Open source", link))
    st.caption(f"{item.source_type} · published {item.published_at:%Y-%m-%d}" if item.published_at
               else item.source_type)
    if twins:
        st.warning(f"Near-duplicate text: item(s) {', '.join(map(str, twins))} (MinHash over word shingles).")

    left, right = st.columns([3, 2])
    with right:
        if item.score is None:
            st.info("No classifier score yet: train a model on the Model page.")
        else:
            st.metric(f"Classifier: P({task.positive_label})", f"{item.score:.2f}")
            st.progress(item.score)
            if item.passage:
                st.caption("Marked yellow: the passage that drove the score.")
        if item.llm_verdict is None:
            st.info("No LLM assessment yet.")
        else:
            st.metric("LLM verdict", md_line(item.llm_verdict),
                      f"confidence {item.llm_confidence:.2f}" if item.llm_confidence else None)
            st.text(item.llm_rationale or "")
            if item.llm_evidence_ok is False:
                st.warning("Some quoted evidence does not occur in the document.")
            with st.expander("Reasoning steps"):
                st.json(item.llm_steps, expanded=False)
        _decision_buttons(item.id, twins)
    with left:
        show_document(item.text, item.passage, item.llm_evidence)
        show_similar(who, item.id, "queue")
    keyboard(list(KEY_ACTIONS), item.id, _on_key)  # last: a press waits until this item is drawn


st.title(f"Queue · {task.question}")
if not can(user, Permission.DECIDE):
    show_flash()
    st.info(md(f"{user.name} has the role {user.role}: viewers can browse items but not triage."))
    st.stop()
# The guideline comes from the task file (trusted), escaped all the same: it is prose, not markup.
with st.expander(f"Guideline (version {task.guideline_version})"):
    st.markdown(md(task.guideline))
st.caption("Keys: **a** " + md_line(task.positive_label) + " · **r** " + md_line(task.negative_label)
           + " · **s** skip · **u** undo (not while typing in the note)")
_triage()
