"""Where and how the classifier runs: device, CPU threads, number format and the memory-optimised
mode."""

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


def has_bfloat16(on: str) -> bool:
    """Whether `on` computes bfloat16 natively; oneDNN's check is the one torch's own tests use."""
    if on == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()


def use_compute_dtype(model: WindowClassifier) -> WindowClassifier:
    """Run the encoder under bfloat16 autocast where the setting asks for it or the hardware has it.
    The head, the pooling and the probabilities stay float32."""
    wanted = get_settings().compute_dtype
    fast = wanted == "bfloat16" or (wanted == "auto" and has_bfloat16(model.device.type))
    model.autocast = torch.bfloat16 if fast else None
    return model


def for_inference(model: WindowClassifier) -> WindowClassifier:
    """The compute dtype, or the memory-optimised mode: int8 dynamic quantisation of the linear
    layers on CPU (about 4x smaller weights) and shorter windows."""
    if not get_settings().memory_saver:
        return use_compute_dtype(model)
    model.config.window_tokens = min(model.config.window_tokens, MEMORY_SAVER_WINDOW)
    model.config.window_overlap = min(model.config.window_overlap, MEMORY_SAVER_WINDOW // 4)
    if model.device.type == "cpu":
        model.encoder = torch.ao.quantization.quantize_dynamic(model.encoder, {nn.Linear}, dtype=torch.qint8)
        model.quantized = True
    return model
