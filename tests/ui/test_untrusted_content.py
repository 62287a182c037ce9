import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from curation.accounts.audit import record
from curation.display.safe_text import one_line
from db.migrate import upgrade
from db.session import session_scope
from tests.factories import REPO, rendered, shown
from tests.unit.test_safe_text import PAYLOADS

LINK = re.compile(r'<a href="https?://[^"<>]*">')


def _item_view(payloads: list[str]) -> None:
    """An item drawn the way pages draw untrusted content: title, link, LLM text, article text."""
    import streamlit as st

    from curation.display.safe_text import md, md_line, md_link

    for payload in payloads:
        st.subheader(md_line(payload))
        st.markdown(md_link(payload, payload))
        st.caption(md(payload))
        st.markdown(md(payload))
        st.text(payload)


def _harmless(markdown: str) -> bool:
    """Rendered, it holds no tag but paragraphs, line breaks and plain http(s) links."""
    return re.sub(r"</?p>|<br />|</a>", "", LINK.sub("", rendered(markdown))).count("<") == 0


def test_a_page_full_of_script_and_markdown_injection_renders_as_plain_text() -> None:
    app = AppTest.from_function(_item_view, args=(PAYLOADS,), default_timeout=30).run()
    assert not app.exception
    markdowns = [*app.subheader, *app.markdown, *app.caption]
    assert len(markdowns) == 4 * len(PAYLOADS)
    assert all(_harmless(element.value) for element in markdowns)
    assert not any(getattr(element, "allow_html", False) for element in app.markdown)
    assert "<a " not in "".join(rendered(element.value) for element in markdowns)  # no payload is a plain URL
    assert [element.value for element in app.text] == PAYLOADS


def test_the_audit_page_shows_hostile_targets_and_details_as_data(home: Path) -> None:
    """Accounts are off, so the page acts as the local admin."""
    upgrade()
    with session_scope() as session:
        for payload in PAYLOADS:
            record(session, "import", "decide", payload, {"title": payload})
    app = AppTest.from_file(str(REPO / "pages" / "audit.py"), default_timeout=30).run()
    assert not app.exception
    table = app.table[0].value  # st.table renders its cells as markdown
    assert [shown(cell) for cell in table["target"]] == [one_line(payload) for payload in PAYLOADS[::-1]]
    cells = [*table["target"], *table["details"]]
    assert all(_harmless(cell) and "<a " not in rendered(cell) for cell in cells)
    assert all(_harmless(element.value) for element in [*app.markdown, *app.title, *app.info])
