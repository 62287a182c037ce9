"""Labels saved by the queue's order: `python bench/active.py [--seeds 40] [--batch 1]`.

Simulates curators on the 60 labelled dev rows. Rows are embedded once as the product stores
them (its frozen encoder, the packaged all-MiniLM-L6-v2, and its windows; header stripped): the
head is the product's recipe (logistic regression, C = models.crossval.HEAD_C, balanced classes,
on the head input: the first and last 4 windows' mean), cosines are between document vectors;
--cache DIR keeps the vectors between runs. Grouped
5-fold cross-validation by canonical URL: each fold's rows are never in the pool and only score F1.
In the pool, a seed set of --seed-labels labels (--seed-set balanced: half per class at random;
medoids: the pool rows nearest the centres of k-means, whatever their class), then --batch labels
at a time in each strategy's order, a logistic-regression head retrained after every batch:

    random        the baseline
    uncertainty   the queue's uncertainty order: closest to the 0.5 threshold first
    diverse       margin with diversity: the batch spread over k-means clusters of the
                  3 x batch most uncertain candidates, one per cluster
    density       the queue's default order: uncertainty x density, the mean cosine to the
                  unlabelled candidates (models.density, the functions the product scores with)
    committee     query by committee: the spread of P(accept) over heads fitted on bootstrap
                  resamples of the labels

Until the labels hold both classes a head cannot be fitted: the prediction is the one class seen
and every strategy but random takes the candidate farthest from the labels.

--prevalence P subsamples each pool's accepts to that share, anew per seed, and weights the
held-out rejects so that F1 on accepts is the F1 expected at that prevalence (all held-out rows
still count). --estimate prints what a head on the dev rows makes of the 100 unlabelled rows
(see `estimate`): on this stream it is no guide (README, "Label savings").

Prints, per strategy, F1 (mean over folds and seeds) against labels used, and the labels it
needs to come within 0.02 of the F1 of a head trained on the whole pool, the saving against
random with a 95% bootstrap interval over seeds (paired: every strategy sees the same seeds),
and diagnostics: picks' similarity to their nearest labelled row, share of accepts among the
first picks. Writes the learning curves to --png (plotly, drawn by headless Chromium: no
image-export package needed)."""

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)  # not bench/: bench/queue.py would shadow the stdlib queue torch imports

import torch  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import GroupKFold, cross_val_predict  # noqa: E402

from models.classifier import document_vector, head_input  # noqa: E402
from models.crossval import HEAD_C  # noqa: E402
from models.density import centre, density  # noqa: E402
from models.embeddings import default_encoder  # noqa: E402

DATA = Path("/work/shared/data")
DEV, UNLABELLED = DATA / "research_radar_labeled_dev.jsonl", DATA / "research_radar_unlabeled.jsonl"
WITHIN = 0.02
STRATEGIES = ("random", "uncertainty", "diverse", "density", "committee")
COMMITTEE = 8
BOOTSTRAP = 2000
EARLY = 12  # picks after the seed set whose class balance and redundancy are reported


def load_rows(path: Path) -> tuple[list[str], np.ndarray | None, list[str]]:
    from curation.corpus.text import split_header
    from curation.corpus.urls import canonicalize_url

    rows = [json.loads(line) for line in path.open() if line.strip()]
    texts = [split_header(r["text"])[2] for r in rows]
    y = np.array([r["answer"] == "accept" for r in rows], dtype=int) if "answer" in rows[0] else None
    groups = [canonicalize_url(r["meta"]["url"]) for r in rows]
    return texts, y, groups


def embed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(document vectors, head inputs) per text, as the product stores them: its frozen encoder
    and windows (models.embeddings), its pooling (models.classifier)."""
    model = default_encoder()
    documents, heads = [], []
    with torch.inference_mode():
        for text in texts:
            windows = model.embed_sorted([w.input_ids for w in model.windows(text)], 32).cpu()
            documents.append(document_vector(windows).numpy())
            heads.append(head_input(windows).numpy())
    return np.stack(documents), np.stack(heads)


def cached_embed(texts: list[str], cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Embedding is most of a run's time; the cache is keyed by the texts, so it cannot go stale."""
    if cache is None:
        return embed(texts)
    identity = default_encoder().encoder_identity  # the encoder's weights and windows
    key = hashlib.sha256(json.dumps([texts, identity, "document+head"]).encode()).hexdigest()[:16]
    path = cache / f"active-{key}.npz"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        documents, heads = embed(texts)
        np.savez(path, documents=documents, heads=heads)
    stored = np.load(path)
    return stored["documents"], stored["heads"]


