import subprocess
import sys
from pathlib import Path

from tests.factories import REPO, make_row, run_cli, write_jsonl


def test_init_import_stats_export_round_trip(db_url: str, tmp_path: Path) -> None:
    code, out, _ = run_cli("init")
    assert code == 0 and out["revision"]
    path = write_jsonl(tmp_path / "rows.jsonl", [make_row(1), make_row(2, "reject"), make_row(3, None)])
    code, out, err = run_cli("import", str(path))
    assert code == 0 and out["imported"] == 3 and "importing rows: 3/3" in err
    assert (f"queued search index job #{out['index_job']} and score job #{out['score_job']} for the worker"
            in err)  # no button: the worker indexes, embeds and scores them
    code, out, _ = run_cli("stats")
    assert (out["items"], out["labelled"], out["labels"]) == (3, 2, {"accept": 1, "reject": 1})
    code, out, _ = run_cli("export", "--format", "csv", str(tmp_path / "out.csv"))
    assert code == 0 and out["rows"] == 3


def test_bad_file_exits_nonzero_with_the_line_and_leaves_the_database_as_it_was(
    db_url: str, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [make_row(1), {"text": "x", "answer": "yes"}])
    code, out, err = run_cli("import", str(path))
    assert code == 1
    assert f"{path}:2: answer: unknown label 'yes'" in out["error"]
    assert err.startswith("error: 1 invalid row(s), nothing imported")
    assert run_cli("stats")[1]["items"] == 0


def test_missing_file_and_unknown_format_are_clear_errors(db_url: str, tmp_path: Path) -> None:
    code, out, _ = run_cli("import", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "no such file" in out["error"]
    code, out, _ = run_cli("export", "--format", "xml", str(tmp_path / "o.xml"))
    assert code == 1 and out["error"] == "unknown export format 'xml'; use one of jsonl, csv"


def test_import_if_empty_seeds_only_an_empty_database(db_url: str, tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [make_row(1)])
    second = write_jsonl(tmp_path / "b.jsonl", [make_row(2)])
    assert run_cli("import", "--if-empty", str(first))[1]["imported"] == 1
    assert run_cli("import", "--if-empty", str(second))[1]["imported"] == 0


def test_two_processes_import_into_one_sqlite_file_at_once(home: Path, tmp_path: Path) -> None:
    """Both writers must wait their turn; neither may surface "database is locked"."""
    assert run_cli("init")[0] == 0
    files = [write_jsonl(tmp_path / f"part{p}.jsonl", [make_row(p * 10_000 + i) for i in range(1500)])
             for p in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "curation", "import", str(f)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in files]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert not any("locked" in err for _, err in outputs)
    assert run_cli("stats")[1]["items"] == 3000


def test_train_score_evaluate_from_the_command_line_say_which_model_is_used(
    home: Path, tmp_path: Path, monkeypatch
) -> None:
    """SQLite only: each of these commands loads torch in a fresh process, which is slow; the
    domain functions run on both databases in tests/integration/test_classifier.py."""
    from tests.factories import labelled_rows

    for name, value in {"CURATION_HUB_OFFLINE": "1", "CURATION_WINDOW_TOKENS": "32",
                        "CURATION_MIN_LABELS_PER_CLASS": "5"}.items():
        monkeypatch.setenv(name, value)
    labelled = write_jsonl(tmp_path / "labelled.jsonl", labelled_rows(6, 6))
    assert run_cli("init")[0] == 0 and run_cli("import", str(labelled))[0] == 0
    code, out, err = run_cli("train", "--promote")
    assert code == 0 and out["promoted"] and out["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert "warning: base model 'answerdotai/ModernBERT-base' could not be loaded" in err
    code, out, err = run_cli("score")  # the promotion scored the 12 stored items already
    assert code == 0 and out["scored"] == 0 and "scorer: trained classifier" in err
    code, out, _ = run_cli("evaluate", str(write_jsonl(tmp_path / "eval.jsonl", labelled_rows(3, 3, start=50))))
    assert code == 0 and list(out) == ["n", "accuracy", "precision", "recall", "f1"] and out["n"] == 6



def test_import_warns_about_csv_columns_it_ignores(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("\ufefftext,answr\nSome text,accept\n", encoding="utf-8")
    run_cli("init")
    code, out, err = run_cli("import", str(path))
    assert code == 0 and out["imported"] == 1 and out["labelled"] == 0
    assert out["warnings"] == [f"{path}: column(s) 'answr' ignored; import reads "
                               "text, meta, answer, url, title, published_date, author"]
    assert f"warning: {path}: column(s) 'answr' ignored" in err


def test_import_reports_each_duplicate_row_and_takes_on_conflict(home: Path, tmp_path: Path) -> None:
    run_cli("init")
    path = write_jsonl(tmp_path / "rows.jsonl", [make_row(1, None), make_row(1, "accept"), make_row(1, "reject")])
    code, out, _ = run_cli("import", str(path))
    assert code == 1 and "the item of line 1: line 2 says 'accept', line 3 says 'reject'" in out["error"]
    code, out, err = run_cli("import", str(path), "--on-conflict", "replace")
    assert code == 0 and (out["imported"], out["labelled"], out["duplicates"]) == (1, 1, 2)
    assert out["duplicate_rows"][1] == ("line 3: duplicate of item 1 (same URL as line 1): label added "
                                        "(conflicting labels, --on-conflict replace)")
    assert "line 2: duplicate of item 1 (same URL as line 1): label 'accept' dropped for 'reject'" in err
