"""`make screenshots`: a PNG of every page, with the sample data, for the README.

Builds a throwaway CURATION_HOME from sample/, trains and scores with the packaged model, records
a few decisions, serves the app on a free loopback port and photographs each page in Debian's
headless Chromium."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
PAGES = ["queue", "items", "sources", "model", "errors", "compare", "activity"]


def cli(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "curation", *args], cwd=REPO, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def prepare() -> None:
    cli("init")
    cli("import", "sample/research_radar_sample.jsonl")
    cli("train", "--promote")
    cli("score")
    for n in range(3):
        item = cli("next", "--curator", "ann")
        cli("decide", str(item["id"]), "accept" if n % 2 else "reject", "--curator", "ann", "--seconds", str(8 + n))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photograph(base: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--window-size=1400,1100", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        for page in PAGES:
            driver.get(f"{base}/{'' if page == 'queue' else page}")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not driver.execute_script(
                    "return document.querySelector('[data-testid=stAppViewContainer] h1') !== null "
                    "&& !document.querySelector('[data-testid=stStatusWidget]')"):
                time.sleep(0.5)
            time.sleep(2)  # let charts finish drawing
            driver.save_screenshot(str(OUT / f"{page}.png"))
            print(f"saved {OUT / page}.png", file=sys.stderr)
    finally:
        driver.quit()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        os.environ["CURATION_HOME"] = home
        os.environ.pop("CURATION_DATABASE_URL", None)
        prepare()
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for line in server.stdout:
                if "URL:" in line:
                    break
            photograph(f"http://127.0.0.1:{port}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
