"""Drawing helpers the pages share. No SQL and no domain logic here."""

import json

import streamlit as st

from curation.accounts.auth import COOKIE_NAME, TOKEN_KEY, current_actor
from curation.accounts.permissions import Actor, can
from curation.display.highlight import find_spans, highlighted_html
from curation.display.safe_text import md, md_line, one_line
from curation.enums import Permission
from curation.errors import CurationError
from curation.jobs.store import is_live, job_summary, list_jobs
from curation.settings import get_settings
from curation.task import get_task
from curation.triage.bulk import decide_many
from curation.triage.similar import similar_items
from db.session import session_scope

OPEN_ITEM = "open_item"  # session_state: an item the Items page opened, which the Queue leases and shows

DOCUMENT_CSS = """<style>
.doc { white-space: pre-wrap; max-height: 32rem; overflow-y: auto; font-size: 0.95rem;
       line-height: 1.5; padding: 0.75rem; border: 1px solid #ddd; border-radius: 0.5rem; }
.doc mark.passage { background: #fde68a; }
.doc mark.evidence { background: #bbf7d0; }
</style>"""

# Keys trigger the button whose widget key is given, except while typing in a field, so a note
# with an "a" in it does not accept the item. Streamlit may remount this iframe on a rerun, and a
# listener dies with the iframe that made it, so every load replaces the previous listener.
# No press is lost or doubled: where the page draws a run marker (run_marker(), last in what a
# press redraws), a press waits until the run it started has drawn all of the next item, and
# only then clicks; so quick presses apply in order, each to the item then on screen.
SHORTCUT_JS = """<script>
const doc = window.parent.document, win = window.parent, keys = %s;
if (win.__curationShortcuts) doc.removeEventListener('keydown', win.__curationShortcuts);
win.__curationPresses = win.__curationPresses || [];
const marker = () => {
  const m = doc.querySelector('.curation-run');
  return m && !m.closest('[data-stale="true"]') ? m.dataset.run : null;
};
const drain = () => {
  while (win.__curationPresses.length) {
    const run = marker();
    if (doc.querySelector('.curation-run') && (run === null || run === win.__curationClickedRun)) {
      return setTimeout(drain, 10);  // the last click's run has not drawn everything yet
    }
    const button = doc.querySelector('.st-key-' + win.__curationPresses.shift() + ' button');
    if (button && !button.disabled) { win.__curationClickedRun = run; button.click(); }
  }
};
win.__curationShortcuts = (e) => {
  const t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey || t.isContentEditable ||
      ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)) return;
  const key = keys[e.key.toLowerCase()];
  if (!key) return;
  e.preventDefault();
  win.__curationPresses.push(key);
  drain();
};
doc.addEventListener('keydown', win.__curationShortcuts);
</script>"""


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


def keyboard_shortcuts(keys_to_buttons: dict[str, str]) -> None:
    """Bind single keys to buttons by their widget key."""
    st.iframe(SHORTCUT_JS % json.dumps(keys_to_buttons), height=1)


def run_marker() -> None:
    """Mark the end of what a key press redraws, with a number new on every run, so the
    shortcut listener knows when the next item is fully on screen (see SHORTCUT_JS)."""
    run = st.session_state["shortcut_run"] = st.session_state.get("shortcut_run", 0) + 1
    st.html(f'<span class="curation-run" data-run="{run}"></span>')


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
    st.dataframe([vars(hit) for hit in hits], hide_index=True, width="stretch")
    titles = {hit.id: one_line(f"{hit.id} · {hit.title or ''} ({hit.similarity:.2f})") for hit in hits}
    chosen_key = f"{key}-similar"
    chosen = st.multiselect("Similar items to decide", list(titles), format_func=titles.get, key=chosen_key)
    disabled = not can(user, Permission.DECIDE) or not chosen
    task = get_task()
    left, right = st.columns(2)
    for column, label in ((left, task.positive_label), (right, task.negative_label)):
        column.button(f"{label.title()} selected similar", key=f"{key}-similar-{label}", disabled=disabled,
                      on_click=_decide_similar, args=(user, chosen_key, label), width="stretch")
