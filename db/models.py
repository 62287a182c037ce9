"""Typed SQLAlchemy 2.0 models for the data model in DESIGN.md.

Decisions are append-only: a correction is a new decision, an undo stamps undone_at. What a model
proposes (scores, llm_assessments) is kept apart from what a person decides (decisions)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from curation.redaction import redact


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (a naive value is taken as
    UTC): SQLite returns naive values and PostgreSQL the session's zone, and comparing those
    with datetime.now(UTC) would break."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RedactedText(TypeDecorator[str]):
    """Text with secrets masked on the way in. Error columns quote whatever an SDK, a server or
    a driver said, which can include an API key or a password in a URL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else redact(value)


class Base(DeclarativeBase):
    # Named constraints let later SQLite batch migrations find and alter them.
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    source_type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    fetch_status: Mapped[str] = mapped_column(String(16))
    fetch_error: Mapped[str | None] = mapped_column(RedactedText)
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The earlier item whose text this one nearly repeats (MinHash, curation/corpus/near_duplicates.py).
    # No foreign key: SQLite can add and drop a plain column in place, but a key would mean
    # rebuilding items, which the foreign keys pointing at a populated items table refuse.
    near_duplicate_of: Mapped[int | None] = mapped_column(Integer, index=True)
    # Set by a bulk import: the search index job adds the item later (migration 0011).
    search_pending: Mapped[bool] = mapped_column(default=False, server_default=false())