class Constant:
    """What a curator's labels of one class predict: that class."""

    def __init__(self, label: int) -> None:
        self.label = label

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.label)


def fitter(c: float) -> Callable[[np.ndarray, np.ndarray], LogisticRegression | Constant]:
    def fit(x: np.ndarray, y: np.ndarray) -> LogisticRegression | Constant:
        if len(set(y.tolist())) < 2:
            return Constant(int(y[0]))
        return LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)
    return fit


def nearest_similarity(x: np.ndarray, rows: list[int], labelled: list[int]) -> np.ndarray:
    return (x[rows] @ x[labelled].T).max(axis=1)


def uncertainty(model: LogisticRegression, h: np.ndarray, candidates: list[int]) -> np.ndarray:
    """1 at the 0.5 threshold, 0 at certainty."""
    return 1 - 2 * np.abs(model.predict_proba(h[candidates])[:, 1] - 0.5)


def committee_spread(fit: Callable, h: np.ndarray, y: np.ndarray, labelled: list[int], candidates: list[int],
                     rng: np.random.Generator) -> np.ndarray:
    """Std of P(accept) over heads on bootstrap resamples (each class resampled within itself)."""
    by_class = [np.array([i for i in labelled if y[i] == c]) for c in (0, 1)]
    probabilities = []
    for _ in range(COMMITTEE):
        sample = np.concatenate([rng.choice(rows, len(rows)) for rows in by_class])
        probabilities.append(fit(h[sample], y[sample]).predict_proba(h[candidates])[:, 1])
    return np.std(probabilities, axis=0)


def diverse(model: LogisticRegression, h: np.ndarray, x: np.ndarray, candidates: list[int], k: int) -> list[int]:
    """The most uncertain candidate of each k-means cluster of the 3k most uncertain."""
    ranked = [candidates[i] for i in np.argsort(-uncertainty(model, h, candidates), kind="stable")]
    shortlist = ranked[: 3 * k]
    clusters = KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(x[shortlist])
    return [next(c for c, label in zip(shortlist, clusters, strict=True) if label == cluster)
            for cluster in range(k)]


def pick(strategy: str, model: LogisticRegression | Constant, fit: Callable, h: np.ndarray, x: np.ndarray,
         y: np.ndarray, labelled: list[int], candidates: list[int], k: int, rng: np.random.Generator) -> list[int]:
    """The next k rows: h are the head inputs the head reads, x the document vectors cosines use."""
    if strategy == "random" or len(candidates) <= k:
        return [int(i) for i in rng.permutation(candidates)[:k]]
    if isinstance(model, Constant):  # no boundary yet: explore, farthest from the labels first
        order = np.argsort(nearest_similarity(x, candidates, labelled), kind="stable")
        return [candidates[i] for i in order[:k]]
    if strategy == "diverse":
        return diverse(model, h, x, candidates, k)
    if strategy == "uncertainty":
        score = uncertainty(model, h, candidates)
    elif strategy == "density":
        score = uncertainty(model, h, candidates) * density(x[candidates], centre(x[candidates]))
    else:
        score = committee_spread(fit, h, y, labelled, candidates, rng)
    return [candidates[i] for i in np.argsort(-score, kind="stable")[:k]]


