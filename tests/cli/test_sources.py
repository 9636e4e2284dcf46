"""Input readers of ``flowodm produce``: formats, row numbering, exact values, clear errors."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowodm.cli.sources import Source, read_chunks, resolve_source
from flowodm.cli.usage import UsageError
from flowodm.exceptions import FlowODMError


def _read(
    source: Source, chunk_size: int = 2, start: int = 0, stop: int | None = None
) -> list[pd.DataFrame]:
    return list(read_chunks(source, chunk_size=chunk_size, start=start, stop=stop))


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames)


# --- resolve_source -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "gz"),
    [
        ("a.csv", "csv", False),
        ("a.CSV", "csv", False),
        ("a.jsonl", "jsonl", False),
        ("a.ndjson", "jsonl", False),
        ("a.parquet", "parquet", False),
        ("a.csv.gz", "csv", True),
        ("a.jsonl.gz", "jsonl", True),
    ],
)
def test_format_comes_from_the_extension(tmp_path: Path, name: str, fmt: str, gz: bool) -> None:
    (tmp_path / name).write_bytes(b"")
    source = resolve_source(str(tmp_path / name))
    assert (source.format, source.gzip) == (fmt, gz)


def test_explicit_format_wins_over_an_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "rows.txt").write_text("a\n1\n")
    assert resolve_source(str(tmp_path / "rows.txt"), "csv").format == "csv"


def test_unknown_extension_without_format_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "rows.txt").write_text("a\n1\n")
    with pytest.raises(UsageError, match=r"'\.txt'.*--format csv\|jsonl\|parquet"):
        resolve_source(str(tmp_path / "rows.txt"))


def test_missing_file_and_directory_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        resolve_source(str(tmp_path / "nope.csv"))
    with pytest.raises(UsageError, match="not a regular file"):
        resolve_source(str(tmp_path))


def test_stdin_defaults_to_jsonl_and_refuses_parquet() -> None:
    assert resolve_source("-") == Source("-", "jsonl")
    assert resolve_source("-", "csv") == Source("-", "csv")
    with pytest.raises(UsageError, match="Parquet cannot be read from stdin"):
        resolve_source("-", "parquet")


def test_gzipped_parquet_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.parquet.gz").write_bytes(b"")
    with pytest.raises(UsageError, match="gzip-compressed Parquet"):
        resolve_source(str(tmp_path / "a.parquet.gz"))


def test_unknown_format_name_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown --format 'xml'"):
        resolve_source("-", "xml")


# --- CSV ----------------------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str, name: str = "rows.csv") -> Source:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return resolve_source(str(path))


def test_csv_rows_are_numbered_by_file_position_across_chunks(tmp_path: Path) -> None:
    source = _csv(tmp_path, "id,name\n" + "".join(f"{i},n{i}\n" for i in range(5)))
    frames = _read(source, chunk_size=2)
    assert [list(f.index) for f in frames] == [[0, 1], [2, 3], [4]]
    assert _concat(frames)["name"].tolist() == [f"n{i}" for i in range(5)]


def test_csv_cells_stay_text_and_only_empty_unquoted_cells_are_missing(tmp_path: Path) -> None:
    source = _csv(tmp_path, 'code,note\n00123,NA\n7,""\n8,\n9,null\n')
    frame = _concat(_read(source, chunk_size=10))
    assert frame["code"].tolist() == ["00123", "7", "8", "9"]
    assert frame["note"].iloc[0] == "NA"
    assert frame["note"].iloc[1] == ""
    assert pd.isna(frame["note"].iloc[2])
    assert frame["note"].iloc[3] == "null"


def test_csv_quoted_newlines_commas_and_bom(tmp_path: Path) -> None:
    source = _csv(tmp_path, '\ufeffid,text\n1,"a, b"\n2,"line1\nline2"\n3,"say ""hi"""\n')
    frame = _concat(_read(source, chunk_size=10))
    assert list(frame.columns) == ["id", "text"]
    assert frame["text"].tolist() == ["a, b", "line1\nline2", 'say "hi"']
    assert list(frame.index) == [0, 1, 2]


def test_csv_start_and_stop_select_rows(tmp_path: Path) -> None:
    source = _csv(tmp_path, "id\n" + "".join(f"{i}\n" for i in range(10)))
    frames = _read(source, chunk_size=3, start=4, stop=9)
    assert [list(f.index) for f in frames] == [[4, 5, 6], [7, 8]]
    assert _concat(frames)["id"].tolist() == ["4", "5", "6", "7", "8"]


def test_csv_row_with_too_few_fields_names_the_row(tmp_path: Path) -> None:
    source = _csv(tmp_path, "a,b\n1,2\n3,4\n5\n6,7\n")
    with pytest.raises(FlowODMError, match=r"rows\.csv: row 2 has 1 fields but the header has 2"):
        _read(source)


