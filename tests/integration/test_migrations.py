from sqlalchemy import inspect

from db.migrate import current_revision, head_revision, upgrade
from db.session import get_engine

TABLES = {"items", "decisions", "model_versions", "scores", "llm_assessments", "jobs", "users",
          "login_sessions", "audit_log"}


def test_migrations_build_every_table_from_empty_and_rerun_as_a_no_op(db_url: str) -> None:
    assert TABLES <= set(inspect(get_engine()).get_table_names())
    assert current_revision() == head_revision()
    assert upgrade() == head_revision()