def seed_set(how: str, x: np.ndarray, y: np.ndarray, pool: np.ndarray, n: int, rng: np.random.Generator) -> list[int]:
    if how == "balanced":
        return [int(i) for c in (0, 1) for i in rng.permutation(pool[y[pool] == c])[: n // 2]]
    centres = KMeans(n_clusters=n, n_init=3, random_state=int(rng.integers(1 << 31))).fit(x[pool]).cluster_centers_
    chosen: list[int] = []
    for middle in centres:  # the nearest row not yet chosen, so the seed set has n rows
        chosen.append(next(int(pool[i]) for i in np.argsort(-(x[pool] @ middle)) if int(pool[i]) not in chosen))
    return chosen


def subsample(y: np.ndarray, pool: np.ndarray, prevalence: float, rng: np.random.Generator) -> np.ndarray:
    """The pool's accepts cut to `prevalence`, all its rejects kept."""
    if prevalence >= 0.5:
        return pool
    rejects, accepts = pool[y[pool] == 0], pool[y[pool] == 1]
    keep = max(2, round(prevalence / (1 - prevalence) * len(rejects)))
    return np.sort(np.concatenate([rejects, rng.permutation(accepts)[:keep]]))


def test_weights(y: np.ndarray, test: np.ndarray, prevalence: float) -> np.ndarray:
    """Rejects weighted so the held-out rows stand for a stream with `prevalence` accepts."""
    positives, negatives = int(y[test].sum()), int((1 - y[test]).sum())
    reject_weight = (1 - prevalence) / prevalence * positives / negatives if prevalence < 0.5 else 1.0
    return np.where(y[test] == 1, 1.0, reject_weight)


def curve(strategy: str, args: argparse.Namespace, h: np.ndarray, x: np.ndarray, y: np.ndarray, pool: np.ndarray,
          test: np.ndarray, seed: int) -> tuple[list[float], list[float], float]:
    """F1 after the seed set and after each batch; similarity of the early picks to the labels; their accept share."""
    rng = np.random.default_rng(seed)
    pool = subsample(y, pool, args.prevalence, rng)
    weights = test_weights(y, test, args.prevalence)
    fit = fitter(args.c)
    labelled = seed_set(args.seed_set, x, y, pool, args.seed_labels, rng)
    scores, redundancy, early = [], [], []
    while True:
        model = fit(h[labelled], y[labelled])
        scores.append(f1_score(y[test], model.predict(h[test]), sample_weight=weights, zero_division=0))
        taken = set(labelled)
        rest = [int(i) for i in pool if i not in taken]
        if not rest:
            return scores, redundancy, float(np.mean(early))
        batch = pick(strategy, model, fit, h, x, y, labelled, rest, args.batch, rng)
        if len(early) < EARLY:
            redundancy.extend(nearest_similarity(x, batch, labelled).tolist())
            early.extend(y[batch].tolist())
        labelled += batch


def needed(curve_f1: np.ndarray, sizes: list[int], target: float) -> int:
    return next((n for n, f1 in zip(sizes, curve_f1, strict=True) if f1 >= target), sizes[-1])


def bootstrap(runs: dict[str, np.ndarray], sizes: list[int], target: float,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Labels needed per strategy over seeds resampled with replacement, the same seeds for all."""
    seeds = next(iter(runs.values())).shape[0]
    draws = rng.integers(seeds, size=(BOOTSTRAP, seeds))
    return {s: np.array([needed(per_seed[d].mean(axis=0), sizes, target) for d in draws])
            for s, per_seed in runs.items()}


def estimate(x_dev: np.ndarray, y: np.ndarray, groups: list[str], x_new: np.ndarray, c: float) -> dict[str, float]:
    """Share of accepts among the unlabelled rows: classify-and-count corrected by the head's
    cross-validated true and false positive rates (adjusted count), and the mean P(accept)."""
    fit = fitter(c)
    predicted = cross_val_predict(LogisticRegression(C=c, max_iter=2000, class_weight="balanced"),
                                  x_dev, y, groups=groups, cv=GroupKFold(n_splits=5))
    tpr, fpr = predicted[y == 1].mean(), predicted[y == 0].mean()
    model = fit(x_dev, y)
    counted = float(model.predict(x_new).mean())
    adjusted = float(np.clip((counted - fpr) / (tpr - fpr), 0.01, 0.99))
    return {"classify_count": counted, "tpr": float(tpr), "fpr": float(fpr), "adjusted": adjusted,
            "mean_probability": float(model.predict_proba(x_new)[:, 1].mean())}


def report(runs: dict[str, np.ndarray], sizes: list[int], target: float, seed: int) -> dict[str, dict]:
    """Labels needed (mean curve), its 95% bootstrap interval, and the paired saving against random."""
    boot = bootstrap(runs, sizes, target, np.random.default_rng(seed))
    out = {}
    for strategy, per_seed in runs.items():
        saving = 1 - boot[strategy] / boot["random"]
        out[strategy] = {
            "labels": needed(per_seed.mean(axis=0), sizes, target),
            "labels_ci": np.percentile(boot[strategy], [2.5, 97.5]).tolist(),
            "saving_ci": np.percentile(saving, [2.5, 97.5]).round(3).tolist(),
            "p_saving_30": float((saving >= 0.3).mean()),
            "mean_f1_gain": float((per_seed - runs["random"]).mean()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--seed-labels", type=int, default=4)
    parser.add_argument("--seed-set", choices=("balanced", "medoids"), default="balanced")
    parser.add_argument("--batch", type=int, default=1, help="labels between refits (the product refits after each)")
    parser.add_argument("--c", type=float, default=HEAD_C, help="inverse regularisation of the head (the product's by default)")
    parser.add_argument("--prevalence", type=float, default=0.5, help="share of accepts in the pool (<= 0.5)")
    parser.add_argument("--estimate", action="store_true", help="print the head's estimate of the stream's prevalence")
    parser.add_argument("--strategies", default="random,uncertainty,density",
                        help=f"comma-separated, of {', '.join(STRATEGIES)} (the default: the queue's orders and the baseline)")
    parser.add_argument("--cache", type=Path, help="folder for the embedded vectors (not committed)")
    parser.add_argument("--png", type=Path, default=REPO / "bench" / "active_curves.png")
    args = parser.parse_args()
    texts, y, groups = load_rows(DEV)
    x, h = cached_embed(texts, args.cache)
    print(f"embedded {len(texts)} rows ({int(y.sum())} accept) into {x.shape[1]} dimensions", file=sys.stderr)
    if args.estimate:
        found = estimate(h, y, groups, cached_embed(load_rows(UNLABELLED)[0], args.cache)[1], args.c)
        print("prevalence of the unlabelled rows, by the head: " + json.dumps({k: round(v, 3) for k, v in found.items()}))
    folds = list(GroupKFold(n_splits=5).split(x, y, groups))
    strategies = args.strategies.split(",")
    runs, redundancy, accepts, ends = {}, {}, {}, []
    for strategy in strategies:
        results = [[curve(strategy, args, h, x, y, pool, test, seed) for pool, test in folds] for seed in range(args.seeds)]
        shortest = min(len(r[0]) for per_seed in results for r in per_seed)
        runs[strategy] = np.array([np.mean([r[0][:shortest] for r in per_seed], axis=0) for per_seed in results])
        redundancy[strategy] = float(np.mean([v for per_seed in results for r in per_seed for v in r[1]]))
        accepts[strategy] = float(np.mean([r[2] for per_seed in results for r in per_seed]))
        ends += [r[0][-1] for per_seed in results for r in per_seed]
    sizes = [args.seed_labels + args.batch * i for i in range(shortest)]
    full = float(np.mean(ends))  # each run's whole pool: subsampled pools differ in size
    target = full - WITHIN
    print(f"pool {sizes[-1]}+ rows, prevalence {args.prevalence:.2f}, seed set {args.seed_set}, C {args.c}, "
          f"{args.seeds} seeds x 5 folds, batch {args.batch}; full-pool F1 {full:.3f}, target {target:.3f}")
    figures = report(runs, sizes, target, seed=1)
    for strategy, f1 in runs.items():
        mean = f1.mean(axis=0)
        row = figures[strategy]
        print(f"{strategy:>12}: " + " ".join(f"{n}:{s:.2f}" for n, s in zip(sizes, mean, strict=True)))
        print(f"{'':>12}  labels {row['labels']} (95% CI {row['labels_ci'][0]:.0f}-{row['labels_ci'][1]:.0f}); "
              f"saving vs random CI {row['saving_ci'][0]:+.0%}..{row['saving_ci'][1]:+.0%}, "
              f"P(saving >= 30%) {row['p_saving_30']:.2f}; mean F1 gain {row['mean_f1_gain']:+.3f}; "
              f"early picks: nearest-labelled cosine {redundancy[strategy]:.3f}, accepts {accepts[strategy]:.2f}")
    print(json.dumps({"full_f1": full, "target": target, "prevalence": args.prevalence, "sizes": sizes,
                      **{s: {**figures[s], "saving": 1 - figures[s]["labels"] / figures["random"]["labels"]}
                         for s in strategies}}))
    draw({s: f1.mean(axis=0) for s, f1 in runs.items()}, sizes, full, args)
    print(f"learning curves: {args.png}", file=sys.stderr)


def draw(curves: dict[str, np.ndarray], sizes: list[int], full: float, args: argparse.Namespace) -> None:
    import plotly.graph_objects as go

    from bench.pages import browser

    figure = go.Figure([go.Scatter(x=sizes, y=f1, name=name, mode="lines+markers") for name, f1 in curves.items()])
    figure.add_hline(y=full - WITHIN, line_dash="dot", annotation_text=f"full-pool F1 - {WITHIN}")
    figure.update_layout(title=f"Active learning on the dev rows (grouped 5-fold, mean of {args.seeds} seeds, "
                               f"batch {args.batch}, prevalence {args.prevalence:.2f})", margin={"t": 60},
                         xaxis_title="labels", yaxis_title="F1 on held-out rows", width=860, height=520)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "curves.html"
        figure.write_html(page, include_plotlyjs=True)
        driver = browser()
        try:
            driver.set_window_size(1000, 800)
            driver.get(page.as_uri())
            driver.save_screenshot(str(args.png))
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