# The search backlog, found without a scan however many items are already indexed.
Index("ix_items_search_pending", Item.id, sqlite_where=Item.search_pending,
      postgresql_where=Item.search_pending)


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_item_created", "item_id", "created_at"),
        Index("ix_decisions_curator_created", "curator", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    label: Mapped[str] = mapped_column(String(32))
    curator: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds_spent: Mapped[float | None] = mapped_column(Float)
    model_score: Mapped[float | None] = mapped_column(Float)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    llm_verdict: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    undone_at: Mapped[datetime | None]
    # Shared by the decisions of one bulk action, so undo reverts them together.
    group_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # Team curation: the guideline the decision was made under (task.guideline_version), and
    # whether it is a lead's final word on an item two curators disagreed on.
    guideline_version: Mapped[str | None] = mapped_column(String(16))
    adjudicated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_model: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    n_train: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    path: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # float32 mean of the unlabelled items' document vectors when the version last scored them
    # all: what the density of an item scored later is measured against (models.density).
    density_centre: Mapped[bytes | None] = mapped_column(LargeBinary)


class Score(Base):
    __tablename__ = "scores"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), primary_key=True, index=True
    )
    probability: Mapped[float] = mapped_column(Float)
    passage: Mapped[str | None] = mapped_column(Text)
    # How typical the item is of what waits for a label (models.density); 1 for scores written
    # before densities were, which the density order then ranks by uncertainty alone.
    density: Mapped[float] = mapped_column(Float, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# A score at or above this says the positive label; everything that reads a score as a label
# (queue, Errors page, agreement report, holdout metrics) uses this one value.
DECISION_THRESHOLD = 0.5
# How far a score is from the threshold. Written as a literal expression so SQLite and PostgreSQL
# both match the queue's ORDER BY to this index: the most uncertain item is an index seek away.
def says_positive(probability: Any) -> Any:
    """Whether a score means the positive label: works on a float and on a SQL column alike."""
    return probability >= DECISION_THRESHOLD


SCORE_MARGIN = func.abs(Score.probability - literal_column(str(DECISION_THRESHOLD)))
Index("ix_scores_margin", Score.model_version_id, SCORE_MARGIN)
# The density order: uncertainty (1 - 2 x margin) times density, negated and halved so that
# ascending is best first and the expression index ix_scores_priority serves it, as above.
SCORE_PRIORITY = (SCORE_MARGIN - literal_column("0.5")) * Score.density
Index("ix_scores_priority", Score.model_version_id, SCORE_PRIORITY)


class LLMAssessment(Base):
    __tablename__ = "llm_assessments"
    __table_args__ = (
        Index("ix_llm_assessments_cache", "content_hash", "model", "prompt_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    prompt_version: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    rationale: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    evidence_ok: Mapped[bool | None] = mapped_column(Boolean)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(RedactedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # issue 16: cache and batch accounting, and why the item was assessed (curation.enums.LLMTrigger)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    batched: Mapped[bool] = mapped_column(Boolean, default=False, server_default=literal_column("false"))
    trigger: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(RedactedText)
    worker: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Set while the job is queued or running, NULL once it ends. The unique index makes "one
    # train job at a time" hold in the database, even when two processes submit at once.
    active_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Written by the running worker every second; a stale one means the worker died.
    heartbeat_at: Mapped[datetime | None]
    # The job whose dead worker this one runs again for; a retry is never retried itself.
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", name="uq_users_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]


class Lease(Base):
    """An item served to one curator until expires_at, so two curators never get the same item.
    It remembers the score and verdict that were on screen, which the decision then records."""

    __tablename__ = "leases"
    __table_args__ = (Index("ix_leases_curator", "curator"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    curator: Mapped[str] = mapped_column(String(128))
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    served_score: Mapped[float | None] = mapped_column(Float)
    served_model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    served_verdict: Mapped[str | None] = mapped_column(String(32))


class LoginSession(Base):
    """A login. The browser keeps the token; only its SHA-256 is stored, so a copy of the
    database cannot be used to log in."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only record of who did what: user changes, decisions, retrains, promotions."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


# issue 16: LLM batches, the daily spending ledger, and measured classifier scoring time


class LLMBatch(Base):
    """A provider batch of first ReAct steps, stored before polling so a restarted worker
    resumes it instead of sending (and paying for) it again."""

    __tablename__ = "llm_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    prompt_version: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[str] = mapped_column(String(128), unique=True)
    tag: Mapped[str] = mapped_column(String(32))  # the run's document delimiter, part of every prompt
    item_ids: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)  # curation.enums.BatchStatus
    note: Mapped[str | None] = mapped_column(RedactedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]  # once every item has an assessment; open until then


class LLMSpend(Base):
    """USD spent on automatic assessments per UTC day; every worker adds to the same row, so the
    daily cap holds across processes."""

    __tablename__ = "llm_spend"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0)


class ScoringRun(Base):
    """Seconds one scoring pass took, for the classifier's measured cost per 1,000 items."""

    __tablename__ = "scoring_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    items: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    device: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Embedding(Base):
    """One text's window embeddings by one encoder, computed once and read by training, scoring,
    similar items and near-duplicates. Kept in the database rather than in files so workers on
    other hosts share them through PostgreSQL without a shared filesystem. `encoder` names the
    encoder identity (base model, hash of its weights, window size and overlap, precision), so a
    fine-tuned encoder or other windows never read another's vectors; a changed text has a new
    content_hash and is embedded again. `document` and `head_input` sit before `windows` so
    reading only them does not walk the larger blob."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("encoder", "content_hash", name="uq_embeddings_encoder_content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    encoder: Mapped[str] = mapped_column(String(512))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    dim: Mapped[int] = mapped_column(Integer)
    n_windows: Mapped[int] = mapped_column(Integer)
    document: Mapped[bytes] = mapped_column(LargeBinary)  # float16 x dim: L2-normalised mean of windows
    head_input: Mapped[bytes] = mapped_column(LargeBinary)  # float16 x dim: what the head reads
    spans: Mapped[bytes] = mapped_column(LargeBinary)  # int32 n_windows x 2: character span of each window
    windows: Mapped[bytes] = mapped_column(LargeBinary)  # float16 n_windows x dim: L2-normalised
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Search and near-duplicates (migration 0008).
# The full-text index lives beside the ORM under this name (an FTS5 table on SQLite, a tsvector
# table on PostgreSQL), kept in step by triggers; schema comparisons skip names starting with it.
SEARCH_TABLE = "items_fts"


class MinhashBand(Base):
    """One LSH band of an item's MinHash signature, hashed to one key: items sharing a key are
    near-duplicate candidates, found by the primary key's index instead of a scan. Only items
    that are no one's near-duplicate are banded, so a bucket stays small however often a text
    repeats."""

    __tablename__ = "minhash_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)


class MinhashSignature(Base):
    """An item's MinHash signature (uint64 values), to estimate the similarity of a candidate."""

    __tablename__ = "minhash_signatures"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
