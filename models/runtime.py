"""Where and how the classifier runs: device, CPU threads, and the memory-optimised mode."""

import os

import torch
from torch import nn

from curation.settings import get_settings
from models.classifier import WindowClassifier

MEMORY_SAVER_WINDOW = 128  # shorter windows: attention memory grows with the square of their length


def device() -> str:
    """The device setting, with auto meaning a GPU when torch sees one."""
    wanted = get_settings().device
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def configure_threads() -> None:
    torch.set_num_threads(get_settings().torch_threads or os.cpu_count() or 1)


def for_inference(model: WindowClassifier) -> WindowClassifier:
    """Apply the memory-optimised mode: int8 dynamic quantisation of the linear layers on CPU
    (about 4x smaller weights) and shorter windows."""
    if not get_settings().memory_saver:
        return model
    model.config.window_tokens = min(model.config.window_tokens, MEMORY_SAVER_WINDOW)
    model.config.window_overlap = min(model.config.window_overlap, MEMORY_SAVER_WINDOW // 4)
    if model.device.type == "cpu":
        model.encoder = torch.ao.quantization.quantize_dynamic(model.encoder, {nn.Linear}, dtype=torch.qint8)
    return model
