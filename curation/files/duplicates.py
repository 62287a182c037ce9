"""What a duplicate row adds to the item it duplicates. A row whose canonical URL or content hash
is already taken, by an earlier line of the file or by a stored item, is no new item, but it is
not thrown away either: its label becomes a decision by the import curator (unless the item
already carries that label), its text fills in an item stored without text, and the import
reports per line what happened. Two labels for one item are a conflict: an error naming both,
unless the import says how to resolve it (OnConflict)."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.enums import FetchStatus, OnConflict
from curation.triage.labels import stands
from db.lookups import rows_where_in
from db.models import Decision, Item

TEXT_FIELDS = ("text", "content_hash", "fetch_status")


@dataclass
class Target:
    """One item the file's rows land on: new (created by the row at first_line) or stored."""

    item_id: int | None
    first_line: int | None = None
    record: dict[str, Any] | None = None
    has_text: bool = True
    current: str | None = None  # a stored item's current label
    votes: list[tuple[int, str]] = field(default_factory=list)  # (line, label) from the file
    label: str | None = None  # resolved: the label this import records
    label_line: int | None = None
    fill: dict[str, Any] | None = None  # a stored item's missing text, from a row
    conflicted: bool = False  # the rows (or the stored label) disagreed
    skipped: bool = False  # conflicting labels left alone (OnConflict.SKIP)

    def name(self) -> str:
        return f"item {self.item_id}" if self.item_id else f"the item of line {self.first_line}"


@dataclass
class Duplicate:
    line: int
    target: Target
    why: str  # "same URL as line 3", "same text as the stored item"
    answer: str | None
    filled: bool


@dataclass
class Plan:
    new: list[Target] = field(default_factory=list)
    stored: list[Target] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)


def plan_rows(session: Session, records: list[tuple[int, dict[str, Any], str | None]]) -> Plan:
    """Map each (line, record, answer) to a new or a stored item, in file order."""
    by_url, by_hash = _stored(session, {r["canonical_url"] for _, r, _ in records if r["canonical_url"]},
                              {r["content_hash"] for _, r, _ in records if r["content_hash"]})
    plan = Plan(stored=list({id(t): t for t in [*by_url.values(), *by_hash.values()]}.values()))
    for line, record, answer in records:
        url, digest = record["canonical_url"], record["content_hash"]
        target = by_url.get(url) if url else None
        why = "same URL"
        if target is None and digest:
            target, why = by_hash.get(digest), "same text"
        if target is None:
            target = Target(item_id=None, first_line=line, record=record, has_text=digest is not None)
            plan.new.append(target)
        else:
            source = f"line {target.first_line}" if target.first_line else "the stored item"
            filled = _fill(target, record, by_hash)
            plan.duplicates.append(Duplicate(line, target, f"{why} as {source}", answer, filled))
        if url:
            by_url.setdefault(url, target)
        if digest:
            by_hash.setdefault(digest, target)
        if answer is not None:
            target.votes.append((line, answer))
    return plan


def _fill(target: Target, record: dict[str, Any], by_hash: dict[str, Target]) -> bool:
    """Give an item without text this row's text, unless another item already has that text."""
    digest = record["content_hash"]
    if target.has_text or digest is None or digest in by_hash:
        return False
    text = {name: record[name] for name in TEXT_FIELDS} | {"fetch_status": FetchStatus.OK.value}
    if target.record is not None:
        target.record |= text
    else:
        target.fill = text | {"fetch_error": None}
    target.has_text = True
    return True


def _stored(session: Session, urls: set[str],
            hashes: set[str]) -> tuple[dict[str, Target], dict[str, Target]]:
    """Stored items with these URLs or hashes, one Target each, with their current labels. Only
    items a row duplicates are read, so a file of new rows costs two index look-ups per chunk."""
    targets: dict[int, Target] = {}
    with_text = select(Item.canonical_url, Item.id, Item.text.is_not(None))
    by_url = {url: targets.setdefault(item_id, Target(item_id, has_text=has_text))
              for url, item_id, has_text in rows_where_in(session, with_text, Item.canonical_url, urls)}
    by_hash = {digest: targets.setdefault(item_id, Target(item_id))
               for digest, item_id in rows_where_in(
                   session, select(Item.content_hash, Item.id), Item.content_hash, hashes)}
    query = select(Decision.item_id, Decision.label).where(stands(Decision)).order_by(Decision.id)
    for item_id, label in rows_where_in(session, query, Decision.item_id, targets):
        targets[item_id].current = label  # ordered by id: the latest standing decision wins
    return by_url, by_hash


def resolve(plan: Plan, on_conflict: OnConflict | None) -> list[str]:
    """Decide each item's label; returns the conflicts left when on_conflict is None."""
    conflicts = []
    for target in [*plan.new, *plan.stored]:
        if not target.votes:
            continue
        labels = {label for _, label in target.votes} | ({target.current} if target.current else set())
        target.conflicted = len(labels) > 1
        if target.conflicted and on_conflict is None:
            conflicts.append(_describe_conflict(target))
        elif target.conflicted and on_conflict == OnConflict.SKIP:
            target.skipped = True
        elif target.conflicted and on_conflict == OnConflict.KEEP and target.current:
            pass  # the stored label stays
        else:
            line, label = target.votes[-1] if on_conflict == OnConflict.REPLACE else target.votes[0]
            if label != target.current:
                target.label, target.label_line = label, line
    return conflicts


def _describe_conflict(target: Target) -> str:
    said = [f"line {line} says {label!r}" for line, label in target.votes]
    if target.current:
        said.insert(0, f"it is labelled {target.current!r}")
    return f"{target.name()}: {', '.join(said)}"


def describe(duplicate: Duplicate, on_conflict: OnConflict | None) -> str:
    """One line of the import report, once every item has its id, e.g. "line 7: duplicate of
    item 12 (same URL as line 3): label added"."""
    target, answer = duplicate.target, duplicate.answer
    if answer is None:
        outcome = "no label"
    elif target.skipped:
        outcome = f"label {answer!r} not recorded: conflicting labels (--on-conflict skip)"
    elif target.label_line == duplicate.line:
        resolved = f" (conflicting labels, --on-conflict {on_conflict})" if target.conflicted else ""
        outcome = f"label added{resolved}"
    elif answer == (target.label or target.current):
        outcome = "same label, nothing added"
    else:
        kept = target.label or target.current
        outcome = f"label {answer!r} dropped for {kept!r} (--on-conflict {on_conflict})"
    filled = "; text filled in" if duplicate.filled else ""
    return f"line {duplicate.line}: duplicate of item {target.item_id} ({duplicate.why}): {outcome}{filled}"
