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
