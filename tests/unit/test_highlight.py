from curation.display.highlight import find_spans, highlighted_html


def test_evidence_is_found_across_line_wraps_and_case() -> None:
    text = "We cut latency\nby 40% after\n moving to vLLM."
    (span,) = find_spans(text, ["cut latency by 40%", "not in the text"], "evidence")
    assert text[span.start:span.end] == "cut latency\nby 40%"


def test_document_markup_is_escaped_and_only_our_marks_remain() -> None:
    text = 'Hi <script>alert(1)</script> <img src=x onerror=alert(2)> we shipped it'
    rendered = highlighted_html(text, find_spans(text, ["we shipped it"], "passage"))
    assert "<script>" not in rendered and "<img" not in rendered
    assert rendered.endswith('<mark class="passage">we shipped it</mark>')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_overlapping_spans_do_not_nest() -> None:
    text = "alpha beta gamma delta"
    spans = find_spans(text, ["alpha beta gamma"], "passage") + find_spans(text, ["gamma delta"], "evidence")
    assert highlighted_html(text, spans) == '<mark class="passage">alpha beta gamma</mark> delta'
