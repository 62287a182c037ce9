"""Split a long document into overlapping token windows. Most articles are far longer than a
model's input and the deciding evidence is often late, so every part of the text gets a window;
the character span of each window is kept so the one that drove a score can be shown."""

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Window:
    input_ids: list[int]  # with the model's [CLS] ... [SEP] around it
    start: int  # character span of the window in the text
    end: int


def split_windows(tokenizer: PreTrainedTokenizerBase, text: str, size: int, overlap: int) -> list[Window]:
    """Windows of at most `size` tokens (special tokens included) sharing `overlap` tokens."""
    prefix = [tokenizer.cls_token_id] if tokenizer.cls_token_id is not None else []
    suffix = [tokenizer.sep_token_id] if tokenizer.sep_token_id is not None else []
    body = size - len(prefix) - len(suffix)
    step = max(1, body - overlap)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    windows = []
    for first in range(0, max(len(ids), 1), step):
        last = min(first + body, len(ids))
        span = (offsets[first][0], offsets[last - 1][1]) if ids else (0, 0)
        windows.append(Window(prefix + ids[first:last] + suffix, *span))
        if last >= len(ids):
            break
    return windows
