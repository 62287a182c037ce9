"""Builders for test data: research-radar rows, files of them, and a CLI runner."""

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow
from markdown_it import MarkdownIt

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
    return run_cli_input("", *args, env=env)


def run_cli_input(
    stdin: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    """run_cli with text fed to stdin, e.g. a password for --password-stdin."""
    proc = subprocess.run(
        [sys.executable, "-m", "curation", *args], check=False, input=stdin,
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300,
    )
    lines = proc.stdout.strip().splitlines()
    return proc.returncode, json.loads(lines[-1]) if lines else {}, proc.stderr


def add_items(session: Any, n: int, *, start: int = 0, **fields: Any) -> list[int]:
    """n items with text, straight into the database; returns their ids in order."""
    from db.models import Item

    items = [Item(**({"canonical_url": f"https://example.com/posts/{i}", "url": f"https://example.com/posts/{i}",
                      "title": f"Post {i}", "text": f"Body of post {i}.", "content_hash": f"h{i}",
                      "source_type": "web", "fetch_status": "ok"} | fields))
             for i in range(start, start + n)]
    session.add_all(items)
    session.flush()
    return [item.id for item in items]


def add_active_model(session: Any, scores: dict[int, float], passage: str = "driving passage",
                     densities: dict[int, float] | None = None) -> int:
    """An active model version that scored the given items (density 1 unless given); returns its id."""
    from curation.enums import ModelStatus
    from db.models import ModelVersion, Score

    version = ModelVersion(base_model="test", n_train=10, metrics={"f1": 0.9}, path="/nowhere",
                           status=ModelStatus.TRAINED, active=True)
    session.add(version)
    session.flush()
    session.add_all(Score(item_id=i, model_version_id=version.id, probability=p, passage=passage,
                          density=(densities or {}).get(i, 1.0))
                    for i, p in scores.items())
    session.flush()
    return version.id


def add_assessment(session: Any, item_id: int, verdict: str, confidence: float = 0.8) -> None:
    from db.models import LLMAssessment

    session.add(LLMAssessment(item_id=item_id, provider="stub", model="stub-1", prompt_version="v1",
                              verdict=verdict, confidence=confidence, rationale="because"))
    session.flush()


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer makes of a markdown string, raw HTML allowed, so a test
    sees any tag or link the string could smuggle in."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)


def shown(markdown: str) -> str:
    """The text a reader sees for a markdown string: rendered, tags dropped, entities decoded,
    zero-width spaces (which md() puts where a bare URL would become a link) dropped."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered(markdown))).replace("\u200b", "").strip()


# Words the tiny test models can tell apart: one vocabulary per label, shared filler otherwise.
ACCEPT_WORDS = "deployed production latency customers rollout monitoring"
REJECT_WORDS = "recipe garden weather holiday poem painting"


def labelled_rows(n_accept: int, n_reject: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Short articles whose label shows in their words, so a tiny model can learn it in seconds."""
    rows = []
    for n in range(start, start + n_accept + n_reject):
        answer = "accept" if n - start < n_accept else "reject"
        words = ACCEPT_WORDS if answer == "accept" else REJECT_WORDS
        rows.append({"text": f"Story {n}. {words} {words} about item {n}.",
                     "meta": {"url": f"https://example.com/story/{n}", "title": f"Story {n}"},
                     "answer": answer})
    return rows


def add_document_vectors(session: Any, encoder: str, vectors: dict[int, list[float]]) -> None:
    """Stored document vectors for items made by add_items (content hash h{i} for item i + 1),
    under the encoder identity an active version names in metrics["encoder"]."""
    import numpy as np

    from db.models import Embedding

    for item_id, vector in vectors.items():
        unit = np.asarray(vector, dtype=np.float32)
        unit = (unit / np.linalg.norm(unit)).astype(np.float16)
        session.add(Embedding(encoder=encoder, content_hash=f"h{item_id - 1}", dim=len(unit), n_windows=1,
                              document=unit.tobytes(), head_input=unit.tobytes(),
                              spans=np.zeros((1, 2), np.int32).tobytes(),
                              windows=unit.tobytes()))
    session.flush()


def charts(app: Any) -> list[dict[str, Any]]:
    """The page's Vega-Lite charts as the browser gets them: each spec, with the rows of its
    data (which travel beside the spec, as Arrow) under "rows"."""
    found = []
    for chart in app.get("vega_lite_chart"):
        buffers = [chart.proto.data.data, *(dataset.data.data for dataset in chart.proto.datasets)]
        rows = [row for buffer in buffers if buffer for row in pyarrow.ipc.open_stream(buffer).read_all().to_pylist()]
        found.append(json.loads(chart.proto.spec) | {"rows": rows})
    return found


def chart_titles(app: Any) -> list[str]:
    """The title above each chart of the page, as a user reads them."""
    return [spec["title"] for spec in charts(app)]
