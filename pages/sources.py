"""Sources: add web pages, company pages, feeds and YouTube links; watch fetching; retry failures."""

import streamlit as st

from curation.accounts.permissions import can
from curation.enums import JobKind, Permission
from curation.errors import CurationError
from curation.fetch.ingest import failed_urls, recent_sources
from curation.jobs.submit import submit_as
from db.session import session_scope
from pages.common import current_user, flash, show_flash, show_jobs, show_table

user = current_user()
st.title("Sources")
show_flash()


def _fetch(urls: list[str]) -> None:
    try:
        job, created = submit_as(current_user(), JobKind.INGEST, {"urls": urls})
        flash(f"fetching {len(urls)} URL(s) as job #{job.id}" if created
              else f"job #{job.id} is already fetching these URLs")
    except CurationError as exc:
        flash(f"error: {exc}")


def _add() -> None:
    urls = [line.strip() for line in st.session_state["new_urls"].splitlines() if line.strip()]
    if urls:
        _fetch(urls)
        st.session_state["new_urls"] = ""


def _retry() -> None:
    with session_scope() as session:
        urls = failed_urls(session)
    _fetch(urls) if urls else flash("nothing to retry: no failed or pending items")


allowed = can(user, Permission.ADD_SOURCES)
st.text_area("URLs, one a line: articles, company pages, RSS/Atom feeds, sitemaps, YouTube links",
             key="new_urls", disabled=not allowed)
left, right = st.columns(2)
left.button("Fetch", type="primary", on_click=_add, disabled=not allowed)
right.button("Retry failed", on_click=_retry, disabled=not allowed)
show_jobs((JobKind.INGEST,))

with session_scope() as session:
    rows = recent_sources(session)
if rows:
    show_table(rows, "sources-page")
else:
    st.info("No fetched sources yet. Paste URLs above; imported files show on the Items page.")
