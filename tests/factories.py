"""Builders for test data: research-radar rows, files of them, and a CLI runner."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def make_row(n: int, answer: str | None = "accept", *, words: int = 60, **meta: Any) -> dict[str, Any]:
    """A distinct article: its URL and text both carry n, so it never collides with another."""
    body = f"Article {n}. " + " ".join(f"word{n}_{i}" for i in range(words))
    return {
        "text": body,
        "meta": {"url": f"https://example.com/posts/{n}", "title": f"Post {n}", **meta},
        "answer": answer,
    }


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Rows that are not dicts are written as they are, to make bad lines on purpose."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "meta", "answer"])
        writer.writeheader()
        for row in rows:
            writer.writerow(row | {"meta": json.dumps(row.get("meta", {})), "answer": row.get("answer") or ""})
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Run `python -m curation ARGS` in a subprocess; returns (exit code, last JSON line, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "curation", *args],
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300,
    )
    lines = proc.stdout.strip().splitlines()
    return proc.returncode, json.loads(lines[-1]) if lines else {}, proc.stderr
