"""Classifier quality on the dev rows: `python bench/quality.py [--seeds 3]`.

Cross-validated F1 (accept = positive) on ../shared/data/research_radar_labeled_dev.jsonl, 5 folds
grouped by canonical URL (duplicates never straddle train and test) and stratified, repeated
over a few shuffles; our classifier (the `train` code path: base encoder -> window embeddings ->
head fitted with early stopping) next to a TF-IDF + logistic regression baseline on the very same
folds, in the same run. Texts have the "Title\\n\\nURL\\n\\n" header stripped, as import does.

The frozen encoder's window embeddings do not depend on the fold, so they are computed once and
each fold fits only its head; that is the same computation `train` does, without repeating it."""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402
from transformers import set_seed  # noqa: E402

from curation.corpus.text import split_header  # noqa: E402
from curation.corpus.urls import canonicalize_url  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from models.base import load_base  # noqa: E402
from models.classifier import ClassifierConfig, WindowClassifier  # noqa: E402
from models.runtime import configure_threads, use_compute_dtype  # noqa: E402
from models.training import fit, frozen_embeddings  # noqa: E402

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "research_radar_labeled_dev.jsonl"


def tfidf_predict(train: list[str], y: list[int], test: list[str]) -> np.ndarray:
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    model = LogisticRegression(C=10, max_iter=2000, class_weight="balanced")
    model.fit(vectorizer.fit_transform(train), y)
    return model.predict(vectorizer.transform(test))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    configure_threads()
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    texts = [split_header(r["text"])[2] for r in rows]
    y = np.array([int(r["answer"] == "accept") for r in rows])
    groups = [canonicalize_url(r["meta"]["url"]) for r in rows]

    settings = get_settings()
    base = load_base()
    config = ClassifierConfig(base.name, settings.window_tokens, settings.window_overlap, "accept", "reject")
    model = use_compute_dtype(WindowClassifier(base.encoder, base.tokenizer, config))
    started = time.perf_counter()
    embeddings = frozen_embeddings(model, texts)
    embed_seconds = time.perf_counter() - started

    ours_f1, tfidf_f1 = [], []
    for seed in range(args.seeds):
        ours, baseline = np.zeros(len(y), int), np.zeros(len(y), int)
        folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
        for train, test in folds.split(texts, y, groups):
            set_seed(seed)
            model.head.reset_parameters()
            fit(model, [texts[i] for i in train], y[train].tolist(), [groups[i] for i in train],
                train_encoder=False, embeddings=[embeddings[i] for i in train])
            with torch.no_grad():
                ours[test] = [int(model.doc_logit(embeddings[i]) > 0) for i in test]
            baseline[test] = tfidf_predict([texts[i] for i in train], y[train], [texts[i] for i in test])
        ours_f1.append(f1_score(y, ours))
        tfidf_f1.append(f1_score(y, baseline))
        print(f"shuffle {seed}: ours F1 {ours_f1[-1]:.3f}, TF-IDF+LR F1 {tfidf_f1[-1]:.3f}", file=sys.stderr)
    print(json.dumps({
        "rows": len(y), "url_groups": len(set(groups)), "folds": 5, "shuffles": args.seeds,
        "base_model": base.name, "window_tokens": config.window_tokens,
        "compute_dtype": str(model.autocast or torch.float32),
        "ours_f1": round(float(np.mean(ours_f1)), 3), "ours_f1_per_shuffle": [round(f, 3) for f in ours_f1],
        "tfidf_f1": round(float(np.mean(tfidf_f1)), 3), "tfidf_f1_per_shuffle": [round(f, 3) for f in tfidf_f1],
        "ratio_ours_over_tfidf": round(float(np.mean(ours_f1) / np.mean(tfidf_f1)), 3),
        "embed_seconds": round(embed_seconds, 1),
    }))


if __name__ == "__main__":
    main()
