"""How far curators agree: per pair and overall, percent agreement and Cohen's kappa over the
items both decided (the overlap, CURATION_OVERLAP), and per curator their pace and how often
they match the final label. The Activity page and `python -m curation agreement --curators`.

Each curator's label on an item is their vote there (labels.curator_decision: their latest
standing decision); leads' adjudications are the final word, not a vote, so they are left out."""

import statistics
from collections import Counter
from itertools import combinations
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import IMPORT_CURATOR, Permission
from curation.triage.activity import seconds_by_curator
from curation.triage.labels import curator_decision, current_labels
from db.models import Decision


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items: (observed - chance) agreement over
    (1 - chance). None when it is undefined: no items, or both raters always used one label."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(first[label] * second[label] for label in first) / (n * n)
    return None if chance == 1 else (observed - chance) / (1 - chance)


def curator_agreement(session: Session, who: HasRole) -> dict[str, Any]:
    """{"overall": {...}, "pairs": [{"curators", "n", "percent", "kappa"}], "curators": [...]}."""
    require(who, Permission.VIEW)
    labels = _labels_by_item(session)
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for by_curator in labels.values():
        for a, b in combinations(sorted(by_curator), 2):
            by_pair.setdefault((a, b), []).append((by_curator[a], by_curator[b]))
    pooled = [pair for pairs in by_pair.values() for pair in pairs]
    return {
        "overall": _summary(pooled),
        "pairs": [{"curators": list(pair), **_summary(pairs)} for pair, pairs in sorted(by_pair.items())],
        "curators": _per_curator(session, labels),
    }


def _summary(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    n = len(pairs)
    return {"n": n, "percent": 100 * sum(a == b for a, b in pairs) / n if n else None,
            "kappa": cohen_kappa(pairs)}


def _labels_by_item(session: Session) -> dict[int, dict[str, str]]:
    """{item: {curator: their vote}} for items two or more curators decided."""
    vote = curator_decision(Decision) & (Decision.curator != IMPORT_CURATOR)
    shared = (select(Decision.item_id).where(vote).group_by(Decision.item_id)
              .having(func.count(func.distinct(Decision.curator)) > 1))
    rows = session.execute(select(Decision.item_id, Decision.curator, Decision.label)
                           .where(Decision.item_id.in_(shared), vote))
    labels: dict[int, dict[str, str]] = {}
    for item_id, curator, label in rows:
        labels.setdefault(item_id, {})[curator] = label
    return labels


def _per_curator(session: Session, shared: dict[int, dict[str, str]]) -> list[dict[str, Any]]:
    """Pace (decisions per hour of triage time, seconds per decision: median and the spread
    between the 25th and 75th percentile) and agreement with the final label on shared items."""
    final = current_labels()
    finals = dict(session.execute(select(final.c.item_id, final.c.label)
                                  .where(final.c.item_id.in_(list(shared)))).all()) if shared else {}
    seconds = seconds_by_curator(session, Decision.undone_at.is_(None), ~Decision.adjudicated)
    names = sorted(set(seconds) | {c for by_curator in shared.values() for c in by_curator})
    report = []
    for name in names:
        times = seconds.get(name, [])
        matches = [label == finals[item] for item, by_curator in shared.items()
                   if (label := by_curator.get(name)) is not None and item in finals]
        quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [None, None, None]
        report.append({
            "curator": name,
            "decisions_per_hour": 3600 * len(times) / sum(times) if times and sum(times) else None,
            "median_s": statistics.median(times) if times else None,
            "p25_s": quartiles[0], "p75_s": quartiles[2],
            "n_final": len(matches),
            "agrees_with_final": sum(matches) / len(matches) if matches else None,
        })
    return report
