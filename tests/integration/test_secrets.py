"""API keys must never reach the database, the logs, the CLI's output or the audit log."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from curation.accounts.audit import list_audit, record
from curation.accounts.permissions import LOCAL_ADMIN
from curation.redaction import MASK, install_log_redaction, redact
from curation.settings import get_settings
from db.migrate import upgrade
from db.models import Job
from db.session import session_scope
from tests.factories import make_row, run_cli, run_cli_input, write_jsonl

ANTHROPIC = "sk-ant-api03-FAKEanthropicKEY0123456789abcdef"
OPENAI = "sk-proj-FAKEopenaiKEY0123456789abcdefgh"
FROM_FILE = "file-secret-9f8e7d6c5b4a"
KEYS = (ANTHROPIC, OPENAI, FROM_FILE)


@pytest.fixture
def keys(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"# API keys\nHF_TOKEN='{FROM_FILE}'\n")
    env = {"ANTHROPIC_API_KEY": ANTHROPIC, "OPENAI_API_KEY": OPENAI,
           "CURATION_SECRETS_FILE": str(secrets_file)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return env


def test_cli_commands_leave_no_key_in_the_database_or_their_output(keys: dict[str, str], home: Path,
                                                                   tmp_path: Path) -> None:
    rows = write_jsonl(tmp_path / "rows.jsonl", [make_row(1), make_row(2, "reject")])
    runs = [
        run_cli("init"), run_cli("import", str(rows)), run_cli("import", str(tmp_path / "missing.jsonl")),
        run_cli_input("a long password\n", "user", "add", "ada", "--role", "admin", "--password-stdin"),
        run_cli("user", "list"), run_cli("stats"), run_cli("serve-check", "--host", "0.0.0.0"),
        run_cli("audit", "export", str(tmp_path / "audit.jsonl")),
        run_cli("export", str(tmp_path / "items.jsonl")),
    ]
    assert [code for code, _, _ in runs] == [0, 0, 1, 0, 0, 0, 1, 0, 0]
    output = " ".join(f"{out} {err}" for _, out, err in runs)
    stored = b"".join(path.read_bytes() for path in home.glob("curation.db*"))
    written = (tmp_path / "audit.jsonl").read_text() + (tmp_path / "items.jsonl").read_text()
    for key in KEYS:
        assert key not in output and key not in written
        assert key.encode() not in stored
    assert get_settings().secret("HF_TOKEN") == FROM_FILE  # the file is read, only not stored


@pytest.fixture
def redacting_logs() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    install_log_redaction()
    yield
    logging.setLogRecordFactory(factory)


def test_log_records_mask_known_keys_and_key_shaped_strings(
    keys: dict[str, str], redacting_logs: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("some.sdk")
    with caplog.at_level(logging.INFO):
        log.info("calling with key %s and header Bearer %s", ANTHROPIC, FROM_FILE + "xxxxxxxx")
        log.warning("unknown key sk-live-0123456789abcdefghij in url ?api_key=abcdefgh123")
        try:
            raise RuntimeError(f"401 for key {OPENAI}")
        except RuntimeError:
            log.exception("request failed")
    text = caplog.text
    assert not any(key in text for key in KEYS)
    assert "sk-live-0123456789abcdefghij" not in text and "abcdefgh123" not in text
    assert text.count(MASK) >= 5 and "request failed" in text and "RuntimeError: 401 for key" in text


def test_audit_details_are_stored_with_keys_masked(keys: dict[str, str]) -> None:
    upgrade()
    with session_scope() as session:
        record(session, "ada", "settings.change", "llm", {"note": f"key {OPENAI}", "nested": [ANTHROPIC]})
        entry = list_audit(session, LOCAL_ADMIN)[0]
    assert entry["details"] == {"note": f"key {MASK}", "nested": [MASK]}


def test_redaction_leaves_ordinary_text_alone(keys: dict[str, str]) -> None:
    text = "Acme ships LLM agents to production; see https://example.com/post?id=42 (skeleton key)"
    assert redact(text) == text


def test_a_missing_secrets_file_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    code, out, _ = run_cli("stats", env={"CURATION_SECRETS_FILE": str(tmp_path / "nope.env")})
    assert code == 1
    assert out["error"] == f"CURATION_SECRETS_FILE {tmp_path / 'nope.env'} does not exist; create it or unset it"


def test_error_columns_mask_keys_and_url_passwords_whoever_writes_them(keys: dict[str, str], home: Path) -> None:
    """Errors quote what an SDK or server said; the column type masks it however it is written."""
    upgrade()
    with session_scope() as session:
        job = Job(kind="reason", status="failed", error=f"AuthenticationError: bad key {OPENAI}")
        session.add(job)
        session.flush()
        session.execute(update(Job).where(Job.id == job.id).values(
            message="could not queue", error="redis://:not-a-known-secret-42@10.0.0.9:6379/0 refused"))
    with session_scope() as session:
        assert session.scalar(select(Job.error)) == f"redis://{MASK}@10.0.0.9:6379/0 refused"
    stored = b"".join(path.read_bytes() for path in home.glob("curation.db*"))
    assert OPENAI.encode() not in stored and b"not-a-known-secret-42" not in stored
