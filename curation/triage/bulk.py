"""Several items decided in one action: from search results, similar items or an item's
near-duplicates. Each item gets its own decision through the single-item decide (same role
check, lease rule, audit entry and retrain rule), and all of them share a group id so one undo
reverts the lot. An item another curator holds is refused and the rest go through."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import Permission
from curation.errors import QueueError
from curation.triage.queue import decide

MAX_ITEMS = 1000  # one action, one screenful of choices; larger batches belong in an import


@dataclass
class BulkResult:
    group_id: str
    label: str
    decided: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"group_id": self.group_id, "label": self.label, "decided": self.decided,
                "refused": [{"id": item_id, "reason": reason} for item_id, reason in self.refused.items()]}


def decide_many(session: Session, who: HasRole, item_ids: list[int], action: str, *,
                note: str | None = None) -> BulkResult:
    """Decide every item in item_ids the same way; a refused item leaves the others standing.
    Raises QueueError, writing nothing, when no item could be decided."""
    require(who, Permission.DECIDE)
    unique = list(dict.fromkeys(item_ids))
    if not unique or len(unique) > MAX_ITEMS:
        raise QueueError(f"a bulk decision takes 1 to {MAX_ITEMS} item ids, got {len(unique)}; "
                         "select some items (or split the list)")
    result = BulkResult(group_id=uuid.uuid4().hex, label=action)
    for item_id in unique:
        try:  # decide checks the action, the item and the lease before it writes anything
            decide(session, who, item_id, action, note=note).group_id = result.group_id
        except QueueError as exc:
            result.refused[item_id] = str(exc)
            continue
        result.decided.append(item_id)
    if not result.decided:
        reasons = "; ".join(dict.fromkeys(result.refused.values()))
        raise QueueError(f"none of the {len(unique)} item(s) was decided: {reasons}")
    return result
