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
    LEAD = "lead"  # a curator who also settles items two curators disagreed on
    CURATOR = "curator"
    VIEWER = "viewer"


class Permission(StrEnum):
    """What an action needs; curation/accounts/permissions.py maps roles to permissions."""

    VIEW = "view items, queue, models and stats"
    DECIDE = "accept, reject or skip items"
    RELABEL = "change an item's label"
    RETRAIN = "retrain the classifier"
    ADD_SOURCES = "add sources and fetch, score or reason about them"
    MANAGE_USERS = "add, remove and change users"
    CHANGE_SETTINGS = "change settings"
    PROMOTE = "promote a model version"
    ROLLBACK = "roll back to an earlier model version"
    VIEW_AUDIT = "read and export the audit log"
    # Job parameters allow_private_hosts, force and base_model (curation/jobs/params.py).
    LIFT_SAFETY = "lift a safety rule or force a promotion"
    ADJUDICATE = "settle items two curators disagreed on"


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
    ADJUDICATE = "adjudicate"


class JobKind(StrEnum):
    """Background work a worker runs: each kind calls one domain function."""

    INGEST = "ingest"
    SCORE = "score"
    RESCORE = "rescore"
    REASON = "reason"
    TRAIN = "train"
    # the learning loop: the head refit on stored vectors after decisions
    REFIT = "refit"
    # the search index of what a bulk import wrote (curation/corpus/search_index.py)
    INDEX = "index"


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


class QueueStrategy(StrEnum):
    """Which item the queue serves next."""

    DENSITY = "density"  # uncertainty x similarity to the unlabelled items: uncertain and typical
    UNCERTAINTY = "uncertainty"  # closest to the decision threshold; LLM disagreement breaks ties
    DISAGREEMENT = "disagreement"  # classifier and LLM disagree, widest gap first
    NEWEST = "newest"
    RANDOM = "random"


class LabelState(StrEnum):
    """Which items a queue filter or listing takes, by whether they have a current label."""

    UNLABELLED = "unlabelled"
    LABELLED = "labelled"
    ALL = "all"


class MistakeKind(StrEnum):
    """How the active model disagrees with a curator label, for the Errors page."""

    FALSE_POSITIVE = "false_positive"
    FALSE_NEGATIVE = "false_negative"


class OnConflict(StrEnum):
    """What an import does when its rows give one item different labels (or a label other than
    the item's current one): by default it refuses, naming them."""

    KEEP = "keep"  # the stored label, else the file's first
    REPLACE = "replace"  # the file's last label
    SKIP = "skip"  # record no label for that item


# issue 16: why an item was assessed by the LLM, and where a provider batch stands


class LLMTrigger(StrEnum):
    MANUAL = "manual"  # someone ran `reason` or pressed Ask the LLM
    AUTO = "auto"  # CURATION_LLM_AUTO: the classifier's score fell in the uncertainty band


class BatchStatus(StrEnum):
    SUBMITTED = "submitted"  # sent; the provider is still working on it
    ENDED = "ended"  # every request has a result
    EXPIRED = "expired"  # the provider gave up on some requests; those were assessed one by one
    CANCELED = "canceled"  # cancelled before it ended; the rest were assessed one by one
    FAILED = "failed"  # the provider refused the whole batch; every item was assessed one by one
