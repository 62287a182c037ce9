"""Items: everything in the collection with its current label; full-text search with the
queue's filters, a hit opened in the Queue, several hits decided at once."""

import streamlit as st

from curation.accounts.permissions import can, require
from curation.corpus.items import list_items
from curation.corpus.search_index import pending_count
from curation.corpus.stats import collection_stats
from curation.display.safe_text import one_line
from curation.enums import LabelState, Permission
from curation.errors import CurationError
from curation.task import get_task
from curation.triage.bulk import decide_many
from curation.triage.search import SearchFilter, search_items
from db.session import session_scope
from pages.common import OPEN_ITEM, current_user, flash, show_flash, show_similar, show_table

task = get_task()
st.title("Items")
user = current_user()
require(user, Permission.VIEW)  # resolves the login even when run on its own
show_flash()


def _decide_selected(label: str) -> None:
    try:
        with session_scope() as session:
            result = decide_many(session, user, st.session_state["selected"], label)
        refused = f"; refused {len(result.refused)}: " + " ".join(result.refused.values()) if result.refused else ""
        flash(f"{label} recorded for {len(result.decided)} item(s), undo reverts them together{refused}")
        st.session_state["selected"] = []
    except CurationError as exc:
        flash(f"error: {exc}")


def _open_in_queue() -> None:
    st.session_state[OPEN_ITEM] = st.session_state["selected"][0]


with session_scope() as session:
    stats = collection_stats(session, user)
    waiting = pending_count(session)
left, middle, right = st.columns(3)
left.metric("Items", stats["items"])
middle.metric("Labelled", stats["labelled"])
right.metric("Decisions", stats["decisions"])

query = st.text_input("Search titles and text", key="search",
                      placeholder='words or "a phrase"; every word must occur')
if waiting:
    st.caption(f"{waiting:,} imported items are not searchable yet: the worker's index job is adding them.")
with st.expander("Filters"):
    one, two, three = st.columns(3)
    status = one.selectbox("Items", list(LabelState), index=list(LabelState).index(LabelState.ALL))
    label = two.selectbox("Label", ["any", *task.labels])
    low, high = three.slider("Active model score", 0.0, 1.0, (0.0, 1.0), 0.05)
filters = SearchFilter(status=status, label=None if label == "any" else label,
                       score_min=low if low > 0 else None, score_max=high if high < 1 else None)

if not query.strip():
    with session_scope() as session:
        rows = list_items(session, user)
    if rows:
        show_table(rows, "items-page")
    else:
        st.info("No items yet. Import a file with `python -m curation import FILE.jsonl`.")
    st.stop()

try:
    with session_scope() as session:
        hits = search_items(session, user, query, filters=filters, limit=100)
except CurationError as exc:
    st.error(f"error: {exc}")
    st.stop()
if not hits:
    st.info("No item matches. Every word must occur; try fewer words or other filters.")
    st.stop()
show_table([vars(hit) for hit in hits], "hits-page")
titles = {hit.id: one_line(f"{hit.id} · {hit.title or hit.url}") for hit in hits}
chosen = st.multiselect("Selected", list(titles), format_func=titles.get, key="selected")
may_decide = can(user, Permission.DECIDE)
buttons = st.columns(3)
if buttons[0].button("Open in Queue", key="open", disabled=not may_decide or len(chosen) != 1,
                     on_click=_open_in_queue, help="Lease the selected item to you and show it in the Queue."):
    st.switch_page("pages/queue.py")
buttons[1].button(f"{task.positive_label.title()} selected", key="accept_selected",
                  disabled=not may_decide or not chosen, on_click=_decide_selected, args=(task.positive_label,))
buttons[2].button(f"{task.negative_label.title()} selected", key="reject_selected",
                  disabled=not may_decide or not chosen, on_click=_decide_selected, args=(task.negative_label,))
if len(chosen) == 1:
    show_similar(user, chosen[0], "items")
