from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.factories import REPO


@pytest.fixture
def open_page(db_url: str) -> Callable[[str], AppTest]:
    """Run app.py (the real router) and switch to a page, e.g. open_page("pages/queue.py")."""

    def _open(page: str) -> AppTest:
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
        if page != "pages/queue.py":
            app.switch_page(page).run()
        assert not app.exception, app.exception
        return app

    return _open
