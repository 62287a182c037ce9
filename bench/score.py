"""Scoring throughput: `python bench/score.py [--docs 40] [--modernbert-docs 3]`.

Same encoder weights (the packaged all-MiniLM-L6-v2), same texts (unlabelled rows), same run:
  ours   WindowClassifier.predict: every window of every document (the whole text), windows of
         many documents batched together, sorted by length, torch.inference_mode, in the
         product's compute dtype (bfloat16 where the CPU has it); also in float32, with
         CURATION_MEMORY_SAVER's int8 dynamic quantisation, and on only the first 512 tokens of
         each document (the naive pipeline's text, to compare the engineering alone);
  naive  a transformers text-classification pipeline, one document at a time, truncated at 512
         tokens (so it reads only the start of each document), float32.
Prints items/s and tokens/s of each and the ratios. Then times a base-sized ModernBERT built from
its config (random weights: no hub here) the same two ways on a few documents."""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    ModernBertModel,
    pipeline,
)

from curation.corpus.text import split_header  # noqa: E402
from models.base import PACKAGED_MODEL, load_base  # noqa: E402
from models.classifier import ClassifierConfig, WindowClassifier  # noqa: E402
from models.runtime import configure_threads, use_compute_dtype  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "research_radar_unlabeled.jsonl"
WINDOW, OVERLAP, BATCH = 128, 32, 32  # the defaults of CURATION_WINDOW_TOKENS/_OVERLAP/_SCORE_BATCH_SIZE


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def first_tokens(tokenizer, texts: list[str], n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Each text cut after its first n tokens: what the naive pipeline reads."""
    cut = []
    for text in texts:
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        cut.append(text[:offsets[min(n, len(offsets)) - 1][1]] if offsets else text)
    return cut


def ours_vs_naive(model: WindowClassifier, classifier, texts: list[str]) -> dict:  # type: ignore[no-untyped-def]
    tokenizer = model.tokenizer
    whole = sum(len(w.input_ids) for t in texts for w in model.windows(t))
    truncated = sum(len(tokenizer(t, truncation=True, max_length=512)["input_ids"]) for t in texts)
    naive = pipeline("text-classification", model=classifier, tokenizer=tokenizer, device="cpu")
    naive("warm up"), model.predict(["warm up"])  # first calls pay one-off setup; time neither
    naive_s = timed(lambda: [naive(t, truncation=True, max_length=512) for t in texts])
    ours_s = timed(lambda: model.predict(texts, BATCH))
    same_text = first_tokens(tokenizer, texts, 510)  # 512 with [CLS] and [SEP]
    same_text_s = timed(lambda: model.predict(same_text, BATCH))
    return {
        "docs": len(texts), "ours_seconds": round(ours_s, 2), "naive_seconds": round(naive_s, 2),
        "ours_items_per_s": round(len(texts) / ours_s, 2), "naive_items_per_s": round(len(texts) / naive_s, 2),
        "items_ratio_ours_over_naive": round(naive_s / ours_s, 2),
        "ours_tokens_read": whole, "naive_tokens_read": truncated,
        "ours_tokens_per_s": round(whole / ours_s), "naive_tokens_per_s": round(truncated / naive_s),
        "tokens_per_s_ratio": round((whole / ours_s) / (truncated / naive_s), 2),
        "ours_first_512_items_per_s": round(len(texts) / same_text_s, 2),
        "items_ratio_ours_first_512_over_naive": round(naive_s / same_text_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--modernbert-docs", type=int, default=3)
    args = parser.parse_args()
    configure_threads()
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    texts = [split_header(r["text"])[2] for r in rows][:args.docs]

    base = load_base(PACKAGED_MODEL)
    config = ClassifierConfig(PACKAGED_MODEL, WINDOW, OVERLAP, "accept", "reject")
    minilm = use_compute_dtype(WindowClassifier(base.encoder, base.tokenizer, config).eval())
    classifier = AutoModelForSequenceClassification.from_pretrained(base.encoder.name_or_path, num_labels=2)
    result = {"threads": torch.get_num_threads(), "ours_compute_dtype": str(minilm.autocast or torch.float32),
              "minilm": ours_vs_naive(minilm, classifier, texts)}
    minilm.autocast = None
    float32_s = timed(lambda: minilm.predict(texts, BATCH))
    naive_s = result["minilm"]["naive_seconds"]
    result["minilm"] |= {"ours_float32_items_per_s": round(len(texts) / float32_s, 2),
                         "items_ratio_ours_float32_over_naive": round(naive_s / float32_s, 2)}
    quantised = WindowClassifier(
        torch.ao.quantization.quantize_dynamic(base.encoder, {torch.nn.Linear}, dtype=torch.qint8),
        base.tokenizer, config).eval()
    int8_s = timed(lambda: quantised.predict(texts, BATCH))
    result["minilm"] |= {"ours_int8_seconds": round(int8_s, 2),
                         "ours_int8_items_per_s": round(len(texts) / int8_s, 2),
                         "items_ratio_ours_int8_over_naive": round(result["minilm"]["naive_seconds"] / int8_s, 2)}
    print(json.dumps(result["minilm"]), file=sys.stderr)

    tokenizer = base.tokenizer  # ModernBERT's own tokenizer needs the hub; ids fit its vocabulary
    mb_config = ModernBertConfig(pad_token_id=tokenizer.pad_token_id, cls_token_id=tokenizer.cls_token_id,
                                 sep_token_id=tokenizer.sep_token_id, num_labels=2)
    modernbert = use_compute_dtype(WindowClassifier(
        ModernBertModel(mb_config), tokenizer,
        ClassifierConfig("ModernBERT-base (config, random weights)", 512, 64, "accept", "reject")).eval())
    result["modernbert_base"] = ours_vs_naive(modernbert, ModernBertForSequenceClassification(mb_config).eval(),
                                              texts[:args.modernbert_docs])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
