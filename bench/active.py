"""Labels saved by the queue's order: `python bench/active.py [--seeds 5] [--batch 4]`.

Simulates curators on the 60 labelled dev rows. Rows are embedded once with the packaged
all-MiniLM-L6-v2 (mean of 128-token windows over the whole text, header stripped, as the
classifier's frozen-encoder head sees it). Grouped 5-fold cross-validation by canonical URL:
each fold's rows are never in the pool and only score F1. In the pool, a seed set of
--seed-labels labels (half per class), then --batch labels at a time in each strategy's order,
a logistic-regression head retrained after every batch:

    random        the baseline
    uncertainty   the product queue's order: closest to the 0.5 threshold first
    diverse       margin with diversity: the batch spread over k-means clusters of the
                  3 x batch most uncertain candidates, one per cluster

Prints, per strategy, F1 (mean over folds and seeds) against labels used, and the labels it
needs to come within 0.02 of the F1 of a head trained on the whole pool, and the saving against
random. Writes the learning curves to bench/active_curves.png (plotly, drawn by headless
Chromium: no image-export package needed)."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

DEV = Path("/work/shared/data/research_radar_labeled_dev.jsonl")
WINDOW, OVERLAP = 128, 32  # the classifier's defaults (CURATION_WINDOW_TOKENS, _OVERLAP)
WITHIN = 0.02
STRATEGIES = ("random", "uncertainty", "diverse")


def load_rows() -> tuple[list[str], np.ndarray, list[str]]:
    from curation.corpus.text import split_header
    from curation.corpus.urls import canonicalize_url

    rows = [json.loads(line) for line in DEV.open()]
    texts = [split_header(r["text"])[2] for r in rows]
    y = np.array([r["answer"] == "accept" for r in rows], dtype=int)
    groups = [canonicalize_url(r["meta"]["url"]) for r in rows]
    return texts, y, groups


def embed(texts: list[str]) -> np.ndarray:
    """Mean of L2-normalised mean-pooled window vectors per document."""
    import torch

    from models.base import packaged_encoder
    from models.windows import split_windows

    base = packaged_encoder()
    base.encoder.eval()
    vectors = []
    with torch.inference_mode():
        for text in texts:
            windows = split_windows(base.tokenizer, text, WINDOW, OVERLAP)
            batch = base.tokenizer.pad({"input_ids": [w.input_ids for w in windows]}, return_tensors="pt")
            hidden = base.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1)
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            vectors.append(pooled.mean(0).numpy())
    return np.stack(vectors)


def fit(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced").fit(x, y)


def pick(strategy: str, model: LogisticRegression, x: np.ndarray, candidates: list[int], k: int,
         rng: np.random.Generator) -> list[int]:
    if strategy == "random" or len(candidates) <= k:
        return list(rng.permutation(candidates)[:k])
    margin = np.abs(model.predict_proba(x[candidates])[:, 1] - 0.5)
    ranked = [candidates[i] for i in np.argsort(margin, kind="stable")]
    if strategy == "uncertainty":
        return ranked[:k]
    shortlist = ranked[: 3 * k]
    clusters = KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(x[shortlist])
    chosen = [next(c for c, label in zip(shortlist, clusters, strict=True) if label == cluster)
              for cluster in range(k)]  # the most uncertain of each cluster
    return chosen


def curve(strategy: str, x: np.ndarray, y: np.ndarray, pool: np.ndarray, test: np.ndarray,
          seed: int, seed_labels: int, batch: int) -> list[float]:
    rng = np.random.default_rng(seed)
    labelled = [int(i) for c in (0, 1) for i in rng.permutation(pool[y[pool] == c])[: seed_labels // 2]]
    scores = []
    while True:
        model = fit(x[labelled], y[labelled])
        scores.append(f1_score(y[test], model.predict(x[test]), zero_division=0))
        rest = [int(i) for i in pool if i not in set(labelled)]
        if not rest:
            return scores
        labelled += pick(strategy, model, x, rest, batch, rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-labels", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--png", type=Path, default=REPO / "bench" / "active_curves.png")
    args = parser.parse_args()
    texts, y, groups = load_rows()
    x = embed(texts)
    print(f"embedded {len(texts)} rows ({int(y.sum())} accept) into {x.shape[1]} dimensions", file=sys.stderr)
    folds = list(GroupKFold(n_splits=5).split(x, y, groups))
    full = float(np.mean([f1_score(y[test], fit(x[pool], y[pool]).predict(x[test])) for pool, test in folds]))
    curves = {}
    for strategy in STRATEGIES:
        runs = [curve(strategy, x, y, pool, test, seed, args.seed_labels, args.batch)
                for seed in range(args.seeds) for pool, test in folds]
        shortest = min(map(len, runs))
        curves[strategy] = np.mean([r[:shortest] for r in runs], axis=0)
    sizes = [args.seed_labels + args.batch * i for i in range(len(next(iter(curves.values()))))]
    print(f"full-pool F1 {full:.3f} (grouped 5-fold; target: within {WITHIN})")
    needed = {}
    for strategy, f1 in curves.items():
        reached = next((n for n, score in zip(sizes, f1, strict=True) if score >= full - WITHIN), None)
        needed[strategy] = reached
        print(f"{strategy:>12}: " + " ".join(f"{n}:{s:.2f}" for n, s in zip(sizes, f1, strict=True))
              + f" | labels to reach {full - WITHIN:.3f}: {reached}")
    for strategy in STRATEGIES[1:]:
        if needed[strategy] and needed["random"]:
            print(f"{strategy} needs {1 - needed[strategy] / needed['random']:.0%} fewer labels than random")
    draw(curves, sizes, full, args.png)
    print(f"learning curves: {args.png}", file=sys.stderr)


def draw(curves: dict[str, np.ndarray], sizes: list[int], full: float, png: Path) -> None:
    import tempfile

    import plotly.graph_objects as go

    from bench.pages import browser

    figure = go.Figure([go.Scatter(x=sizes, y=f1, name=name, mode="lines+markers") for name, f1 in curves.items()])
    figure.add_hline(y=full - WITHIN, line_dash="dot", annotation_text=f"full-pool F1 - {WITHIN}")
    figure.update_layout(title="Active learning on the dev rows (grouped 5-fold, mean of seeds)", margin={"t": 60},
                         xaxis_title="labels", yaxis_title="F1 on held-out rows", width=860, height=520)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "curves.html"
        figure.write_html(page, include_plotlyjs=True)
        driver = browser()
        try:
            driver.set_window_size(1000, 800)
            driver.get(page.as_uri())
            driver.save_screenshot(str(png))
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
