import pytest

from curation.triage.agreement import cohen_kappa


def _table(both_yes: int, yes_no: int, no_yes: int, both_no: int) -> list[tuple[str, str]]:
    return ([("yes", "yes")] * both_yes + [("yes", "no")] * yes_no + [("no", "yes")] * no_yes
            + [("no", "no")] * both_no)


def test_kappa_of_the_textbook_table_is_0_4() -> None:
    # 50 items: observed agreement 0.7, chance 0.5*0.6 + 0.5*0.4 = 0.5, so kappa = 0.2 / 0.5.
    assert cohen_kappa(_table(20, 5, 10, 15)) == pytest.approx(0.4)


def test_kappa_is_1_when_raters_agree_and_negative_when_they_mostly_differ() -> None:
    assert cohen_kappa(_table(10, 0, 0, 10)) == pytest.approx(1.0)
    assert cohen_kappa(_table(0, 10, 10, 0)) == pytest.approx(-1.0)


def test_kappa_is_undefined_without_items_or_when_both_always_say_the_same() -> None:
    assert cohen_kappa([]) is None
    assert cohen_kappa(_table(7, 0, 0, 0)) is None
