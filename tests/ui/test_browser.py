"""One end-to-end run in a real headless Chromium: start the app, triage two items with the
keyboard, check the database. Needs Debian's chromium and chromium-driver (.ci/run installs them)."""

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Decision
from db.session import session_scope
from tests.factories import REPO, add_items

PASSWORD = "correct horse battery"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_app(home: Path) -> Iterator[str]:
    """The real app under `streamlit run`, on a free loopback port, with its own SQLite database."""
    yield from _serve()


@pytest.fixture
def served_app_with_accounts(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app with accounts on and one curator, ann."""
    from curation.accounts.permissions import LOCAL_ADMIN
    from curation.accounts.users import add_user
    from curation.settings import get_settings
    from db.migrate import upgrade

    monkeypatch.setenv("CURATION_AUTH", "1")
    get_settings.cache_clear()
    upgrade()
    with session_scope() as session:
        add_user(session, LOCAL_ADMIN, "ann", "curator", PASSWORD)
    yield from _serve()


def _serve() -> Iterator[str]:
    from db.migrate import upgrade

    upgrade()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        for line in proc.stdout:  # wait until the server says it is listening
            if "URL:" in line:
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _chrome(profile: Path | None = None):
    """Headless Chromium; with a profile folder, its cookies outlive the browser like a user's."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    if profile:
        options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browser() -> Iterator["object"]:
    driver = _chrome()
    try:
        yield driver
    finally:
        driver.quit()


def test_triage_two_items_with_the_keyboard_in_a_real_browser(served_app: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    with session_scope() as session:
        first, second = add_items(session, 2)
    wait = WebDriverWait(browser, 60)
    browser.get(served_app)

    def heading(text: str) -> None:
        wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "h3"), text))

    def press(key: str) -> None:
        # The key listener comes with the triage fragment; wait until it is attached.
        wait.until(lambda d: d.execute_script("return !!window.__curationKeys"))
        browser.find_element(By.TAG_NAME, "body").send_keys(key)

    heading("Post 1")  # newest first while there is no model
    icon = browser.execute_script("return document.querySelector('link[rel~=\"icon\"]').href")
    assert icon.startswith(served_app + "/"), icon  # served by the app, not fetched from a CDN
    press("a")
    heading("Post 0")
    press("r")
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), "Nothing left to curate"))
    with session_scope() as session:
        decisions = session.execute(select(Decision.item_id, Decision.label, Decision.curator)
                                    .order_by(Decision.id)).all()
    assert decisions == [(second, "accept", "local"), (first, "reject", "local")]


PAYLOAD_TITLE = ('<img src=x onerror="window.__pwned=1"> **Accept now** [docs](javascript:window.__pwned=2) '
                 "see https://evil.example/login, www.evil.example or help@evil.example")
PAYLOAD_TEXT = ("<script>window.__pwned=3</script> ![pixel](http://127.0.0.1:9/t.png) "
                "<a href=\"javascript:window.__pwned=4\">click</a> # Fake heading\n:red[warning] body")


def test_hostile_title_and_text_render_as_inert_text_in_a_real_browser(served_app: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    with session_scope() as session:
        add_items(session, 1, title=PAYLOAD_TITLE, text=PAYLOAD_TEXT)
    browser.get(served_app)
    wait = WebDriverWait(browser, 60)
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "h3"), "Accept now"))
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".doc"), "body"))
    heading = browser.find_element(By.CSS_SELECTOR, "h3").text
    assert heading.startswith('<img src=x onerror="window.__pwned=1"> **Accept now**')
    document = browser.find_element(By.CSS_SELECTOR, ".doc").text
    assert "<script>window.__pwned=3</script>" in document and "![pixel]" in document
    found = browser.execute_script("""return {
        pwned: window.__pwned === undefined ? null : window.__pwned,
        images: [...document.querySelectorAll('img')].map(i => i.getAttribute('src')),
        jsLinks: document.querySelectorAll('a[href^="javascript"]').length,
        evilLinks: [...document.querySelectorAll('a')].filter(a => a.href.includes('evil.example')).length,
        scripts: [...document.querySelectorAll('.doc script, h3 script')].length}""")
    assert found == {"pwned": None, "images": [], "jsLinks": 0, "evilLinks": 0, "scripts": 0}
    browser.get(f"{served_app}/items")  # the same title and its URL in a table (st.table: markdown cells)
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, '[data-testid="stTable"]'), "Accept now"))
    table = browser.find_element(By.CSS_SELECTOR, '[data-testid="stTable"]')
    assert '<img src=x onerror="window.__pwned=1"> **Accept now**' in table.text.replace("\u200b", "")
    found = browser.execute_script("""return {
        pwned: window.__pwned === undefined ? null : window.__pwned,
        images: document.querySelectorAll('[data-testid="stTable"] img').length,
        links: document.querySelectorAll('[data-testid="stTable"] a').length}""")
    assert found == {"pwned": None, "images": 0, "links": 0}


