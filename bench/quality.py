"""Classifier quality on the dev rows: `python bench/quality.py [--seeds 10]`.

Out-of-fold F1 (accept = positive) on the 60 dev rows (../shared/data/research_radar_labeled_dev.jsonl),
header stripped as import does, 5 folds grouped by canonical URL and stratified, over several
shuffles, all on the very same folds in the same run:
- ours: the shipped head (models.crossval: logistic regression on the mean of the first and last
  4 window vectors), exactly what `train` cross-validates and deploys;
- the previous head input: the same regression on the mean of all windows;
- TF-IDF (1-2 grams) + logistic regression with sklearn's default C=1, the fair baseline (an
  inner-tuned C scores lower on these rows).
Window vectors come from the same code as the embedding store (the configured base model, or
the packaged MiniLM it falls back to), computed once: they do not depend on the fold."""

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

from curation.corpus.text import split_header  # noqa: E402
from curation.corpus.urls import canonicalize_url  # noqa: E402
from models.classifier import document_vector, head_input  # noqa: E402
from models.crossval import fold_of, predict_out_of_fold  # noqa: E402
from models.embeddings import default_encoder  # noqa: E402
from models.runtime import configure_threads  # noqa: E402

DEV = next((folder / "shared" / "data" / "research_radar_labeled_dev.jsonl"
            for folder in Path(__file__).resolve().parents
            if (folder / "shared" / "data" / "research_radar_labeled_dev.jsonl").exists()), Path("missing"))


def tfidf_out_of_fold(texts: list[str], y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    predicted = np.zeros(len(y))
    for fold in np.unique(folds):
        test = folds == fold
        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
        model = LogisticRegression(max_iter=2000, class_weight="balanced")
        model.fit(vectorizer.fit_transform([t for t, keep in zip(texts, ~test, strict=True) if keep]), y[~test])
        predicted[test] = model.predict_proba(vectorizer.transform([t for t, keep in zip(texts, test, strict=True)
                                                                    if keep]))[:, 1]
    return predicted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    configure_threads()
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    texts = [split_header(r["text"])[2] for r in rows]
    y = np.array([int(r["answer"] == "accept") for r in rows], dtype=np.int8)
    groups = [canonicalize_url(r["meta"]["url"]) for r in rows]

    model = default_encoder()
    started = time.perf_counter()
    with torch.no_grad():
        windows = [model.embed_sorted([w.input_ids for w in model.windows(t)], 32) for t in texts]
    embed_seconds = time.perf_counter() - started
    ours_x = np.stack([head_input(w).numpy() for w in windows])
    mean_x = np.stack([document_vector(w).numpy() for w in windows])

    f1s: dict[str, list[float]] = {"ours": [], "mean_of_all_windows": [], "tfidf": []}
    for seed in range(args.seeds):
        folds = fold_of(y, groups, seed)
        for name, p in (("ours", predict_out_of_fold(ours_x, y, folds)),
                        ("mean_of_all_windows", predict_out_of_fold(mean_x, y, folds)),
                        ("tfidf", tfidf_out_of_fold(texts, y, folds))):
            f1s[name].append(float(f1_score(y, p >= 0.5)))
        print(f"shuffle {seed}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in f1s.items()), file=sys.stderr)
    gain = np.array(f1s["ours"]) - np.array(f1s["tfidf"])
    print(json.dumps({
        "rows": len(y), "url_groups": len(set(groups)), "folds": 5, "shuffles": args.seeds,
        "base_model": model.config.base_model, "encoder": model.encoder_identity,
        **{f"{k}_f1": round(float(np.mean(v)), 3) for k, v in f1s.items()},
        **{f"{k}_f1_std": round(float(np.std(v)), 3) for k, v in f1s.items()},
        "ours_minus_tfidf": round(float(gain.mean()), 3), "ours_minus_tfidf_std": round(float(gain.std()), 3),
        "ours_per_shuffle": [round(f, 3) for f in f1s["ours"]], "embed_seconds": round(embed_seconds, 1),
    }))


if __name__ == "__main__":
    main()
