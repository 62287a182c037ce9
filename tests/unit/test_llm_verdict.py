import pytest

from curation.llm.verdict import VerdictError, check_evidence, parse_verdict, verdict_schema

LABELS = ("accept", "reject")
TEXT = "We run GPT-4 in production at Acme.\nLatency   p95 is 800 ms — after “caching”."


def good(**changes: object) -> dict[str, object]:
    return {"label": "accept", "confidence": 0.7, "rationale": "Production use.",
            "evidence": ["GPT-4 in production"], **changes}


def test_quotes_match_despite_case_whitespace_typography_and_ellipses() -> None:
    quotes = ["we run gpt-4\nIN production", "latency p95 is 800 ms - after \"caching\"",
              "We run GPT-4 ... at Acme", "We run GPT-5 in production"]
    assert [e["found"] for e in check_evidence(quotes, TEXT)] == [True, True, True, False]


def test_a_quote_of_only_an_ellipsis_is_not_evidence() -> None:
    assert check_evidence(["..."], TEXT) == [{"quote": "...", "found": False}]


@pytest.mark.parametrize(("arguments", "message"), [
    (good(label="approved"), "label: Value error, label must be one of accept, reject, not 'approved'"),
    (good(confidence=1.5), "confidence: Input should be less than or equal to 1"),
    (good(evidence=[]), "evidence: List should have at least 1 item"),
    (good(evidence=["  "]), "evidence quotes must not be empty"),
    (good(override=True), "override: Extra inputs are not permitted"),
    ('{"label": "accept"', "arguments are not valid JSON"),
])
def test_a_verdict_outside_the_contract_is_refused_with_the_reason(arguments: object, message: str) -> None:
    with pytest.raises(VerdictError, match=message.replace("(", r"\(")):
        parse_verdict(arguments, LABELS)  # type: ignore[arg-type]


def test_a_json_string_verdict_is_parsed_and_the_schema_lists_the_task_labels() -> None:
    assert parse_verdict('{"label": "reject", "confidence": 0.2, "rationale": "r", "evidence": ["x"]}',
                         LABELS).label == "reject"
    schema = verdict_schema(("keep", "drop"))
    assert schema["properties"]["label"]["enum"] == ["keep", "drop"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"label", "confidence", "rationale", "evidence"}
