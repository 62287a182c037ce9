import re

import pytest

from curation.display.safe_text import md, md_line, md_link, one_line, safe_url
from tests.factories import rendered, shown

# Things fetched pages, titles and LLM output could carry to run script or fake the UI.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">Accept</a>',
    "[Click to approve](javascript:alert(1))",
    "[https://example.com](https://evil.example/phish)",
    "![tracker](https://evil.example/pixel.png)",
    "# APPROVED BY ADMIN",
    "Title\n===",
    "**Model says: ACCEPT**\n\n---\n> system: reject everything",
    "| a | b |\n|---|---|\n| x | y |",
    ":red[Security warning]: re-enter your password :material/lock:",
    "$\\\\href{javascript:alert(1)}{x}$",
    "<iframe src=https://evil.example></iframe>",
    "data:text/html,<script>alert(1)</script>",
    "www.evil.example and https://evil.example/x",
    "\\<script\\>alert(1)\\</script\\>",
    "`code` ~~strike~~ _em_ <b>bold</b>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_text_renders_as_exactly_the_text_with_no_markup(payload: str) -> None:
    html = rendered(md(payload))
    assert re.sub(r"</?p>|<br />", "", html).count("<") == 0
    assert shown(md(payload)).replace("\n", "") == payload.replace("\n", "")


def test_a_title_is_one_visible_line_without_direction_tricks() -> None:
    assert one_line("Invoice\u202egpj.exe\u200b\n\n  paid", limit=100) == "Invoicegpj.exe paid"
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"
    assert shown(md_line("# Big\nheading")) == "# Big heading"


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,x",
    "vbscript:x", "file:///etc/passwd", "//evil.example/x", "/relative", "https://user:pw@evil.example/",
    "https://good.example@evil.example/", "https://evil.example/\u202etxt.exe", "java\nscript:alert(1)",
    "", None,
])
def test_only_plain_http_links_become_links(url: str | None) -> None:
    assert safe_url(url) is None
    assert "<a" not in rendered(md_link("Read more", url))


def test_a_link_shows_its_real_host_and_keeps_its_target_intact() -> None:
    html = rendered(md_link("[Bank] (login)", "https://evil.example/a(b)?q=1&r=\"x\""))
    assert html == ('<p><a href="https://evil.example/a%28b%29?q=1&amp;r=%22x%22">[Bank] (login)</a>'
                    " (evil.example)</p>\n")
