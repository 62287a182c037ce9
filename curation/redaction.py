"""Keep secrets out of logs, error text and stored records. redact() masks the secret values in
reach (curation.settings: environment keys and the secrets file) and anything shaped like an API
key; install_log_redaction() applies it to every log record this process creates."""

import logging
import re
from typing import Any, TextIO

from curation.errors import ConfigError
from curation.settings import get_settings

MASK = "[redacted]"
# Shapes of keys we may not know the value of: OpenAI/Anthropic "sk-...", Hugging Face "hf_...",
# GitHub "ghp_...", bearer tokens, NAME=VALUE pairs whose name says it is a secret, and the
# user:password part of URLs such as postgresql://app:pw@host/db or redis://:pw@host.
KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,})"
    r"|(?<=Bearer )[A-Za-z0-9._\-]{16,}"
    r"|(?<=[Kk][Ee][Yy]=)[^\s&'\"]{8,}|(?<=[Tt][Oo][Kk][Ee][Nn]=)[^\s&'\"]{8,}"
    r"|(?<=password=)[^\s&'\"]+"
    r"|(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"  # user:password@ in a URL
)


def redact(text: str) -> str:
    """text with known secret values and key-shaped strings replaced by [redacted]. Where the
    secrets cannot be read (the error being reported may be that), key shapes are still masked."""
    try:
        known = get_settings().secret_values()
    except ConfigError:
        known = set()
    for value in sorted(known, key=len, reverse=True):
        text = text.replace(value, MASK)
    return KEY_SHAPES.sub(MASK, text)


def redact_value(value: Any) -> Any:
    """redact() applied to every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


_original_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _original_factory(*args, **kwargs)
    record.msg, record.args = redact(record.getMessage()), None
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def install_log_redaction() -> None:
    """Mask secrets in every log record from now on, whichever logger or handler it goes to.
    A record factory rather than a handler filter, so records from libraries' own loggers
    (httpx, the LLM SDKs, Streamlit) are covered too. Reads the secrets now, so a missing
    secrets file is a clear error at start rather than a failure inside some log call."""
    get_settings().secret_values()
    logging.setLogRecordFactory(_redacting_factory)


class RedactedStream:
    """A text stream that masks secrets in whatever is written to it. The CLI writes stderr
    through one, so progress, warnings, errors and the traceback of an unexpected failure (an
    SDK error echoing the request's Authorization header) all reach the terminal masked."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(redact(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
