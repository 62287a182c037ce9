"""Training time and memory on 1,000 labels: `python bench/train.py [--n 1000] [--naive-docs 16]`.

Resamples the 60 dev rows to N labelled items (each copy made unique, so import keeps it), then
times `train()` end to end (read labels, embed every window of every document, fit the head,
cross-validated metrics, save, register) and reports wall time and peak RSS. In the same run it times
the naive way on CPU, full fine-tuning of the same encoder on the first 512 tokens of each
document, on a few documents, and extrapolates one epoch over N documents; prints the ratio.

The resampled copies share text, so the holdout F1 printed here says nothing about quality
(bench/quality.py measures that); this script measures time and memory only."""

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import torch  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

from curation.files.importing import import_file  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import reset_caches, session_scope  # noqa: E402

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "research_radar_labeled_dev.jsonl"


def resampled(n: int) -> list[dict]:
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    rng = random.Random(0)
    out = []
    for i in range(n):
        row = rng.choice(rows)
        url = f"{row['meta']['url'].split('?')[0].rstrip('/')}/copy-{i}"
        out.append({**row, "text": f"{row['text']}\n\n(copy {i})", "meta": {**row["meta"], "url": url}})
    return out


def naive_seconds_per_doc(docs: list[str], model_path: str) -> float:
    """Full fine-tuning on 512-token truncations, batch 8: seconds per document per epoch."""
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
    model.train()
    started = time.perf_counter()
    for start in range(0, len(docs), 8):
        batch = tokenizer(docs[start:start + 8], truncation=True, max_length=512, padding=True,
                          return_tensors="pt")
        loss = model(**batch, labels=torch.zeros(len(docs[start:start + 8]), dtype=torch.long)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return (time.perf_counter() - started) / len(docs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--naive-docs", type=int, default=16)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-train-"))
    os.environ.update({"CURATION_HOME": str(home), "CURATION_HUB_OFFLINE": "1"})
    os.environ.pop("CURATION_DATABASE_URL", None)
    get_settings.cache_clear()
    reset_caches()
    upgrade()
    rows = resampled(args.n)
    path = home / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with session_scope() as session:
        imported = import_file(session, path)
    print(f"imported {imported.imported} labelled rows into {home}", file=sys.stderr)

    from models.base import PACKAGED_MODEL, load_base
    from models.training import train

    started = time.perf_counter()
    result = train()
    ours = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from curation.corpus.text import split_header

    docs = [split_header(r["text"])[2] for r in rows[:args.naive_docs]]
    model_path = str(load_base(PACKAGED_MODEL).encoder.name_or_path)
    naive_epoch = naive_seconds_per_doc(docs, model_path) * args.n
    print(json.dumps({
        "labels": args.n, "base_model": result["base_model"], "threads": torch.get_num_threads(),
        "ours_seconds": round(ours, 1), "ours_peak_rss_mb": round(peak_mb),
        "naive_one_epoch_seconds_extrapolated": round(naive_epoch, 1),
        "naive_measured_on_docs": args.naive_docs,
        "ratio_naive_epoch_over_ours": round(naive_epoch / ours, 2),
    }))


if __name__ == "__main__":
    main()
