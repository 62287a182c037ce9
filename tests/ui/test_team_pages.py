"""The pages of team curation: Adjudicate for leads, agreement on Activity, the guideline on the
Queue."""

import pytest
from sqlalchemy import select
from streamlit import config
from streamlit.testing.v1 import AppTest

from curation.accounts.auth import TOKEN_KEY, log_in
from curation.accounts.permissions import LOCAL_ADMIN, Actor
from curation.accounts.users import add_user
from curation.enums import Role
from curation.settings import get_settings
from curation.task import get_task
from curation.triage.labels import current_labels, is_overlap_item
from curation.triage.queue import decide
from db.session import session_scope
from tests.factories import REPO, add_active_model, add_items, chart_titles, charts, shown

PASSWORD = "correct horse battery"


@pytest.fixture
def dispute(db_url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """CURATION_OVERLAP=0.5 and one overlap item ann accepted and bob rejected."""
    monkeypatch.setenv("CURATION_OVERLAP", "0.5")
    get_settings.cache_clear()
    with session_scope() as session:
        ids = add_items(session, 10)
        item = next(i for i in ids if is_overlap_item(i))
        add_active_model(session, {item: 0.55})
        decide(session, Actor("ann", Role.CURATOR), item, "accept", note="named company, metrics", seconds=5)
        decide(session, Actor("bob", Role.CURATOR), item, "reject", note="reads like marketing", seconds=9)
    return item


def _label(item: int) -> str | None:
    labels = current_labels()
    with session_scope() as session:
        return session.scalar(select(labels.c.label).where(labels.c.item_id == item))


def test_the_lead_sees_both_decisions_side_by_side_and_settles_the_item(open_page, dispute: int) -> None:
    app = open_page("pages/adjudicate.py")
    assert [(m.label, m.value) for m in app.metric] == [
        ("ann", "accept"), ("bob", "reject"), ("Classifier P(accept)", "0.55"), ("LLM verdict", "—")]
    assert [shown(c.value) for c in app.caption] == ["named company, metrics", "reads like marketing"]
    assert _label(dispute) is None  # disputed: no training label yet
    app.text_input(key=f"why_{dispute}").input("no production deployment")
    app.button(key=f"settle_{dispute}_reject").click().run()
    assert _label(dispute) == "reject"
    assert "No disputed items" in app.info[0].value


def test_activity_shows_agreement_per_pair_and_guideline_versions(open_page, dispute: int) -> None:
    app = open_page("pages/activity.py")
    assert chart_titles(app) == ["Decisions per day", "Seconds per decision", "Cohen's kappa per pair of curators"]
    kappa = charts(app)[2]
    assert [(row["pair"], row["kappa"], row["items"]) for row in kappa["rows"]] == [("ann & bob", 0.0, 1)]
    assert kappa["encoding"]["y"]["scale"]["domain"] == [-1, 1]
    assert "0 % agreement" in app.caption[0].value and "on 1 item pairs" in app.caption[0].value
    versions = app.table[-1].value
    assert list(versions["guideline_version"]) == [get_task().guideline_version]


def test_the_queue_shows_the_guideline_and_the_keys(open_page) -> None:
    with session_scope() as session:
        add_items(session, 1)
    app = open_page("pages/queue.py")
    assert app.expander[0].label == f"Guideline (version {get_task().guideline_version})"
    assert "real deployment of large language models" in shown(app.expander[0].markdown[0].value)
    assert "**a** accept" in app.caption[0].value and "**u** undo" in app.caption[0].value


@pytest.mark.parametrize("role, sees", [(Role.LEAD, True), (Role.ADMIN, True),
                                        (Role.CURATOR, False), (Role.VIEWER, False)])
def test_only_leads_and_admins_get_the_adjudicate_page(
        dispute: int, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, role: Role,
        sees: bool) -> None:
    monkeypatch.setenv("CURATION_AUTH", "1")
    get_settings.cache_clear()
    # app.py hides error details with accounts on; put the global option back for later tests.
    details = config.get_option("client.showErrorDetails")
    request.addfinalizer(lambda: config.set_option("client.showErrorDetails", details))
    with session_scope() as session:
        add_user(session, LOCAL_ADMIN, "pat", role, PASSWORD)
    token = log_in("pat", PASSWORD)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.session_state[TOKEN_KEY] = token
    app.run()
    if sees:
        app.switch_page("pages/adjudicate.py").run()
        assert app.title[0].value == "Adjudicate" and app.button
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page("pages/adjudicate.py")
        alone = AppTest.from_file(str(REPO / "pages" / "adjudicate.py"), default_timeout=60)
        alone.session_state[TOKEN_KEY] = token
        alone.run()
        assert "may not settle items two curators disagreed on" in shown(alone.error[0].value)
        assert not alone.button


def _page_as(name: str, page: str, request: pytest.FixtureRequest) -> AppTest:
    """page in app.py's navigation, logged in as name (accounts on)."""
    details = config.get_option("client.showErrorDetails")  # app.py changes it with accounts on
    request.addfinalizer(lambda: config.set_option("client.showErrorDetails", details))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.session_state[TOKEN_KEY] = log_in(name, PASSWORD)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def test_items_and_errors_show_a_label_waiting_for_the_second_curator_only_to_its_curator(
        db_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.setenv("CURATION_OVERLAP", "0.5")
    monkeypatch.setenv("CURATION_AUTH", "1")
    get_settings.cache_clear()
    with session_scope() as session:
        ids = add_items(session, 10)
        pending = next(i for i in ids if is_overlap_item(i))
        add_active_model(session, {pending: 0.1})
        for name in ("ann", "bob"):
            add_user(session, LOCAL_ADMIN, name, Role.CURATOR, PASSWORD)
        decide(session, Actor("ann", Role.CURATOR), pending, "accept")

    def label_of(table) -> str | None:  # table: a DataFrame
        value = table.set_index("id")["label"][pending]
        return value if isinstance(value, str) else None

    for name, label in (("ann", "accept"), ("bob", None)):
        assert label_of(_page_as(name, "pages/items.py", request).table[0].value) == label
        searched = _page_as(name, "pages/items.py", request)
        searched.text_input(key="search").input(f"post {pending - 1}").run()
        assert label_of(searched.table[0].value) == label
        errors = _page_as(name, "pages/errors.py", request)
        false_negatives = [d.value for d in errors.table]
        assert bool(false_negatives and pending in list(false_negatives[0]["id"])) is (label is not None)
