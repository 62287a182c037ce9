from sqlalchemy import select

from curation.accounts.permissions import Actor
from curation.display.safe_text import md
from curation.enums import Role
from db.models import Item, Job
from db.session import session_scope
from tests.factories import add_items


def test_sources_page_queues_an_ingest_job_and_lists_failures_to_retry(open_page) -> None:
    app = open_page("pages/sources.py")
    assert "No fetched sources yet" in app.info[0].value
    app.text_area(key="new_urls").input("https://example.org/a\n\nhttps://example.org/b\n").run()
    app.button[0].click().run()
    with session_scope() as session:
        job = session.scalars(select(Job)).one()
        (failed,) = add_items(session, 1, fetch_status="failed", fetch_error="HTTP 500")
    assert (job.kind, job.params) == ("ingest", {"urls": ["https://example.org/a", "https://example.org/b"]})
    assert app.success[0].value == md(f"fetching 2 URL(s) as job #{job.id}")
    assert len(app.get("progress")) == 1
    app.button[1].click().run()
    with session_scope() as session:
        retry = session.scalars(select(Job).order_by(Job.id.desc())).first()
        url = session.get_one(Item, failed).url
    assert retry.params == {"urls": [url]}
    assert list(app.table[0].value["fetch_error"]) == ["HTTP 500"]


def test_a_viewer_cannot_add_sources(open_page, monkeypatch) -> None:
    monkeypatch.setattr("pages.common.current_actor", lambda token: Actor("vera", Role.VIEWER))
    app = open_page("pages/sources.py")
    assert app.text_area(key="new_urls").disabled and app.button[0].disabled
