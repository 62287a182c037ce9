"""The vocabulary shared by the database, the CLI and the pages."""

from enum import StrEnum


class SourceType(StrEnum):
    WEB = "web"
    YOUTUBE = "youtube"
    IMPORT = "import"


class FetchStatus(StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    TOO_SHORT = "too_short"
    DUPLICATE = "duplicate"  # fetched, but the same text as another item
    FEED = "feed"  # a feed or sitemap: its entries became items, it holds no text


class Action(StrEnum):
    """What a curator can do with an item: one of the task's labels, or skip."""

    SKIP = "skip"


IMPORT_CURATOR = "import"


class Role(StrEnum):
    """What a user may do; curation/permissions.py maps each role to its permissions."""

    ADMIN = "admin"
    CURATOR = "curator"
    VIEWER = "viewer"


class AuditAction(StrEnum):
    """Names of audit log entries, so the log can be filtered by a fixed vocabulary."""

    USER_ADD = "user.add"
    USER_REMOVE = "user.remove"
    USER_PASSWORD = "user.password"
    USER_ROLE = "user.role"
    USER_LOCKED = "user.locked"
    DECIDE = "decide"
    UNDO = "undo"
    RELABEL = "relabel"
    RETRAIN = "retrain"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    ADD_SOURCES = "sources.add"
    SETTINGS = "settings.change"


class JobKind(StrEnum):
    """Background work a worker runs: each kind calls one domain function."""

    INGEST = "ingest"
    SCORE = "score"
    RESCORE = "rescore"
    REASON = "reason"
    TRAIN = "train"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ModelStatus(StrEnum):
    """What a model version is: a classifier trained on labels, or the cold-start similarity
    scorer used until there are enough labels to train one."""

    TRAINED = "trained"
    COLD_START = "cold_start"
