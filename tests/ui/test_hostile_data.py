"""Every page, fed hostile strings through the data it draws (job messages and errors, item titles,
URLs and text, LLM verdicts, rationale and evidence, curator names, notes, model names, audit
details), renders no link, image, HTML or directive of theirs: only the app's own markup."""

import json
import re
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from curation.accounts.audit import record
from curation.display.charts import SERIES
from curation.display.safe_text import chart_text
from curation.enums import JobStatus
from db.models import Decision, Job, LLMAssessment, ModelVersion
from db.session import session_scope
from tests.factories import add_active_model, add_items, charts, rendered

HOSTILE = ("[Session expired - log in](http://ev.il/x) ![x](http://ev.il/b.png) :red[OK] "
           "<a href='http://ev.il'>a</a><img src=x>")  # fits every column, 128 characters at most
SHORT = "[OK](http://ev.il)<b>:red[x]"  # for 32-character columns: an LLM verdict
SEEN = "Session expired - log in"  # the hostile text, shown as text, proves it reached the page
OWN_LINK = re.compile(r'<a href="https://example\.com/[^"]*">Open source</a>')  # the queue's own link
PAGES = ["pages/queue.py", "pages/items.py", "pages/sources.py", "pages/model.py", "pages/errors.py",
         "pages/compare.py", "pages/activity.py", "pages/audit.py", "pages/users.py"]


def _hostile_data() -> None:
    with session_scope() as session:
        labelled, served = add_items(session, 2, title=HOSTILE, text=HOSTILE)
        add_items(session, 1, start=2, url=HOSTILE, fetch_status="failed", fetch_error=HOSTILE,
                  text=None)
        version_id = add_active_model(session, {labelled: 0.99, served: 0.5}, passage=HOSTILE)
        version = session.get_one(ModelVersion, version_id)
        version.base_model = HOSTILE
        version.metrics = {"holdout": {"f1": 0.9, "precision": 0.9, "recall": 0.9, "accuracy": 0.9}}
        for item_id in (labelled, served):
            session.add(LLMAssessment(item_id=item_id, provider="stub", model="m", prompt_version="v1",
                                      verdict=SHORT, confidence=0.5, rationale=HOSTILE,
                                      evidence=[{"quote": HOSTILE}], steps=[{"thought": HOSTILE}],
                                      tokens_in=1, tokens_out=1, cost_usd=0.0, latency_ms=1.0))
        session.add(Decision(item_id=labelled, label="reject", curator=HOSTILE, note=HOSTILE, seconds_spent=2))
        for kind, status in (("ingest", JobStatus.RUNNING), ("reason", JobStatus.FAILED), ("train", JobStatus.DONE)):
            session.add(Job(kind=kind, status=status, done=1, total=3, message=HOSTILE, error=HOSTILE, params={}))
        record(session, HOSTILE, "decide", HOSTILE, {"note": HOSTILE})


def _markdown_of(app: AppTest) -> list[str]:
    """Every string the page handed to a markdown-rendering element or parameter."""
    texts = [element.value for kind in ("markdown", "caption", "title", "subheader", "header", "info",
                                        "warning", "error", "success", "toast") for element in app.get(kind)]
    for metric in app.get("metric"):
        texts += [metric.proto.label, metric.proto.body, metric.proto.delta, metric.proto.help]
    texts += [progress.proto.text for progress in app.get("progress")]
    texts += [expander.proto.expandable.label for expander in app.get("expandable")]
    texts += [label for button in app.button for label in (button.label, button.help or "")]
    return texts


def _smuggled(markdown: str) -> list[str]:
    """Tags, links and directives of the hostile string that survive into the rendered markdown."""
    html = OWN_LINK.sub("", rendered(markdown))
    tags = [tag for tag in re.findall(r"<(\w+)", html) if tag not in ("p", "br", "strong", "em", "code")]
    return tags + ([":red["] if ":red[" in markdown else [])


def _strings(value: object, key: str | None = None) -> list[str]:
    """The strings in a JSON value; with a key, only those stored under that key."""
    if isinstance(value, dict):
        return [s for k, item in value.items() for s in (_strings(item, key) if key is None or k != key
                                                           else _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, key)]
    return [value] if isinstance(value, str) and key is None else []


def _chart_text(app: AppTest) -> list[str]:
    """Every string the page's Vega-Lite charts can draw: the spec's titles and names, and the
    values of the data fields it encodes (legend entries, axis ticks, tooltips)."""
    found = []
    for spec in charts(app):
        rows = spec.pop("rows")
        drawn = set(_strings(spec, "field")) | {SERIES}
        found += _strings(spec) + [value for row in rows for field, value in row.items()
                                   if field in drawn and isinstance(value, str)]
    return found


@pytest.mark.parametrize("page", PAGES)
def test_no_page_renders_markup_from_its_data(open_page: Callable[[str], AppTest], page: str) -> None:
    _hostile_data()
    app = open_page(page)
    texts = _markdown_of(app)
    assert {text: _smuggled(text) for text in texts if _smuggled(text)} == {}
    # Vega draws chart text as SVG text and escapes tooltips, so markup cannot render there; what
    # must hold is that no mark links anywhere and that every string is one tidy line.
    assert all('"href"' not in chart.proto.spec for chart in app.get("vega_lite_chart"))
    assert [text for text in _chart_text(app) if text != chart_text(text)] == []


@pytest.mark.parametrize("page", ["pages/sources.py", "pages/queue.py", "pages/model.py", "pages/activity.py"])
def test_the_hostile_text_reaches_the_page_as_text(open_page: Callable[[str], AppTest], page: str) -> None:
    """The check above means something only if the strings were drawn at all."""
    _hostile_data()
    app = open_page(page)
    drawn = "\n".join(_chart_text(app)) if page == "pages/activity.py" else json.dumps(_markdown_of(app))
    assert SEEN in drawn.replace("\\\\", "")
