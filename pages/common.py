"""Drawing helpers the pages share. No SQL and no domain logic here."""

import json
from collections.abc import Callable

import streamlit as st

from curation.accounts.auth import COOKIE_NAME, TOKEN_KEY, current_actor
from curation.accounts.permissions import Actor, can
from curation.display.highlight import find_spans, highlighted_html
from curation.display.safe_text import md, md_line, one_line, table_cells
from curation.enums import Permission
from curation.errors import CurationError
from curation.jobs.store import is_live, job_summary, list_jobs
from curation.settings import get_settings
from curation.task import get_task
from curation.triage.bulk import decide_many
from curation.triage.similar import similar_items
from db.session import session_scope

OPEN_ITEM = "open_item"  # session_state: an item the Items page opened, which the Queue leases and shows
PAGE_ROWS = 50  # rows of a table drawn at once: st.table draws every row it is given, the browser lays out each

DOCUMENT_CSS = """<style>
.doc { white-space: pre-wrap; max-height: 32rem; overflow-y: auto; font-size: 0.95rem;
       line-height: 1.5; padding: 0.75rem; border: 1px solid #ddd; border-radius: 0.5rem; }
.doc mark.passage { background: #fde68a; }
.doc mark.evidence { background: #bbf7d0; }
</style>"""

# Keys decide through a component, not by clicking buttons: a click that lands while Streamlit
# redraws can hit the button of the item before (doubled) or be dropped (lost). Each press is
# sent with the item on screen and a sequence number one past the last the server handled; the
# next press waits until the server has drawn the next item with that number handled, so quick
# presses queue in the browser and apply in order, each to the item then on screen, exactly
# once. A press unanswered for RESEND_MS is sent again (the server ignores a number it has
# handled). One listener per page, kept on window: the component's function runs again on every
# redraw, and a keydown between two runs must still be queued. Keys are ignored while typing in a
# field, so a note with an "a" in it does not accept the item, and on pages without the component.
KEYS_JS = """
const RESEND_MS = 5000;
export default function ({ data, setStateValue, parentElement }) {
  const keys = window.__curationKeys ??= { queue: [], waiting: null };
  Object.assign(keys, { data, send: setStateValue, root: parentElement });
  if (keys.waiting && data.handled >= keys.waiting.seq) keys.waiting = null;
  keys.pump = () => {
    const now = performance.now();
    if (keys.waiting && now - keys.waiting.at < RESEND_MS) return;
    if (!keys.waiting) {
      if (!keys.queue.length) return;
      keys.waiting = { seq: keys.data.handled + 1, key: keys.queue.shift(), item: keys.data.item };
    }
    keys.waiting.at = now;
    const { seq, key, item } = keys.waiting;
    keys.send('press', { seq, key, item, at: now });
  };
  if (!keys.listener) {
    keys.listener = (e) => {
      const t = e.target, key = e.key.toLowerCase();
      if (e.ctrlKey || e.metaKey || e.altKey || t.isContentEditable ||
          ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)) return;
      if (!keys.root.isConnected || !keys.data.keys.includes(key)) return;
      e.preventDefault();
      keys.queue.push(key);
      keys.pump();
    };
    document.addEventListener('keydown', keys.listener);
    keys.timer = setInterval(() => keys.root.isConnected && keys.pump(), RESEND_MS);
  }
  keys.pump();
}
"""
KEYS = "triage_keys"  # session_state: the component's state (the last press sent)
KEYS_HANDLED = "triage_keys_handled"  # session_state: the sequence number of the last press handled
_keys_component = st.components.v2.component("curation.keys", js=KEYS_JS, isolate_styles=False)


# The login cookie is written by a same-origin script: Streamlit reads cookies
# (st.context.cookies) but has no call to set one, and a script of ours needs no third-party
# component. SameSite=Strict keeps other sites from sending it; Secure whenever served over https.
# It holds only the random token, whose hash the server checks on every run.
COOKIE_JS = """<script>
const secure = window.parent.location.protocol === 'https:' ? '; Secure' : '';
window.parent.document.cookie = %s + '=' + %s + '; Path=/; Max-Age=%d; SameSite=Strict' + secure;
</script>"""


def remember_login(token: str) -> None:
    """Keep the login in a cookie for CURATION_SESSION_HOURS, so a reload, a new tab or a browser
    restart finds it (app.py reads it back through st.context.cookies)."""
    max_age = int(get_settings().session_hours * 3600)
    st.iframe(COOKIE_JS % (json.dumps(COOKIE_NAME), json.dumps(token), max_age), height=1)


def forget_login() -> None:
    """Delete the login cookie (after a logout, or when its login has ended)."""
    st.iframe(COOKIE_JS % (json.dumps(COOKIE_NAME), '""', 0), height=1)


def keyboard(keys: list[str], item_id: int | None, on_press: Callable[[str, int | None], None]) -> None:
    """Single keys for the item on screen: on_press(key, item_id) runs once per press, in order
    (see KEYS_JS). Draw it last in what a press redraws, so a press waits for the whole item."""

    def _pressed() -> None:
        press = st.session_state[KEYS]["press"]
        if press["seq"] != st.session_state.get(KEYS_HANDLED, 0) + 1:
            return  # sent again after it was handled, or from a page state before a reload
        st.session_state[KEYS_HANDLED] = press["seq"]
        on_press(press["key"], press["item"])

    data = {"keys": keys, "item": item_id, "handled": st.session_state.get(KEYS_HANDLED, 0)}
    _keys_component(key=KEYS, data=data, on_press_change=_pressed, height=0)


