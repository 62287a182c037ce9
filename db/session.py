"""Engines and sessions.

SQLite is the embedded default, so it gets what several writers need: WAL (readers never block
the writer), foreign keys, a busy timeout, and BEGIN IMMEDIATE so a transaction takes the write
lock up front. Without that, two deferred transactions that both upgrade to writing fail at once
with "database is locked" instead of waiting their turn."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from curation.settings import get_settings


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB of page cache, not 2: past 100,000 items the band and URL indexes an import
        # probes and grows at random outgrow 2 MiB, and every miss was a read (a tenth faster).
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL and process; pages cache it, the CLI makes it once per command."""
    settings = get_settings()
    url = url or settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": settings.sqlite_busy_timeout_s, "check_same_thread": False}
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_s)
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def _session_factory(url: str | None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error, so nothing half-written stays."""
    session = _session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run action once the session's transaction has committed, never if it rolls back: for
    follow-ups that write in a transaction of their own (queueing a retrain after a decision)."""
    event.listen(session, "after_commit", lambda _session: action(), once=True)


def reset_caches() -> None:
    """Forget engines, for tests that switch databases within one process."""
    for engine_factory in (get_engine, _session_factory):
        engine_factory.cache_clear()
