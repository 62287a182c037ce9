"""Key press to next item in real Chromium: `python bench/triage.py [--items 100000] [--labelled 5000]`.

Builds a SQLite database of ITEMS scored items (bench/queue.py's builder) with LABELLED of them
decided, serves the app, and presses "a" PRESSES times in headless Chromium, timing each press
from the keydown to the next item's title on screen, the page settling between presses as when
a person reads each item. Then it sends the keys in bursts of BURST at once, faster than any
page can redraw, and counts from the database the presses lost (fewer decisions than presses)
and doubled (an item decided twice). It runs the Queue page of this checkout and, in the same
run, the Queue page of an older commit (--old, default OLD: keys that click the buttons, only
the triage fragment rerunning), a git worktree of it on its own copy of the data, and prints
p50/p99/max, lost and doubled for both, and the ratio. Needs Debian's chromium and
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

OLD = "634514f"  # the last commit whose keys clicked the decision buttons
PRESSES = 100
BURST = 5
LOST_AFTER_S = 20.0
SETTLE_S = 0.3  # pause after the page settles, before the next press
READY_JS = "return !!(window.__curationKeys || window.__curationShortcuts)"  # ours, or OLD's listener
# No keys waiting in the browser, and nothing drawn stale: the app has caught up with the presses.
IDLE_JS = """const k = window.__curationKeys, p = window.__curationPresses;
return !document.querySelector('[data-stale="true"]') &&
  (k ? k.queue.length === 0 && k.waiting === null : !p || p.length === 0);"""
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


def lost_and_doubled(presses: int) -> tuple[int, int]:
    """From the database: presses that made no decision, and items decided more than once."""
    with session_scope() as session:
        mine = session.scalars(select(Decision.item_id).where(Decision.curator != "earlier")).all()
    get_engine().dispose()
    return max(presses - len(mine), 0), len(mine) - len(set(mine))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """`streamlit run app.py` from folder (with that folder's packages on the path)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(folder)}
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


@contextmanager
def old_checkout(rev: str, tmp: Path) -> Iterator[Path]:
    """A git worktree of rev, sharing this checkout's virtual environment."""
    tree = tmp / "old"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev],
                   check=True, capture_output=True)
    (tree / ".venv").symlink_to(REPO / ".venv")
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=True)


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


def press_times(driver, presses: int) -> tuple[list[float], int]:
    """Milliseconds from each press of "a" to the next title on screen, and the presses that
    moved nothing on within LOST_AFTER_S."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 120)
    driver.execute_script(TIMING_JS)
    body = driver.find_element(By.TAG_NAME, "body")
    times, stuck = [], 0
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
            stuck += 1
        # A person presses about once a second: let the page settle before the next press.
        wait.until(lambda d: d.execute_script(READY_JS) and d.execute_script(IDLE_JS))
        time.sleep(SETTLE_S)
    return times, stuck


def bursts(driver, presses: int) -> None:
    """presses of "a" sent BURST at a time, the next burst once the app has caught up."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 120)
    for _ in range(presses // BURST):
        driver.find_element(By.TAG_NAME, "body").send_keys("a" * BURST)
        time.sleep(SETTLE_S)  # let the first press reach the server before asking if it is idle
        wait.until(lambda d: d.execute_script(IDLE_JS))
    time.sleep(1)  # the last decision's commit


def run_app(folder: Path, presses: int) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with serve(folder) as url:
        driver = browser()
        try:
            wait = WebDriverWait(driver, 120)
            # Steady state, as after the first minute of a server: the Model page waits for the
            # model code that app.py imports in the background at start (its first seconds,
            # while that import runs, presses take 0.1-0.5 s: README).
            for page in ("", "/model"):
                driver.get(url + page)
                wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "h1"))
            driver.get(url)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "h3") and d.execute_script(READY_JS))
            times, stuck = press_times(driver, presses)
            paced = lost_and_doubled(presses)
            bursts(driver, presses)
        finally:
            driver.quit()
    burst_lost, burst_doubled = lost_and_doubled(2 * presses)
    return {"times": times, "stuck": stuck, "paced": paced,
            "burst": (burst_lost - paced[0], burst_doubled - paced[1])}


def report(name: str, result: dict) -> float:
    times = result["times"]
    p50 = statistics.median(times)
    p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
    print(f"{name}: p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  max {max(times):6.0f} ms  "
          f"no new item within {LOST_AFTER_S:.0f} s: {result['stuck']}; "
          f"paced lost/doubled {result['paced'][0]}/{result['paced'][1]}; "
          f"bursts of {BURST} lost/doubled {result['burst'][0]}/{result['burst'][1]}")
    print("  ", " ".join(f"{t:.0f}" for t in times))
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labelled", type=int, default=5_000)
    parser.add_argument("--presses", type=int, default=PRESSES)
    parser.add_argument("--old", default=OLD, help="the older commit to time in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["CURATION_HOME"] = str(tmp)
        os.environ.pop("CURATION_AUTH", None)
        results = {}
        with old_checkout(args.old, tmp) as old:
            for name, folder in (("ours", REPO), (f"old ({args.old})", old)):
                os.environ["CURATION_DATABASE_URL"] = f"sqlite:///{tmp}/{len(results)}.db"
                build(args.items, args.labelled)
                results[name] = run_app(folder, args.presses)
        print(f"{args.items:,} items, {args.labelled:,} labelled, {args.presses} presses of 'a' paced, "
              f"then {args.presses} in bursts of {BURST}:")
        ours, theirs = (report(name, result) for name, result in results.items())
        print(f"p50 ratio old / ours: {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