def test_csv_row_with_too_many_fields_names_the_row(tmp_path: Path) -> None:
    source = _csv(tmp_path, "a,b\n1,2\n3,4,5\n")
    with pytest.raises(FlowODMError, match=r"row 1 has 3 fields but the header has 2"):
        _read(source)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the first line must be the CSV header"),
        ("a,,b\n1,2,3\n", "header column 2 has no name"),
        ("a,b,a\n1,2,3\n", "column name 'a' appears twice in the header"),
    ],
)
def test_csv_bad_header_is_explained(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(FlowODMError, match=message):
        _read(_csv(tmp_path, text))


def test_csv_that_is_not_utf8_is_an_error_naming_the_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name\nJos\xe9\n".encode("latin-1"))
    with pytest.raises(FlowODMError, match=r"latin\.csv: row 0 column 'name' is not valid UTF-8"):
        _read(resolve_source(str(path)))


def _until_error(source: Source, chunk_size: int) -> tuple[list[pd.DataFrame], FlowODMError]:
    """The frames yielded before the reader raised, and the error."""
    frames: list[pd.DataFrame] = []
    with pytest.raises(FlowODMError) as info:
        for frame in read_chunks(source, chunk_size=chunk_size):
            frames.append(frame)
    return frames, info.value


def _numbered_csv(tmp_path: Path, rows: int, bad: dict[int, bytes]) -> Source:
    """``id,name`` rows ``i,n{i}``, with the rows in ``bad`` replaced by raw bytes."""
    lines = [bad.get(i, f"{i},n{i}".encode()) for i in range(rows)]
    path = tmp_path / "rows.csv"
    path.write_bytes(b"id,name\n" + b"\n".join(lines) + b"\n")
    return resolve_source(str(path))


@pytest.mark.parametrize(
    ("rows", "bad_row", "chunk_size"),
    [
        (20_000, 5_000, 1_000),  # on a chunk boundary, inside the parser's first block
        (20_000, 5_500, 1_000),  # inside a chunk
        (20_000, 0, 1_000),  # the very first row
        (300_000, 150_000, 10_000),  # in a later parser block (the file is about 3.6 MB)
    ],
)
def test_csv_rows_before_a_malformed_row_are_all_yielded_first(
    tmp_path: Path, rows: int, bad_row: int, chunk_size: int
) -> None:
    source = _numbered_csv(tmp_path, rows, {bad_row: f"{bad_row}".encode()})
    frames, error = _until_error(source, chunk_size)
    yielded = [i for frame in frames for i in frame.index]
    assert yielded == list(range(bad_row))
    assert all(len(frame) == chunk_size for frame in frames[:-1])
    assert f"row {bad_row} has 1 fields but the header has 2" in str(error)
    if frames:
        assert frames[-1]["name"].iloc[-1] == f"n{bad_row - 1}"


def test_csv_rows_before_bytes_that_are_not_utf8_are_all_yielded_first(tmp_path: Path) -> None:
    source = _numbered_csv(tmp_path, 20_000, {7_001: b"7001,caf\xe9"})
    frames, error = _until_error(source, 1_000)
    assert [i for frame in frames for i in frame.index] == list(range(7_001))
    assert "rows.csv: row 7001 column 'name' is not valid UTF-8" in str(error)


def test_csv_limit_before_a_malformed_row_reads_without_error(tmp_path: Path) -> None:
    source = _numbered_csv(tmp_path, 2_000, {1_500: b"1500"})
    frames = _read(source, chunk_size=1_000, stop=1_500)
    assert [len(f) for f in frames] == [1_000, 500]


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv.gz"
    path.write_bytes(gzip.compress(b"id\n1\n2\n3\n"))
    frame = _concat(_read(resolve_source(str(path)), chunk_size=2))
    assert frame["id"].tolist() == ["1", "2", "3"]


def test_truncated_gzip_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:-30])
    with pytest.raises(FlowODMError, match=r"rows\.jsonl\.gz: cannot read"):
        _read(resolve_source(str(path)), chunk_size=10_000)


# --- JSON Lines ---------------------------------------------------------------------------------


def _jsonl(tmp_path: Path, lines: list[str]) -> Source:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return resolve_source(str(path))


def test_jsonl_keeps_json_values_exactly(tmp_path: Path) -> None:
    big = 2**63 + 1
    source = _jsonl(
        tmp_path,
        [
            json.dumps({"id": big, "tags": ["a"], "meta": {"k": 1}, "code": "007"}),
            json.dumps({"id": None, "tags": [], "meta": None, "code": "8"}),
        ],
    )
    frame = _concat(_read(source, chunk_size=10))
    assert frame["id"].tolist() == [big, None]
    assert frame["tags"].tolist() == [["a"], []]
    assert frame["meta"].iloc[0] == {"k": 1}
    assert frame["code"].tolist() == ["007", "8"]


