"""Domain errors. Each message names what failed, the value, and how to fix it; the CLI and the
pages show the message as it is."""


class CurationError(Exception):
    """Base of every error a user can act on."""


class ImportFileError(CurationError):
    """A file to import is unreadable or has invalid rows; nothing was written."""


class ConfigError(CurationError):
    """A setting or task file is invalid."""


class PermissionDenied(CurationError):
    """The user's role does not allow the action; checked on the server, whatever the UI shows."""


class UserError(CurationError):
    """A user account command got a bad name, role or password, or the user does not exist."""


class LoginFailed(CurationError):
    """Wrong name or password, or the account is locked."""


class NotLoggedIn(CurationError):
    """No valid login session: none given, unknown, or expired."""


class BindRefused(ConfigError):
    """The app was asked to listen beyond this machine without accounts switched on."""


class FetchError(CurationError):
    """A URL could not be fetched or yielded nothing usable; stored on its item as the reason."""


class JobError(CurationError):
    """A background job cannot be submitted or queued; nothing was queued."""


class ModelError(CurationError):
    """Training, promotion or scoring cannot go ahead; the message says what to do instead."""


class UnsafeURLError(FetchError):
    """The URL's scheme or address is one we refuse to fetch."""


class HTTPStatusError(FetchError):
    """The server answered with an error status that retrying will not fix."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RetryableError(FetchError):
    """A timeout, 429 or 5xx: worth another try after a wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IngestInputError(CurationError):
    """No URLs, or lines that are not http(s) URLs; nothing was fetched or written."""


class QueueError(CurationError):
    """A queue request that cannot be served as asked."""


class LLMCallError(CurationError):
    """A call failed after its retries. fatal: the same call cannot work for any other document
    either (refused key, unknown model), so the run stops."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class BudgetExceeded(CurationError):
    """The run's spending cap is reached; no further call is started."""


# Curator power tools: search, bulk decisions, near-duplicates (issue 17).
class SearchError(CurationError):
    """A search request with a bad limit or filter; nothing was read."""


class SimilarError(CurationError):
    """Similar items cannot be found for this item: unknown, or no stored document vector yet."""


class LabelIssueError(CurationError):
    """Label issues cannot be ranked: too few labels, or labels of one kind only."""


class AdjudicationError(CurationError):
    """An adjudication that cannot be made: no such item, not disputed, or an unknown label."""
