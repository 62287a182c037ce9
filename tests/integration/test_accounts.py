from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from curation.accounts.audit import list_audit
from curation.accounts.auth import actor_for_token, close_session, open_session
from curation.accounts.permissions import Actor
from curation.accounts.users import add_user, list_users, remove_user, set_password, set_role
from curation.enums import AuditAction, Role
from curation.errors import LoginFailed, NotLoggedIn, PermissionDenied, UserError
from db.models import User
from db.session import session_scope
from tests.factories import run_cli, run_cli_input

ADMIN = Actor("root", Role.ADMIN)
PASSWORD = "correct horse battery"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _add(name: str, role: Role = Role.CURATOR, password: str = PASSWORD) -> None:
    with session_scope() as session:
        add_user(session, ADMIN, name, role, password)


def _login(name: str, password: str = PASSWORD, now: datetime = T0) -> str:
    with session_scope() as session:
        return open_session(session, name, password, now=now)


def _actor(token: str, now: datetime = T0) -> Actor:
    with session_scope() as session:
        return actor_for_token(session, token, now=now)


def test_users_are_added_listed_changed_removed_and_each_change_is_audited(db_url: str) -> None:
    _add("ada", Role.ADMIN)
    _add("cy", Role.VIEWER)
    with session_scope() as session:
        set_role(session, ADMIN, "cy", Role.CURATOR)
        set_password(session, ADMIN, "cy", "another long password")
        remove_user(session, ADMIN, "cy")
        assert [(u["name"], u["role"]) for u in list_users(session, ADMIN)] == [("ada", "admin")]
        entries = list_audit(session, ADMIN)
    assert [(e["actor"], e["action"], e["target"]) for e in reversed(entries)] == [
        ("root", AuditAction.USER_ADD, "user:ada"), ("root", AuditAction.USER_ADD, "user:cy"),
        ("root", AuditAction.USER_ROLE, "user:cy"), ("root", AuditAction.USER_PASSWORD, "user:cy"),
        ("root", AuditAction.USER_REMOVE, "user:cy"),
    ]
    assert entries[2]["details"] == {"from": "viewer", "to": "curator"}


def test_the_password_is_stored_only_as_an_argon2_hash(db_url: str) -> None:
    _add("ada")
    with session_scope() as session:
        stored = session.scalar(select(User.password_hash))
        dump = " ".join(str(row) for row in session.execute(text("SELECT * FROM users")))
    assert stored.startswith("$argon2id$") and PASSWORD not in dump


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("ada", "curator", PASSWORD, "user 'ada' already exists"),
    ("bo b", "curator", PASSWORD, "invalid user name 'bo b'"),
    ("bob", "owner", PASSWORD, "unknown role 'owner'; use one of admin, lead, curator, viewer"),
    ("bob", "curator", "short", "password too short (5 characters); use at least 10"),
])
def test_bad_user_input_is_refused_and_writes_nothing(
    db_url: str, name: str, role: str, password: str, message: str
) -> None:
    _add("ada")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _add(name, role, password)  # type: ignore[arg-type]
    with session_scope() as session:
        assert [u["name"] for u in list_users(session, ADMIN)] == ["ada"]
        assert len(list_audit(session, ADMIN)) == 1


def test_the_last_admin_can_be_neither_removed_nor_demoted(db_url: str) -> None:
    _add("ada", Role.ADMIN)
    with session_scope() as session, pytest.raises(UserError, match="'ada' is the last admin"):
        remove_user(session, ADMIN, "ada")
    with session_scope() as session, pytest.raises(UserError, match="'ada' is the last admin"):
        set_role(session, ADMIN, "ada", Role.VIEWER)


@pytest.mark.parametrize("role", [Role.CURATOR, Role.VIEWER])
def test_only_admins_manage_users_and_read_the_audit_log(db_url: str, role: Role) -> None:
    _add("ada")
    who = Actor("mallory", role)
    attempts = [
        lambda s: add_user(s, who, "eve", Role.ADMIN, PASSWORD),
        lambda s: set_role(s, who, "ada", Role.ADMIN),
        lambda s: set_password(s, who, "ada", "mallory's password"),
        lambda s: remove_user(s, who, "ada"),
        lambda s: list_users(s, who),
        lambda s: list_audit(s, who),
    ]
    for attempt in attempts:
        with session_scope() as session, pytest.raises(PermissionDenied, match=f"role '{role}'"):
            attempt(session)
    with session_scope() as session:
        assert [(u["name"], u["role"]) for u in list_users(session, ADMIN)] == [("ada", "curator")]


