"""Page settle times at scale: `python bench/pages.py [--items 100000] [--labels 5000] [--runs 3]`.

Fills a SQLite database with N items and scores (bench/queue.py's builder), L curator labels
and L LLM verdicts, starts the real app under `streamlit run`, and opens every page in headless
Chromium, twice: by its URL (a full load: bookmark, reload, new tab) and by a click on its sidebar
link from the page before it (how curators move between pages: the frontend stays, only the
script runs anew). A page has settled when Streamlit reports the script run finished
(data-test-script-state="notRunning" on stApp) with the page's title drawn and the page stops
changing. Prints the median of --runs per page and way. `--old REV` also times the pages of an older commit (a git worktree of
REV sharing the same database) in the same run, for the before/after ratio."""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)  # bench/queue.py would shadow the stdlib queue

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from curation.enums import ModelStatus
from curation.task import get_task
from db.models import Decision, Item, LLMAssessment, ModelVersion, Score
from db.session import session_scope
from models.metrics import classification_metrics

PAGES = ["queue", "items", "sources", "model", "errors", "compare", "activity", "users", "audit"]
DEFAULT_PAGE = "queue"  # app.py's default page, served at "/"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def fill(items: int, labels: int) -> None:
    """Items with scores, then labels and LLM verdicts on a random sample of them, and the
    metrics a trained model would have (model_metrics)."""
    from bench.queue import fill as fill_items_and_scores
    from bench.queue import use_database

    use_database(os.environ["CURATION_DATABASE_URL"])
    fill_items_and_scores(items)
    rng = random.Random(labels)
    with session_scope() as session:
        ids = rng.sample(list(session.scalars(select(Item.id))), labels)
        chosen = {i: rng.choice(["accept", "reject"]) for i in ids}
        session.execute(insert(Decision), [
            {"item_id": i, "label": label, "curator": rng.choice(["ann", "bob"]),
             "seconds_spent": rng.uniform(2, 60)} for i, label in chosen.items()])
        session.execute(insert(LLMAssessment), [
            {"item_id": i, "provider": "bench", "model": "bench", "prompt_version": "v1",
             "verdict": rng.choice(["accept", "reject"]), "confidence": rng.random(), "steps": [],
             "evidence": [], "cost_usd": 0.001, "latency_ms": rng.uniform(500, 3000),
             "tokens_in": 1000, "tokens_out": 100} for i in ids])
        model_metrics(session, chosen)


def model_metrics(session: Session, labels: dict[int, str]) -> None:
    """Cross-validated metrics on the active version (its scores against the labels, as
    training stores them: F1, precision, recall, confusion matrix, PR curve), and a newer
    version the promotion gate refused, so the Model page draws every chart it has."""
    active = session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).one()
    scores = dict(session.execute(select(Score.item_id, Score.probability)
                                  .where(Score.model_version_id == active.id)).all())
    ids = list(labels)
    y = [int(labels[i] == get_task().positive_label) for i in ids]
    active.metrics = {"cv": classification_metrics(y, [scores[i] for i in ids]) | {"folds": 5}}
    refused = classification_metrics(y[::2], [scores[i] * 0.9 for i in ids[::2]]) | {"folds": 5}
    session.add(ModelVersion(base_model="bench", n_train=len(ids) // 2, metrics={"cv": refused}, path="-",
                             status=ModelStatus.TRAINED, active=False))