def test_jsonl_missing_key_is_a_missing_cell(tmp_path: Path) -> None:
    frame = _concat(_read(_jsonl(tmp_path, ['{"a": 1, "b": 2}', '{"a": 3}']), chunk_size=10))
    assert pd.isna(frame["b"].iloc[1])


def test_jsonl_blank_lines_are_not_rows(tmp_path: Path) -> None:
    source = _jsonl(tmp_path, ['{"a": 0}', "", "   ", '{"a": 1}', '{"a": 2}'])
    frames = _read(source, chunk_size=2, start=1)
    assert [list(f.index) for f in frames] == [[1, 2]]
    assert _concat(frames)["a"].tolist() == [1, 2]


def test_jsonl_bad_line_names_row_and_line(tmp_path: Path) -> None:
    source = _jsonl(tmp_path, ['{"a": 0}', "", '{"a": 1', '{"a": 2}'])
    with pytest.raises(FlowODMError, match=r"row 1 \(line 3\) is not valid JSON"):
        _read(source)


def test_jsonl_rows_before_a_bad_line_are_all_yielded_first(tmp_path: Path) -> None:
    lines = [json.dumps({"id": i}) for i in range(7)]
    lines[5] = "{not json"
    frames, error = _until_error(_jsonl(tmp_path, lines), chunk_size=4)
    assert [list(f.index) for f in frames] == [[0, 1, 2, 3], [4]]
    assert "row 5 (line 6) is not valid JSON" in str(error)


def test_jsonl_line_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FlowODMError, match=r"row 1 \(line 2\) is a JSON list, not an object"):
        _read(_jsonl(tmp_path, ['{"a": 0}', "[1, 2]"]))


def test_jsonl_rows_before_start_are_skipped_without_parsing(tmp_path: Path) -> None:
    # The broken line lies before the resume point: it was handled by an earlier run.
    source = _jsonl(tmp_path, ["not json", '{"a": 1}'])
    frame = _concat(_read(source, start=1))
    assert frame["a"].tolist() == [1]
    assert list(frame.index) == [1]


def test_gzipped_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    assert _concat(_read(resolve_source(str(path))))["a"].tolist() == [1, 2]


# --- stdin --------------------------------------------------------------------------------------


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(data)))


def test_stdin_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b'{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    frames = _read(resolve_source("-"), chunk_size=2)
    assert [list(f.index) for f in frames] == [[0, 1], [2]]


def test_stdin_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b"a,b\n1,x\n2,y\n")
    frame = _concat(_read(resolve_source("-", "csv"), chunk_size=10))
    assert frame.to_dict("list") == {"a": ["1", "2"], "b": ["x", "y"]}


# --- Parquet ------------------------------------------------------------------------------------


def _parquet(tmp_path: Path, table: pa.Table, row_group_size: int = 3) -> Source:
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, row_group_size=row_group_size)
    return resolve_source(str(path))


def test_parquet_skips_row_groups_and_numbers_rows(tmp_path: Path) -> None:
    source = _parquet(tmp_path, pa.table({"id": list(range(10))}))
    assert source.row_count() == 10
    frames = _read(source, chunk_size=4, start=4, stop=9)
    assert [list(f.index) for f in frames] == [[4, 5, 6, 7], [8]]
    assert _concat(frames)["id"].tolist() == [4, 5, 6, 7, 8]


def test_parquet_keeps_integers_exact_and_nested_values_as_python(tmp_path: Path) -> None:
    big = 2**62 + 1
    table = pa.table(
        {
            "id": pa.array([big, None], pa.int64()),
            "tags": pa.array([["a", "b"], None], pa.list_(pa.string())),
            "meta": pa.array([{"k": 1}, {"k": 2}], pa.struct([("k", pa.int64())])),
            "attrs": pa.array([[("x", 1)], []], pa.map_(pa.string(), pa.int64())),
        }
    )
    frame = _concat(_read(_parquet(tmp_path, table), chunk_size=10))
    assert frame["id"].tolist() == [big, None]
    assert frame["tags"].tolist() == [["a", "b"], None]
    assert isinstance(frame["tags"].iloc[0], list)
    assert frame["meta"].tolist() == [{"k": 1}, {"k": 2}]
    assert frame["attrs"].tolist() == [{"x": 1}, {}]


def test_not_a_parquet_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("id\n1\n")
    with pytest.raises(FlowODMError, match=r"fake\.parquet: not a readable Parquet file"):
        _read(resolve_source(str(path)))


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    source = _csv(tmp_path, "a\n1\n")
    with pytest.raises(ValueError, match="chunk_size"):
        _read(source, chunk_size=0)
