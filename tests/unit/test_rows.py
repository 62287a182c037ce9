from pathlib import Path

import pytest

from curation.errors import ImportFileError
from curation.files.rows import Row, RowError, ignored_columns, read_rows
from tests.factories import make_row, write_jsonl


def _reasons(path: Path) -> list[str]:
    return [r.reason for _, r in read_rows(path) if isinstance(r, RowError)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid JSON"),
        ('["a list"]', "a row must be a JSON object"),
        ('{"meta": {}}', "text: Field required"),
        ('{"text": "   "}', "text: text is empty"),
        ('{"text": 42}', "text: Input should be a valid string"),
        ('{"text": "t", "meta": {"url": "ftp://x"}}', "meta.url: 'ftp://x' is not an http(s) URL"),
        ('{"text": "t", "meta": {"published_date": "last week"}}', "is not an ISO date"),
        ('{"text": "t", "meta": "m"}', "meta: Input should be a valid dictionary"),
        ('{"text": "t", "answer": 1}', "answer: Input should be a valid string"),
    ],
)
def test_each_bad_row_gets_a_reason(tmp_path: Path, line: str, reason: str) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [line])
    (found,) = _reasons(path)
    assert reason in found


def test_good_rows_parse_with_line_numbers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [make_row(1), "", make_row(2, None)])
    parsed = list(read_rows(path))
    assert [n for n, _ in parsed] == [1, 3]
    assert all(isinstance(r, Row) for _, r in parsed)


def test_unsupported_file_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rows.xlsx"
    path.write_text("x")
    with pytest.raises(ImportFileError, match="unsupported file type '.xlsx'"):
        list(read_rows(path))


def test_a_byte_order_mark_is_accepted_in_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"text": "t", "answer": "accept"}\n', encoding="utf-8-sig")
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("text,answer\nt,accept\n", encoding="utf-8-sig")
    for path in (jsonl, csv_file):
        (number, row), = read_rows(path)
        assert number in (1, 2) and isinstance(row, Row) and row.answer == "accept"


def test_a_bad_csv_record_is_reported_at_the_line_where_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text('text,answer\n"one\nrecord\nover four\nlines",accept\n\n"   ",reject\n')
    parsed = list(read_rows(path))
    assert [n for n, _ in parsed] == [2, 7]
    assert isinstance(parsed[0][1], Row) and parsed[1][1] == RowError(line=7, reason="text: text is empty")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_file_that_is_not_utf8_names_its_first_bad_line(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rows{suffix}"
    csv_bytes, jsonl_bytes = b'text\n"fine"\n"caf\xe9"\n', b'{"text": "a"}\n{"text": "caf\xe9"}\n'
    path.write_bytes(csv_bytes if suffix == ".csv" else jsonl_bytes)
    with pytest.raises(ImportFileError, match=rf"rows\{suffix}:{3 if suffix == '.csv' else 2}: not UTF-8"):
        list(read_rows(path))


def test_csv_columns_import_does_not_read_are_named(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("text,answr,url,notes\nt,accept,https://e.com/a,x\n")
    assert ignored_columns(path) == ["answr", "notes"]
    assert ignored_columns(write_jsonl(tmp_path / "rows.jsonl", [make_row(1)])) == []
