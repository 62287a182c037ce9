"""Labels that are likely wrong, ranked by cleanlab's find_label_issues on out-of-fold
probabilities: each current label is judged by a head that never saw it (models.crossval), so a
label the rest of the data contradicts stands out instead of being memorised. This sits beside
the Errors page's other rule (a confident active model and the LLM both disagree): that one needs
an LLM verdict, this one needs only the labels and the stored vectors."""

from dataclasses import dataclass

import numpy as np
from cleanlab.filter import find_label_issues
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import Permission
from curation.errors import LabelIssueError, ModelError
from curation.task import get_task
from curation.triage.labels import current_labels, hidden_from
from db.lookups import rows_where_in
from db.models import Item
from models.crossval import out_of_fold


@dataclass
class LabelIssue:
    id: int
    title: str | None
    label: str
    curator: str
    label_probability: float  # what a head that never saw the item gives the label it has
    reason: str


MIN_PER_LABEL = 2  # cross-validation needs each label on both sides of a split


def _check_both_kinds(session: Session) -> None:
    """Counted in SQL before anything loads an encoder: with one kind of label there is nothing
    a model could contradict."""
    labels = current_labels()
    counts = dict(session.execute(select(labels.c.label, func.count()).group_by(labels.c.label)).all())
    task = get_task()
    if min(counts.get(label, 0) for label in task.labels) < MIN_PER_LABEL:
        now = ", ".join(f"{label} {counts.get(label, 0)}" for label in task.labels)
        raise LabelIssueError(f"label issues need labels of both kinds, at least {MIN_PER_LABEL} of each, "
                              f"to learn from; the current labels are {now}. Label more items of the "
                              "missing kind first")


def label_issues(session: Session, who: HasRole, limit: int = 50) -> list[LabelIssue]:
    """Current labels cleanlab flags as likely wrong, most doubtful first; only those who may
    see (labels.hidden_from), though every label trains the heads that judge them."""
    require(who, Permission.VIEW)
    _check_both_kinds(session)
    try:
        found = out_of_fold(session)
    except ModelError as exc:
        raise LabelIssueError(f"label issues need labels of both kinds to learn from: {exc}") from exc
    y = found.y.astype(int)
    probabilities = np.column_stack([1 - found.probabilities, found.probabilities])
    ranked = find_label_issues(labels=y, pred_probs=probabilities,
                               return_indices_ranked_by="self_confidence")[:limit]
    task = get_task()
    titles = dict(rows_where_in(session, select(Item.id, Item.title).where(~hidden_from(who, Item.id)),
                                Item.id, [int(found.item_ids[i]) for i in ranked]))
    issues = []
    for i in (i for i in ranked if int(found.item_ids[i]) in titles):
        label = task.positive_label if y[i] == 1 else task.negative_label
        given = float(probabilities[i, y[i]])
        issues.append(LabelIssue(
            id=int(found.item_ids[i]), title=titles[int(found.item_ids[i])], label=label,
            curator=found.curators[i], label_probability=round(given, 3),
            reason=f"labelled {label} by {found.curators[i]}, but a model that never saw it gives "
                   f"{label} only {given:.0%}; the labels of similar items say otherwise"))
    return issues
