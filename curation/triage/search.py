"""Full-text search over titles and text, with the queue's filters and each hit's current label
and active score. SQLite answers with its FTS5 table (bm25 rank), PostgreSQL with its tsvector
table (ts_rank_cd); migration 0008 builds both and keeps them in step by triggers, except for
what a bulk import writes, which the index job adds (curation/corpus/search_index.py). What a user
types is never passed to the engine as query syntax: on SQLite every word and "quoted phrase"
becomes a quoted FTS5 string, on PostgreSQL websearch_to_tsquery reads it, and neither raises
a syntax error whatever the input."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import LabelState, Permission
from curation.errors import SearchError
from curation.triage.labels import shown_label
from curation.triage.queue import QueueFilter, by_source_and_date
from db.models import SEARCH_TABLE, Item, Score
from models.registry import active_version_id

MAX_LIMIT = 500
TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')  # a "quoted phrase" (closing quote optional) or a word


@dataclass(frozen=True)
class SearchFilter(QueueFilter):
    """The queue's filters plus what a search adds: a label and a range of the active score."""

    status: LabelState = LabelState.ALL
    label: str | None = None
    score_min: float | None = None
    score_max: float | None = None


@dataclass
class SearchHit:
    id: int
    title: str | None
    url: str | None
    source_type: str
    published_at: datetime | None
    label: str | None
    score: float | None
    near_duplicate_of: int | None


def fts5_query(text: str) -> str | None:
    """The user's words and phrases as FTS5 strings, all required; None when nothing is left.
    Quoting makes AND, OR, NOT, NEAR, *, ^, :, ( and ) plain text to FTS5."""
    terms = [(phrase or word).strip() for phrase, word in TERM.findall(text)]
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms if re.search(r"\w", term)]
    return " ".join(quoted) or None


def _matches(session: Session, text: str) -> tuple[Select, Any] | None:
    """(ids of items matching text, their relevance, higher is better) for this backend."""
    if session.get_bind().dialect.name == "postgresql":
        index = table(SEARCH_TABLE, column("item_id"), column("document"))
        query = func.websearch_to_tsquery("english", text)
        relevance = func.ts_rank_cd(index.c.document, query)
        return select(Item.id).join(index, index.c.item_id == Item.id) \
            .where(index.c.document.op("@@")(query)), relevance
    fts = fts5_query(text)
    if fts is None:
        return None
    index = table(SEARCH_TABLE, column("rowid"), column("rank"))
    return select(Item.id).join(index, index.c.rowid == Item.id) \
        .where(literal_column(SEARCH_TABLE).op("MATCH")(fts)), -index.c.rank


def _check(filters: SearchFilter, limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"search limit {limit} is out of range; give 1 to {MAX_LIMIT}")
    for name in ("score_min", "score_max"):
        value = getattr(filters, name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise SearchError(f"{name} {value} is not a probability; give a value from 0 to 1")


def search_items(session: Session, who: HasRole, text: str, *, filters: SearchFilter = SearchFilter(),
                 limit: int = 20) -> list[SearchHit]:
    """The best matches for text, most relevant first, with the label who may see and the score."""
    require(who, Permission.VIEW)
    _check(filters, limit)
    matched = _matches(session, text)
    if matched is None:
        return []
    query, relevance = matched
    version_id = active_version_id(session)
    label = shown_label(who, Item.id)
    query = (query.add_columns(Item.title, Item.url, Item.canonical_url, Item.source_type,
                               Item.published_at, label.label("label"), Score.probability,
                               Item.near_duplicate_of)
             .outerjoin(Score, and_(Score.item_id == Item.id, Score.model_version_id == version_id)))
    query = _filtered(query, filters, label).order_by(relevance.desc(), Item.id.desc()).limit(limit)
    return [SearchHit(id=r.id, title=r.title, url=r.url or r.canonical_url, source_type=r.source_type,
                      published_at=r.published_at, label=r.label, score=r.probability,
                      near_duplicate_of=r.near_duplicate_of)
            for r in session.execute(query)]


def _filtered(query: Select, filters: SearchFilter, label: Any) -> Select:
    query = by_source_and_date(query, filters)
    if filters.status == LabelState.LABELLED:
        query = query.where(label.is_not(None))
    elif filters.status == LabelState.UNLABELLED:
        query = query.where(label.is_(None))
    if filters.label:
        query = query.where(label == filters.label)
    if filters.score_min is not None:
        query = query.where(Score.probability >= filters.score_min)
    if filters.score_max is not None:
        query = query.where(Score.probability <= filters.score_max)
    return query