def signed_in_identity() -> dict | None:
    """The claims st.login's identity provider gave, or None when nobody signed in there (st.user
    has is_logged_in only once secrets.toml has an [auth] section)."""
    claims = st.user.to_dict()
    return claims if claims.get("is_logged_in") else None


def current_user() -> Actor:
    """Who is using the app: the logged-in user, or the local admin when accounts are off.
    app.py has already sent anyone without a valid login to the login page."""
    return current_actor(st.session_state.get(TOKEN_KEY))


def flash(message: str) -> None:
    """Keep a message from an on_click callback for the rerun that follows it."""
    st.session_state["flash"] = message


def show_flash() -> None:
    if message := st.session_state.pop("flash", None):
        (st.error if message.startswith("error") else st.success)(md(message))


def show_document(text: str, passage: str | None = None, evidence: list[str] | None = None) -> None:
    """The untrusted document, escaped, with the classifier's passage and the LLM's evidence marked."""
    spans = find_spans(text, [passage] if passage else [], "passage")
    spans += find_spans(text, evidence or [], "evidence")
    st.html(DOCUMENT_CSS + f'<div class="doc">{highlighted_html(text, spans)}</div>')


def show_table(rows: list[dict], key: str, page_rows: int = PAGE_ROWS) -> None:
    """rows as an st.table, page_rows at a time with a page picker below when there are more.
    Not st.dataframe: its grid component adds about 0.6 s to every page load (README, "Pages at
    100,000 items"). st.table renders cells as markdown, so every text cell goes through
    table_cells() and untrusted titles and URLs show as text, never as links."""
    pages = -(-len(rows) // page_rows)
    if pages > 1 and st.session_state.get(key, 1) > pages:  # the rows shrank since the page was picked
        st.session_state[key] = pages
    start = ((st.session_state.get(key, 1) if pages > 1 else 1) - 1) * page_rows
    st.table(table_cells(rows[start:start + page_rows]), hide_index=True)
    if pages > 1:
        st.number_input(f"Page (rows {start + 1}-{min(start + page_rows, len(rows))} of {len(rows)})",
                        1, pages, key=key)


def show_jobs(kinds: tuple[str, ...], limit: int = 5) -> None:
    """Recent jobs of these kinds with progress bars; redraws itself every two seconds while one
    is queued or running, so a long job's progress moves without a page reload."""

    def _recent() -> list[dict]:
        with session_scope() as session:
            return [job_summary(j) for j in list_jobs(session, limit=limit, kinds=kinds)]

    jobs = _recent()
    live = any(is_live(j["status"]) for j in jobs)

    @st.fragment(run_every=2 if live else None)
    def _draw() -> None:
        for job in _recent():
            done, total = job["done"] or 0, job["total"]
            fraction = min(done / total, 1.0) if total else float(job["status"] == "done")
            # The message is untrusted: an ingest reports URLs a fetched sitemap listed.
            line = f"#{job['id']} {job['kind']} · {job['status']} · {job['message'] or ''}"
            st.progress(fraction, text=md_line(line))
            if job["error"]:
                st.error(md(job["error"]))

    if jobs:
        _draw()


def _decide_similar(user: Actor, key: str, label: str) -> None:
    try:
        with session_scope() as session:
            result = decide_many(session, user, st.session_state[key], label)
        refused = f"; refused: {' '.join(result.refused.values())}" if result.refused else ""
        flash(f"{label} recorded for {len(result.decided)} similar item(s), undo reverts them together{refused}")
        st.session_state[key] = []
    except CurationError as exc:
        flash(f"error: {exc}")


def show_similar(user: Actor, item_id: int, key: str) -> None:
    """More like this, behind a toggle (the first look reads every stored vector): the nearest
    items with label and score; select several and decide them in one bulk action."""
    if not st.toggle("More like this", key=f"{key}-similar-on"):
        return
    try:
        with session_scope() as session:
            hits = similar_items(session, user, item_id, k=10)
    except CurationError as exc:
        st.info(md(str(exc)))
        return
    if not hits:
        st.info("No other item has a stored document vector yet.")
        return
    show_table([vars(hit) for hit in hits], f"{key}-similar-page")
    titles = {hit.id: one_line(f"{hit.id} · {hit.title or ''} ({hit.similarity:.2f})") for hit in hits}
    chosen_key = f"{key}-similar"
    chosen = st.multiselect("Similar items to decide", list(titles), format_func=titles.get, key=chosen_key)
    disabled = not can(user, Permission.DECIDE) or not chosen
    task = get_task()
    left, right = st.columns(2)
    for column, label in ((left, task.positive_label), (right, task.negative_label)):
        column.button(f"{label.title()} selected similar", key=f"{key}-similar-{label}", disabled=disabled,
                      on_click=_decide_similar, args=(user, chosen_key, label), width="stretch")
