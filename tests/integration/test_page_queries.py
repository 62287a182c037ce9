"""What the pages aggregate in SQL so they draw fast at 100k items."""

from db.session import session_scope
from models.registry import score_histogram
from tests.factories import add_active_model, add_items


def test_score_histogram_counts_each_bin_including_both_ends(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 5)
        version = add_active_model(session, dict(zip(ids, [0.0, 0.04, 0.51, 0.99, 1.0], strict=True)))
        bins = score_histogram(session, version, bins=10)
    assert [b["items"] for b in bins] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert (bins[0]["from"], bins[-1]["to"]) == (0.0, 1.0)