def test_a_login_lasts_until_it_expires_or_the_user_logs_out(db_url: str) -> None:
    _add("ada")
    token = _login("ada")
    assert _actor(token, T0 + timedelta(hours=11, minutes=59)) == Actor("ada", Role.CURATOR)
    with pytest.raises(NotLoggedIn, match="your login expired at 2026-01-02 00:00 UTC"):
        _actor(token, T0 + timedelta(hours=12))
    second = _login("ada")
    with session_scope() as session:
        close_session(session, second)
    with pytest.raises(NotLoggedIn, match="this login has ended"):
        _actor(second)
    with pytest.raises(NotLoggedIn, match="not logged in"):
        _actor("")


def test_role_changes_apply_to_open_logins_and_a_new_password_ends_them(db_url: str) -> None:
    _add("ada")
    token = _login("ada")
    with session_scope() as session:
        set_role(session, ADMIN, "ada", Role.VIEWER)
    assert _actor(token).role == Role.VIEWER
    with session_scope() as session:
        set_password(session, ADMIN, "ada", "a brand new password")
    with pytest.raises(NotLoggedIn):
        _actor(token)


def test_five_failures_lock_the_account_for_fifteen_minutes(db_url: str) -> None:
    _add("ada")
    for _ in range(5):
        with pytest.raises(LoginFailed, match="wrong user name or password for 'ada'"):
            _login("ada", "wrong password!")
    with pytest.raises(LoginFailed, match="account 'ada' is locked until 2026-01-01 12:15 UTC"):
        _login("ada", PASSWORD, now=T0 + timedelta(minutes=14))
    assert _actor(_login("ada", now=T0 + timedelta(minutes=15))).name == "ada"
    with session_scope() as session:
        assert [e["action"] for e in list_audit(session, ADMIN)][:1] == [AuditAction.USER_LOCKED]


def test_a_success_resets_the_failure_count_and_a_new_password_lifts_a_lock(db_url: str) -> None:
    _add("ada")
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _login("ada", "wrong password!")
    _login("ada")
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _login("ada", "wrong password!")
    _login("ada")  # only 4 in a row: not locked
    for _ in range(5):
        with pytest.raises(LoginFailed):
            _login("ada", "wrong password!")
    with session_scope() as session:
        set_password(session, ADMIN, "ada", "a brand new password")
    _login("ada", "a brand new password")


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(db_url: str) -> None:
    with pytest.raises(LoginFailed, match="wrong user name or password for 'nobody'"):
        _login("nobody")


def test_user_and_audit_commands_round_trip(db_url: str, tmp_path: Path) -> None:
    code, out, _ = run_cli_input(PASSWORD + "\n", "user", "add", "ada", "--role", "admin", "--password-stdin")
    assert code == 0 and (out["name"], out["role"]) == ("ada", "admin")
    code, out, _ = run_cli_input("", "user", "list")
    assert [u["name"] for u in out["users"]] == ["ada"]
    code, out, err = run_cli_input("", "user", "remove", "ada")
    assert code == 1 and out["error"] == "'ada' is the last admin; make another user admin first"
    code, out, _ = run_cli_input("", "audit", "export", "--format", "jsonl", str(tmp_path / "a.jsonl"))
    assert code == 0 and out["rows"] == 1
    assert '"action": "user.add", "target": "user:ada"' in (tmp_path / "a.jsonl").read_text()


def test_serve_check_refuses_other_addresses_without_accounts_and_accounts_without_an_admin(
    db_url: str,
) -> None:
    assert run_cli("serve-check", "--host", "127.0.0.1")[1] == {"host": "127.0.0.1", "auth": False}
    code, out, _ = run_cli("serve-check", "--host", "0.0.0.0")
    assert code == 1 and out["error"].startswith("refusing to listen on 0.0.0.0: with accounts off")
    code, out, _ = run_cli("serve-check", "--host", "0.0.0.0", env={"CURATION_AUTH": "1"})
    assert code == 1 and out["error"].startswith("accounts are on (CURATION_AUTH) but there is no admin")
    run_cli_input(PASSWORD + "\n", "user", "add", "ada", "--role", "admin", "--password-stdin")
    assert run_cli("serve-check", "--host", "0.0.0.0", env={"CURATION_AUTH": "1"})[0] == 0
