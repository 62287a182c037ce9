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


class Action(StrEnum):
    """What a curator can do with an item: one of the task's labels, or skip."""

    SKIP = "skip"


IMPORT_CURATOR = "import"
