"""Shared fixtures. `db_url` runs a test against a fresh SQLite file and, where it is reachable,
the real PostgreSQL on 127.0.0.1:5432 in a schema of its own, migrated with Alembic from empty."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from curation.settings import get_settings
from curation.task import _cached as cached_task
from db.migrate import upgrade
from db.session import reset_caches

POSTGRES_ADMIN = os.environ.get("CURATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_unreachable() -> str | None:
    try:
        psycopg.connect(POSTGRES_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN} is not reachable ({exc}); start it to run these"
    return None


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema-name prefix per test run, so parallel runs on one server never see each other's
    rows; every schema with it is dropped when the run ends."""
    reason = _postgres_unreachable()
    if reason:
        pytest.skip(reason)
    prefix = f"curation_test_{uuid.uuid4().hex[:12]}"
    yield prefix
    reset_caches()
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                               (prefix,)).fetchall()
        for (schema,) in schemas:  # each test made its own; leave the server as we found it
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _fresh_postgres(schema_root: str) -> str:
    schema = f"{schema_root}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    base = POSTGRES_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CURATION_HOME with a SQLite database, for tests that need only SQLite."""
    monkeypatch.setenv("CURATION_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CURATION_DATABASE_URL", raising=False)
    _reset()
    return tmp_path / "home"


def _reset() -> None:
    get_settings.cache_clear()
    cached_task.cache_clear()
    reset_caches()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty database; the test runs once per backend."""
    if request.param == "postgresql":
        url = _fresh_postgres(request.getfixturevalue("postgres_schema"))
        monkeypatch.setenv("CURATION_DATABASE_URL", url)
    else:
        url = f"sqlite:///{home / 'curation.db'}"
    _reset()
    upgrade()
    yield url
    reset_caches()


@pytest.fixture
def site() -> Iterator["Site"]:
    """A local website on 127.0.0.1 (see tests/site.py); fetch tests never touch the internet."""
    from tests.site import Site

    with Site() as running:
        yield running


@pytest.fixture
def fetch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fetch settings for tests: extraction in-process (no pool start-up), short read timeout."""
    monkeypatch.setenv("CURATION_FETCH_EXTRACT_WORKERS", "1")
    monkeypatch.setenv("CURATION_FETCH_READ_TIMEOUT_S", "0.5")
    monkeypatch.setenv("CURATION_FETCH_CONNECT_TIMEOUT_S", "2")
    get_settings.cache_clear()
