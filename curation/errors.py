"""Domain errors. Each message names what failed, the value, and how to fix it; the CLI and the
pages show the message as it is."""


class CurationError(Exception):
    """Base of every error a user can act on."""


class ImportFileError(CurationError):
    """A file to import is unreadable or has invalid rows; nothing was written."""


class ConfigError(CurationError):
    """A setting or task file is invalid."""
