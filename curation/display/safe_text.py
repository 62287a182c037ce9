"""Showing untrusted text: fetched titles, article text, URLs, LLM output, anything a user typed.

Streamlit already refuses raw HTML in st.markdown, but markdown itself can still fake the UI: a
title can be a heading, a bold "Accept" instruction, a link whose text says one site and whose
target is another (or javascript:), an image that calls home, or a :red[warning]. So:

    st.text(article_text)                  # long text: shown as it is, never interpreted
    st.subheader(md_line(item.title))      # text in a markdown-rendering widget: every markdown
    st.markdown(md(llm_rationale))         # control character escaped
    st.markdown(md_link(item.title, url))  # a link only for http(s), with the real host shown
    bars(rows_with_chart_text(rows, "curator"), ..., color="curator:N")  # legend, ticks, tooltip

Vega-Lite draws chart text as SVG text and its tooltips escaped, so no markup of a value can
render there; but a name with line breaks, bidirectional overrides or a paragraph of text would
still garble a legend or an axis. So untrusted values that become chart text go through
chart_text(), and never through an href channel.
"""

import re
import string
import unicodedata
from typing import Any
from urllib.parse import quote, urlsplit

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and an escaped one
# is always literal text: no emphasis, links, images, headings, tables, HTML, math or directives.
_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
# Streamlit's markdown (GFM) links bare URLs, www. names and e-mail addresses whether or not their
# punctuation is escaped (seen in Chromium). A zero-width space before the ':' after a letter
# (http:, mailto:), the '.' after www and every '@' breaks each pattern, and shows as nothing.
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(?=\\:)|(?<=www)(?=\\\.)|(?=\\@)", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"
_SAFE_SCHEMES = ("http", "https")
_URL_KEEP = ":/?#[]@!$&'*+,;=%~-._"  # everything else (spaces, parentheses, quotes) is %-encoded


def md(text: str | None) -> str:
    """text that any markdown-rendering Streamlit call shows literally. Invisible and
    direction-changing characters are dropped; line breaks are kept as line breaks."""
    visible = _drop_invisible(text or "")
    return "  \n".join(_AUTOLINK.sub(_ZERO_WIDTH_SPACE, _MD_SPECIAL.sub(r"\\\1", line))
                        for line in visible.split("\n"))


def one_line(text: str | None, limit: int = 300) -> str:
    """A title or label on one line, without invisible characters, at most limit characters."""
    flat = " ".join(_drop_invisible(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def md_line(text: str | None, limit: int = 300) -> str:
    """one_line() escaped for markdown: for titles in st.subheader, st.markdown, st.caption."""
    return md(one_line(text, limit))


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link to a host, else None: javascript:, data:, file:,
    relative links and links with user:password@ (which can disguise the real host) are refused."""
    if not url or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url.strip()):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in _SAFE_SCHEMES or not parts.hostname or "@" in parts.netloc:
        return None
    return quote(url.strip(), safe=_URL_KEEP)


def md_link(label: str | None, url: str | None) -> str:
    """A markdown link that shows its real host beside the label, or just the escaped label
    (or URL text) when the URL is not a safe http(s) link."""
    target = safe_url(url)
    if target is None:
        return md_line(label or url)
    host = urlsplit(target).hostname or ""
    return f"[{md_line(label or target)}]({target}) ({md(host)})"


def chart_text(text: str | None, limit: int = 80) -> str:
    """one_line() short enough for a legend entry or an axis tick. Not HTML-escaped: Vega shows
    text as it is, so an entity would show as "&lt;" rather than "<"."""
    return one_line(text, limit)


def rows_with_chart_text(rows: list[dict[str, Any]], *columns: str) -> list[dict[str, Any]]:
    """rows with chart_text() applied to the named columns, for a Vega-Lite chart."""
    return [row | {column: chart_text(row[column]) for column in columns} for row in rows]


def table_cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """rows for st.table, which renders every cell as markdown: each text cell through md_line(),
    so untrusted text shows as it is (md() also keeps a bare URL from becoming a link)."""
    return [{key: md_line(value) if isinstance(value, str) else value for key, value in row.items()}
            for row in rows]


def _drop_invisible(text: str) -> str:
    """Remove control characters (except newline and tab) and format characters: zero-width
    spaces and the bidirectional overrides that make "gpj.exe" read as "exe.jpg"."""
    return "".join(
        ch for ch in text.replace("\r\n", "\n")
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