def test_a_login_survives_reload_and_new_tab_and_ends_everywhere_at_logout(
        served_app_with_accounts: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from db.models import LoginSession

    with session_scope() as session:
        add_items(session, 2)
    wait = WebDriverWait(browser, 60)

    def body_says(text: str) -> None:
        wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), text))

    def click(label: str) -> None:
        wait.until(seen.element_to_be_clickable((By.XPATH, f'//button[.//p[text()="{label}"]]'))).click()

    def log_in() -> None:
        body_says("User name")
        browser.find_element(By.CSS_SELECTOR, 'input[aria-label="User name"]').send_keys("ann")
        browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]').send_keys(PASSWORD)
        click("Log in")
        body_says("Logged in as")
        wait.until(lambda d: d.get_cookie("curation_login"))

    def on_login_page() -> None:
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, 'input[aria-label="Password"]')))
        assert "Logged in as" not in browser.find_element(By.TAG_NAME, "body").text

    browser.get(served_app_with_accounts)
    log_in()
    cookie = browser.get_cookie("curation_login")
    assert cookie["sameSite"] == "Strict" and len(cookie["value"]) >= 40
    with session_scope() as session:  # the database keeps only the token's hash
        assert cookie["value"] not in {s.token_hash for s in session.query(LoginSession)}
    browser.refresh()
    body_says("Logged in as")
    body_says("Post 1")
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(served_app_with_accounts)
    body_says("Logged in as")
    click("Log out")
    on_login_page()
    browser.switch_to.window(first)  # its next action finds the login gone, and records nothing
    wait.until(lambda d: d.execute_script("return !!window.__curationKeys"))
    browser.find_element(By.TAG_NAME, "body").send_keys("a")
    on_login_page()
    with session_scope() as session:
        assert session.query(Decision).count() == 0

    log_in()  # an expired login gets the login page on the next reload
    with session_scope() as session:
        for login in session.query(LoginSession):
            login.expires_at = login.created_at
    browser.refresh()
    on_login_page()
    browser.delete_all_cookies()  # so does a forged cookie
    browser.add_cookie({"name": "curation_login", "value": "forged-" + "x" * 40, "path": "/"})
    browser.refresh()
    on_login_page()


def test_quick_presses_are_neither_lost_nor_doubled_in_a_real_browser(served_app: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    with session_scope() as session:
        ids = add_items(session, 6)
    wait = WebDriverWait(browser, 60)
    browser.get(served_app)
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "h3"), "Post 5"))
    wait.until(lambda d: d.execute_script("return !!window.__curationKeys"))
    browser.find_element(By.TAG_NAME, "body").send_keys("aaara")  # faster than the app redraws
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "h3"), "Post 0"))
    wait.until(lambda d: d.execute_script(
        "return window.__curationKeys.queue.length === 0 && window.__curationKeys.waiting === null"))
    with session_scope() as session:
        decisions = session.execute(select(Decision.item_id, Decision.label).order_by(Decision.id)).all()
    assert decisions == [(ids[5], "accept"), (ids[4], "accept"), (ids[3], "accept"),
                         (ids[2], "reject"), (ids[1], "accept")]


def test_a_login_survives_a_browser_restart(served_app_with_accounts: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tmp_path / "profile"
    for restart in (False, True):
        driver = _chrome(profile)
        try:
            wait = WebDriverWait(driver, 60)
            driver.get(served_app_with_accounts)
            if not restart:
                password = wait.until(seen.presence_of_element_located(
                    (By.CSS_SELECTOR, 'input[aria-label="Password"]')))
                driver.find_element(By.CSS_SELECTOR, 'input[aria-label="User name"]').send_keys("ann")
                password.send_keys(PASSWORD)
                wait.until(seen.element_to_be_clickable(
                    (By.XPATH, '//button[.//p[text()="Log in"]]'))).click()
                wait.until(lambda d: d.get_cookie("curation_login"))
            wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), "Logged in as"))
        finally:
            driver.quit()
