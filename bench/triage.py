"""Key press to next item in real Chromium: `python bench/triage.py [--items 100000] [--labelled 5000]`.

Builds a SQLite database of ITEMS scored items (bench/queue.py's builder) with LABELLED of them
decided, serves the app, and presses "a" PRESSES times in headless Chromium, timing each press
from the keydown to the next item's title on screen. It runs the Queue page of this checkout
(only the triage fragment reruns) and, in the same run, the Queue page as it was before the
fragment (PREVIOUS, every press reruns the whole page), and prints p50/p99/max and lost presses
(no new title within LOST_AFTER_S) for both, and the ratio. Needs Debian's chromium and
chromium-driver."""

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

from sqlalchemy import insert, select  # noqa: E402

from db.models import Decision, Item  # noqa: E402
from db.session import get_engine, session_scope  # noqa: E402

PREVIOUS = "b583236"  # the commit whose Queue page reran whole on every press
PRESSES = 100
LOST_AFTER_S = 20.0
SETTLE_S = 0.3  # pause after the page settles, before the next press
# Records the moment of the key press (capture phase, before the app's own listener) and the
# moment the next title shows, by a MutationObserver on the page.
TIMING_JS = """
const doc = document;
window.__press = null; window.__shown = null; window.__title = null;
doc.addEventListener('keydown', () => { window.__press = performance.now(); window.__shown = null; }, true);
new MutationObserver(() => {
  const h = doc.querySelector('h3'); const t = h ? h.textContent : null;
  if (t && t !== window.__title) { window.__title = t; window.__shown = performance.now(); }
}).observe(doc.body, {subtree: true, childList: true, characterData: true});
"""


def _load_queue_bench():
    spec = importlib.util.spec_from_file_location("bench_queue", REPO / "bench" / "queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(items: int, labelled: int) -> None:
    """ITEMS scored items; the first LABELLED decided, as after some weeks of triage."""
    queue_bench = _load_queue_bench()
    queue_bench.use_database(os.environ["CURATION_DATABASE_URL"])
    queue_bench.fill(items)
    with session_scope() as session:
        ids = session.scalars(select(Item.id).order_by(Item.id).limit(labelled)).all()
        session.execute(insert(Decision), [{"item_id": i, "label": "accept", "curator": "earlier"}
                                           for i in ids])
    get_engine().dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """`streamlit run app.py` from folder (with this checkout's packages on the path)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "URL:" in line:
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def previous_app(tmp: Path) -> Path:
    """app.py and pages/ of this checkout, with the Queue page of PREVIOUS."""
    folder = tmp / "previous"
    shutil.copytree(REPO / "pages", folder / "pages")
    shutil.copytree(REPO / ".streamlit", folder / ".streamlit")
    shutil.copy(REPO / "app.py", folder / "app.py")
    old = subprocess.run(["git", "show", f"{PREVIOUS}:pages/queue.py"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    (folder / "pages" / "queue.py").write_text(old)
    return folder


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=options)


def press_times(url: str, presses: int) -> tuple[list[float], int]:
    """Milliseconds from each press of "a" to the next title on screen, and the presses lost."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 120)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "h3"))
        wait.until(lambda d: d.execute_script("return !!window.__curationKeys"))
        driver.execute_script(TIMING_JS)
        body = driver.find_element(By.TAG_NAME, "body")
        times, lost = [], 0
        for _ in range(presses):
            before = driver.execute_script("return document.querySelector('h3').textContent")
            driver.execute_script("window.__title = arguments[0];", before)
            body.send_keys("a")
            deadline = time.monotonic() + LOST_AFTER_S
            while time.monotonic() < deadline:
                shown = driver.execute_script("return window.__shown && window.__press ? "
                                              "window.__shown - window.__press : null")
                if shown is not None:
                    times.append(shown)
                    break
                time.sleep(0.005)
            else:
                lost += 1
            # A person presses about once a second: let the page settle before the next press.
            wait.until(lambda d: d.execute_script(
                "return !!window.__curationKeys && !document.querySelector('[data-stale=\"true\"]')"))
            time.sleep(SETTLE_S)
        return times, lost
    finally:
        driver.quit()


def report(name: str, times: list[float], lost: int) -> float:
    p50 = statistics.median(times)
    p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
    print(f"{name}: p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  max {max(times):6.0f} ms  "
          f"lost {lost}/{len(times) + lost}")
    print("  ", " ".join(f"{t:.0f}" for t in times))
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labelled", type=int, default=5_000)
    parser.add_argument("--presses", type=int, default=PRESSES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["CURATION_HOME"] = str(tmp)
        os.environ.pop("CURATION_AUTH", None)
        results = {}
        apps = (("fragment (this checkout)", REPO), ("full rerun (previous)", previous_app(tmp)))
        for name, folder in apps:
            os.environ["CURATION_DATABASE_URL"] = f"sqlite:///{tmp}/{len(results)}.db"
            build(args.items, args.labelled)
            with serve(folder) as url:
                results[name] = press_times(url, args.presses)
        print(f"{args.items:,} items, {args.labelled:,} labelled, {args.presses} presses of 'a':")
        ours, theirs = (report(name, *result) for name, result in results.items())
        print(f"p50 ratio full rerun / fragment: {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
