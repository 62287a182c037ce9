"""Items: everything in the collection with its current label."""

import streamlit as st

from curation.accounts.permissions import require
from curation.corpus.items import list_items
from curation.corpus.stats import collection_stats
from curation.enums import Permission
from db.session import session_scope
from pages.common import current_user

st.title("Items")
require(current_user(), Permission.VIEW)  # resolves the login even when run on its own
with session_scope() as session:
    stats = collection_stats(session)
    rows = list_items(session)
left, middle, right = st.columns(3)
left.metric("Items", stats["items"])
middle.metric("Labelled", stats["labelled"])
right.metric("Decisions", stats["decisions"])
if rows:
    st.dataframe(rows, hide_index=True, use_container_width=True)
else:
    st.info("No items yet. Import a file with `python -m curation import FILE.jsonl`.")