def older_schema_copy(folder: Path, revision: str) -> str:
    """A copy of the bench database migrated down to an older commit's schema revision."""
    import shutil

    from alembic import command

    from db.migrate import _config
    from db.session import get_engine

    raw = get_engine().raw_connection()  # outside a transaction: fold the WAL into the file
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    get_engine().dispose()
    shutil.copy(folder / "pages.db", folder / "old.db")
    url = f"sqlite:///{folder}/old.db"
    config = _config()
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(folder: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=folder, env=os.environ | {"CURATION_DATABASE_URL": database_url}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "URL:" in line:
            break
    return proc, f"http://127.0.0.1:{port}"


def browser():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


# The script run has finished and a page title is drawn that is not the one of the page left
# (arguments[0]; "" after a full load): -1 until then, else the number of elements.
SETTLED = """const app = document.querySelector('[data-testid="stApp"]'), h1 = document.querySelector('h1');
if (!app || app.dataset.testScriptState !== 'notRunning' || !h1 || h1.innerText === arguments[0]) return -1;
return document.getElementsByTagName('*').length;"""


def _settled_after(driver, started: float, left: str, timeout: float = 120.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds from started until the script run has finished and the page stops changing (same
    element count over three polls 100 ms apart), so drawing in the browser counts too."""
    last, stable, settled_at = -1, 0, started
    while time.perf_counter() - started < timeout:
        count = driver.execute_script(SETTLED, left)
        if count >= 0 and count == last:
            stable += 1
        else:
            stable, settled_at = 0, time.perf_counter()
        if stable == 3:
            return settled_at - started
        last = count
        time.sleep(0.1)
    return float("inf")


def page_url(base: str, page: str) -> str:
    """The page's address: the default page is "/" ("/queue" shows a "Page not found" dialog)."""
    return f"{base}/{'' if page == DEFAULT_PAGE else page}"


def settle_seconds(driver, url: str) -> float:  # type: ignore[no-untyped-def]
    """A full load: a bookmark, a reload, a new tab (the browser starts the frontend anew)."""
    driver.get("about:blank")
    started = time.perf_counter()
    driver.get(url)
    return _settled_after(driver, started, "")


def click_seconds(driver, base: str, page: str) -> float:  # type: ignore[no-untyped-def]
    """A click on the page's sidebar link, from the page before it in PAGES (loaded first, not
    timed): how curators move between pages, the frontend kept and only the script run anew."""
    from selenium.webdriver.common.by import By

    settle_seconds(driver, page_url(base, PAGES[PAGES.index(page) - 1]))
    left = driver.find_element(By.TAG_NAME, "h1").text
    link = driver.find_element(By.CSS_SELECTOR, f'[data-testid="stSidebarNav"] a[href="{page_url(base, page)}"]')
    started = time.perf_counter()
    link.click()
    return _settled_after(driver, started, left)


MODES = {"load": lambda driver, base, page: settle_seconds(driver, page_url(base, page)), "click": click_seconds}


def time_pages(servers: dict[str, str], runs: int, modes: list[str]) -> dict[tuple[str, str], dict[str, float]]:
    """Median settle time per (server, mode) and page, loads alternating between the servers so
    load from elsewhere on the machine falls on both alike."""
    driver = browser()
    try:
        for base in servers.values():  # warm up: engine, schema check, each page's first imports
            for page in PAGES:  # "/" first (see README)
                settle_seconds(driver, page_url(base, page))
        times: dict[tuple[str, str], dict[str, float]] = {(name, mode): {} for name in servers for mode in modes}
        for page in PAGES:
            samples: dict[tuple[str, str], list[float]] = {key: [] for key in times}
            for _ in range(runs):
                for (name, mode), found in samples.items():
                    found.append(MODES[mode](driver, servers[name], page))
            for key, found in samples.items():
                times[key][page] = statistics.median(found)
            print(" ".join(f"{name} {mode} {page}: {times[name, mode][page]:.2f} s" for name, mode in times),
                  file=sys.stderr, flush=True)
        return times
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES),
                        help="load: open the page's URL (a full load); click: its sidebar link")
    parser.add_argument("--old", help="an older commit whose pages to time on the same data")
    parser.add_argument("--old-revision", default="0005_add_jobs_retry_of",
                        help="the schema revision of that commit; a copy of the data is migrated down to it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CURATION_HOME"] = tmp
        os.environ["CURATION_DATABASE_URL"] = f"sqlite:///{tmp}/pages.db"
        started = time.perf_counter()
        fill(args.items, args.labels)
        print(f"filled {args.items:,} items, {args.labels:,} labels in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        folders = {"ours": (REPO, os.environ["CURATION_DATABASE_URL"])}
        tree = Path(tmp) / "old"
        if args.old:
            old_url = older_schema_copy(Path(tmp), args.old_revision)
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.old],
                           check=True, capture_output=True)
            (tree / ".venv").symlink_to(REPO / ".venv")
            folders["old"] = (tree, old_url)
        procs, servers = [], {}
        try:
            for name, (folder, url) in folders.items():
                proc, servers[name] = serve(folder, url)
                procs.append(proc)
            times = time_pages(servers, args.runs, args.modes)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
            if args.old:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=True)
        for page in PAGES:
            print(f"{page:>9}:" + " |".join(_figures(times, mode, page) for mode in args.modes))


def _figures(times: dict[tuple[str, str], dict[str, float]], mode: str, page: str) -> str:
    ours = times["ours", mode][page]
    line = f" {mode} {ours:5.2f} s" + (" (over 2 s)" if ours >= 2 else "")
    if old := times.get(("old", mode), {}).get(page):
        line += f", old {old:5.2f} s, ratio {old / ours:.1f}x"
    return line

if __name__ == "__main__":
    main()
