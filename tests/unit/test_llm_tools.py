import pytest

from curation.errors import BudgetExceeded, ConfigError
from curation.llm.pricing import Budget, Tokens, cost_usd, price_of
from curation.llm.prompt import load_prompt
from curation.llm.tools import Document, ToolError, outline, read_section, run_tool, search
from curation.task import Task

LONG = "\n\n".join(f"Paragraph {i}. " + "filler " * 60 for i in range(12))
LONG += "\n\n## Results\n\nLatency fell 40%."


def test_a_long_document_is_split_into_sections_the_outline_lists() -> None:
    doc = Document(LONG, {"title": "T"})
    assert len(doc.sections) > 3 and doc.sections[-1].startswith("## Results")
    lines = outline(doc).splitlines()
    assert len(lines) == len(doc.sections) and lines[-1].startswith(f"{len(doc.sections)}. (")


def test_search_finds_a_phrase_across_line_breaks_with_its_section() -> None:
    doc = Document(LONG)
    assert f"[section {len(doc.sections)}]" in search(doc, "latency   FELL")
    assert search(doc, "kubernetes") == "no match for 'kubernetes'"


def test_bad_tool_calls_become_observations_the_model_can_correct() -> None:
    doc = Document("one section")
    with pytest.raises(ToolError, match=r"^section 9 does not exist; sections are 1 to 1$"):
        run_tool(doc, "read_section", {"number": 9})
    with pytest.raises(ToolError, match=r"^bad arguments for read_section: invalid literal"):
        run_tool(doc, "read_section", {"number": "x"})
    with pytest.raises(ToolError, match=r"^bad arguments for search_document: KeyError\('phrase'\)"):
        run_tool(doc, "search_document", {})
    with pytest.raises(ToolError, match=r"^unknown tool 'delete_everything'; use one of search_document"):
        run_tool(doc, "delete_everything", {})
    assert run_tool(doc, "read_metadata", {}) == "{}"


def test_cost_uses_the_price_table_and_unknown_models_are_refused() -> None:
    price = price_of("anthropic", "m", {"m": [3.0, 15.0]})
    assert cost_usd(price, Tokens(input=1_000_000, output=100_000)) == pytest.approx(4.5)
    with pytest.raises(ConfigError, match=r"no price for anthropic model 'x-unknown' in genai-prices"):
        price_of("anthropic", "x-unknown", {"m": [1.0, 1.0]})


def test_the_budget_refuses_calls_once_the_cap_is_reached() -> None:
    budget = Budget(0.01)
    budget.check()
    budget.charge(0.01)
    with pytest.raises(BudgetExceeded, match=r"spending cap of \$0.01 reached"):
        budget.check()


def test_the_prompt_version_changes_with_the_guideline() -> None:
    task = Task(name="t", question="q?", positive_label="keep", negative_label="drop", guideline="a")
    first = load_prompt("v1", task).version
    assert first.startswith("v1-") and load_prompt("v1", task).version == first
    assert load_prompt("v1", task.model_copy(update={"guideline": "b"})).version != first
    with pytest.raises(ConfigError, match="prompt 'v9'.*set CURATION_LLM_PROMPT_VERSION to one of v1"):
        load_prompt("v9", task)


def test_text_without_blank_lines_or_line_breaks_still_gets_readable_sections() -> None:
    """Extracted articles often come as one long line; the end must stay reachable by section."""
    text = " ".join(f"Sentence {i} about the rollout." for i in range(400))
    text += "\nFinal metric: 40% fewer errors."
    doc = Document(text)
    assert len(doc.sections) > 5 and all(len(s) <= 1600 for s in doc.sections)
    assert " ".join(" ".join(doc.sections).split()) == " ".join(text.split())
    assert read_section(doc, len(doc.sections)).endswith("Final metric: 40% fewer errors.")
