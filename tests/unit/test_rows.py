from pathlib import Path

import pytest

from curation.errors import ImportFileError
from curation.files.rows import Row, RowError, read_rows
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
