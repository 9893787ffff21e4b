"""Registry extract readers: formats told by content, encodings, delimiters, row numbers, zip bombs, mappings."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeward.registry import readers
from homeward.registry.readers import (
    CANONICAL_FIELDS,
    SENSITIVE_FIELDS,
    FileProblem,
    Mapping,
    compile_mapper,
    formula_like,
    load_mapping,
    open_table,
    safe_cell,
)

HEADER = ["record_id", "given_name", "surname", "birth_place"]
ROWS = [
    ["R1", "Иван", "Петров", "Кызылбулаг"],
    ["R2", "Мария", "Сидорова, мл.", ""],
    ["R3", "Анна", 'Ким "Ли"', "Баку"],
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16-le-bom", "cp1251"]
EXPECTED_ENCODING = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16-le-bom": "utf-16", "cp1251": "cp1251"}


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    return text.encode(encoding)


def _csv_text(
    rows: list[list[str]], delimiter: str = ",", lineterminator: str = "\r\n", quoting: Any = csv.QUOTE_MINIMAL
) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=lineterminator, quoting=quoting).writerows(rows)
    return out.getvalue()


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def _all(table: readers.Table) -> list[tuple[int, list[str], int]]:
    return list(table.rows())


def _problem(excinfo: pytest.ExceptionInfo[FileProblem]) -> tuple[str, str]:
    return excinfo.value.where, excinfo.value.field


# --- constants and FileProblem -------------------------------------------------------------------------


def test_canonical_fields_are_the_person_file_columns_then_sensitive_then_previous_surname() -> None:
    assert CANONICAL_FIELDS[0] == "record_id"
    assert CANONICAL_FIELDS[18] == "current_city"
    assert CANONICAL_FIELDS[19:] == ("phone", "email", "document_number", "previous_surname")
    assert len(set(CANONICAL_FIELDS)) == len(CANONICAL_FIELDS) == 23
    assert SENSITIVE_FIELDS == ("phone", "email", "document_number")


def test_file_problem_names_where_field_and_reason() -> None:
    problem = FileProblem("row 12", "encoding", "the text there is not valid UTF-8")
    assert str(problem) == "row 12: encoding: the text there is not valid UTF-8"
    assert (problem.where, problem.field, problem.reason) == ("row 12", "encoding", "the text there is not valid UTF-8")


# --- CSV: encodings, delimiters, row numbers -----------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_csv_encodings_and_delimiters_are_detected(tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = _write(tmp_path / "extract.csv", _encode(_csv_text([HEADER, *ROWS], delimiter), encoding))
    with open_table(path) as table:
        assert (table.format, table.encoding, table.delimiter) == ("csv", EXPECTED_ENCODING[encoding], delimiter)
        assert table.header == HEADER
        assert _all(table) == [(2, ROWS[0], 0), (3, ROWS[1], 0), (4, ROWS[2], 0)]
        assert table.fraction_read() == 1.0


def test_cp1251_needs_cyrillic_text_and_latin1_is_refused(tmp_path: Path) -> None:
    latin1 = _write(tmp_path / "latin1.csv", "record_id,surname\r\nR1,Müller\r\nR2,Gómez\r\n".encode("latin-1"))
    with pytest.raises(FileProblem) as excinfo:
        open_table(latin1)
    assert _problem(excinfo) == ("file", "encoding")
    assert "UTF-8" in excinfo.value.reason


def test_quoted_newlines_keep_row_numbers_at_the_line_where_the_row_starts(tmp_path: Path) -> None:
    for ending in ("\n", "\r\n"):
        text = ending.join(
            [
                "record_id,given_name,note",
                'R1,"Иван',
                'Иванович",x',
                "R2,Пётр,y",
                "",
                'R3,"a',
                "b",
                'c",z',
                ",,",
                "R4,d,e",
                "",
            ]
        )
        path = _write(tmp_path / "multi.csv", text)
        with open_table(path) as table:
            rows = _all(table)
        assert [number for number, _, _ in rows] == [2, 4, 6, 10]
        assert rows[0][1] == ["R1", f"Иван{ending}Иванович", "x"]
        assert rows[2][1] == ["R3", f"a{ending}b{ending}c", "z"]


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


@settings(max_examples=60, deadline=None)
@given(
    delimiter=st.sampled_from(DELIMITERS := [",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16-le-bom"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    cells=st.lists(st.lists(st.text(alphabet="ab Ыə\"'\n\r,;\t|=", max_size=6), min_size=2, max_size=2), max_size=8),
)
def test_any_table_csv_writes_reads_back_with_its_row_numbers(
    delimiter: str, encoding: str, terminator: str, cells: list[list[str]]
) -> None:
    others = [d for d in DELIMITERS if d != delimiter]
    # Other candidate delimiters are left out: a column of "a,b" in a semicolon file is honestly ambiguous.
    cells = [["".join(c for c in value if c not in others) for value in row] for row in cells]
    rows = [[f"R{i}", *row] for i, row in enumerate(cells)]
    # csv.writer quotes only the characters of its own line terminator, so a bare "\r" needs QUOTE_ALL.
    quoting = csv.QUOTE_MINIMAL if terminator == "\r\n" else csv.QUOTE_ALL
    text = _csv_text([["record_id", "given_name", "surname"], *rows], delimiter, terminator, quoting)
    expected = []
    line = 2
    for row in rows:
        expected.append((line, row, 0))
        line += 1 + sum(_line_breaks(v) for v in row)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "x.csv", _encode(text, encoding))
        with open_table(path) as table:
            assert table.delimiter == delimiter
            assert _all(table) == expected


def test_header_after_blank_lines_and_rows_read_twice(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "\n\nrecord_id;surname\nR1;A\nR2;B\n")
    with open_table(path) as table:
        first = _all(table)
        assert first == [(4, ["R1", "A"], 0), (5, ["R2", "B"], 0)]
        assert _all(table) == first


def test_surplus_cells_are_counted_and_short_rows_padded(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "record_id,given_name,surname\nR1,a,b,c, d\nR2,a,b,,, \nR3,a\nR4,a,b,c\n")
    with open_table(path) as table:
        assert _all(table) == [
            (2, ["R1", "a", "b"], 2),
            (3, ["R2", "a", "b"], 0),
            (4, ["R3", "a", ""], 0),
            (5, ["R4", "a", "b"], 1),
        ]


def test_trailing_unnamed_header_columns_are_dropped_but_their_cells_count_as_surplus(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "record_id,surname,,\nR1,A,,\nR2,B,,late\n")
    with open_table(path) as table:
        assert table.header == ["record_id", "surname"]
        assert _all(table) == [(2, ["R1", "A"], 0), (3, ["R2", "B"], 1)]


def test_header_with_an_empty_name_is_refused_naming_the_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "record_id, ,surname\nR1,x,y\n")
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("header", "column 2")


def test_duplicate_header_names_are_refused_naming_the_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "record_id,surname,given_name, surname\nR1,a,b,c\n")
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("header", "surname")
    assert "column 2 and column 4" in excinfo.value.reason


def test_empty_and_blank_files_have_no_header(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as excinfo:
        open_table(_write(tmp_path / "empty.csv", b""))
    assert _problem(excinfo) == ("file", "content")
    with pytest.raises(FileProblem) as excinfo:
        open_table(_write(tmp_path / "blank.csv", "\n ,, \n\n"))
    assert _problem(excinfo) == ("header", "header")


def test_nul_bytes_at_the_start_mean_binary(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as excinfo:
        open_table(_write(tmp_path / "x.csv", b"record_id,surname\nR1,a\x00b\n"))
    assert _problem(excinfo) == ("file", "content")


def test_utf16_without_byte_order_mark_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as excinfo:
        open_table(_write(tmp_path / "x.csv", "record_id,surname\nR1,a\n".encode("utf-16-le")))
    assert _problem(excinfo) == ("file", "encoding")
    assert "byte order mark" in excinfo.value.reason


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    garbage = bytes((i * 131 + 7) % 255 + 1 for i in range(5000))  # no NUL, not UTF-8, not Cyrillic
    with pytest.raises(FileProblem) as excinfo:
        open_table(_write(tmp_path / "x.csv", garbage))
    assert _problem(excinfo) == ("file", "encoding")


def _long_prefix(rows: int = 40_000) -> str:
    """A header and enough rows to push what follows past the first megabyte."""
    return "record_id,given_name,surname\n" + "".join(f"R{i},Иван,Петров-Водкин\n" for i in range(rows))


def test_a_late_undecodable_byte_names_the_row_it_is_in(tmp_path: Path) -> None:
    prefix = _long_prefix()
    assert len(prefix.encode()) > 2**20
    bad_row = prefix.count("\n") + 2  # one good row, then the bad one
    data = (prefix + 'X1,a,b\nX2,"two\nlines ').encode() + "Ш".encode("cp1251") + b'",c\nX3,a,b\n'
    path = _write(tmp_path / "x.csv", data)
    with open_table(path) as table, pytest.raises(FileProblem) as excinfo:
        _all(table)
    assert _problem(excinfo) == (f"row {bad_row}", "encoding")
    assert "UTF-8" in excinfo.value.reason


def test_a_late_lone_surrogate_in_utf16_names_its_row(tmp_path: Path) -> None:
    prefix = _long_prefix(25_000)
    assert len(prefix.encode("utf-16-le")) > 2**20
    data = codecs.BOM_UTF16_LE + (prefix + "X1,a,b\n").encode("utf-16-le") + b"X\x002\x00,\x00\x00\xd8,\x00b\x00\n\x00"
    path = _write(tmp_path / "x.csv", data)
    with open_table(path) as table, pytest.raises(FileProblem) as excinfo:
        _all(table)
    assert _problem(excinfo) == (f"row {prefix.count(chr(10)) + 2}", "encoding")
    assert "UTF-16" in excinfo.value.reason


def test_a_late_nul_byte_names_its_row(tmp_path: Path) -> None:
    prefix = _long_prefix()
    path = _write(tmp_path / "x.csv", prefix + "X1,a,b\nX2,a\x00,b\n")
    with open_table(path) as table, pytest.raises(FileProblem) as excinfo:
        _all(table)
    assert _problem(excinfo) == (f"row {prefix.count(chr(10)) + 2}", "content")


def test_broken_quoting_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", 'record_id,surname\nR1,a\nR2,"b"c\nR3,d\n')
    with open_table(path) as table, pytest.raises(FileProblem) as excinfo:
        _all(table)
    assert _problem(excinfo) == ("row 3", "csv")
    assert "doubled" in excinfo.value.reason
    path = _write(tmp_path / "y.csv", 'record_id,surname\nR1,a\nR2,"b\nR3,d\n')
    with open_table(path) as table, pytest.raises(FileProblem) as excinfo:
        _all(table)
    assert _problem(excinfo) == ("row 3", "csv")
    assert "closing quotation mark is missing" in excinfo.value.reason


def test_fraction_read_grows_while_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _long_prefix(120_000))
    with open_table(path) as table:
        assert table.fraction_read() == 0.0
        seen = []
        for number, _, _ in table.rows():
            if number % 20_000 == 0 and number <= 80_000:
                seen.append(table.fraction_read())
        assert 0 < seen[0] < seen[-1] < 1
        assert table.fraction_read() == 1.0


def test_row_limit_is_enforced(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "record_id\nR1\nR2\nR3\nR4\n")
    with open_table(path, max_rows=3) as table, pytest.raises(FileProblem) as excinfo:
        _all(table)
    assert _problem(excinfo) == ("file", "rows")
    with open_table(path, max_rows=4) as table:
        assert len(_all(table)) == 4


def test_a_huge_sparse_file_is_refused_before_it_is_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(3 * 2**30)

    def no_open(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(readers, "open", no_open, raising=False)
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("file", "size")
    assert excinfo.value.reason == "the file is 3 221 225 472 bytes, more than the limit of 1 073 741 824 bytes"


# --- Format by content and by name ---------------------------------------------------------------------


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def test_csv_content_named_xlsx_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "upload.bin", "record_id\nR1\n")
    with pytest.raises(FileProblem) as excinfo:
        open_table(path, filename="registry.xlsx")
    assert _problem(excinfo) == ("file", "format")
    assert excinfo.value.reason == "the file is named .xlsx but its content is CSV text"


def test_xlsx_content_named_csv_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "registry.csv", [["record_id"], ["R1"]])
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert excinfo.value.reason == "the file is named .csv but its content is an XLSX workbook"


def test_parquet_content_named_csv_is_refused(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "up", pa.table({"record_id": ["R1"]}))
    with pytest.raises(FileProblem) as excinfo:
        open_table(path, filename="registry.CSV")
    assert excinfo.value.reason == "the file is named .csv but its content is a Parquet file"


def test_unknown_extension_of_the_users_name_is_refused_but_the_stored_name_does_not_matter(tmp_path: Path) -> None:
    path = _write(tmp_path / "stored.hwf", "record_id\nR1\n")
    with open_table(path) as table:
        assert table.format == "csv"
    with pytest.raises(FileProblem) as excinfo:
        open_table(path, filename="registry.json")
    assert _problem(excinfo) == ("file", "format")


def test_old_excel_files_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert ".xls" in excinfo.value.reason


# --- XLSX ----------------------------------------------------------------------------------------------


def test_xlsx_cells_become_text_with_sheet_row_numbers(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "x.xlsx",
        [
            ["record_id", "birth_date", "death_date", "household_id", "note", "ok"],
            ["R1", dt.date(1950, 3, 2), dt.datetime(2001, 5, 6, 7, 8), 42, 3.0, True],
            ["R2", "1950", None, 2.5, "=1+2", False],
            [],
            ["R3", "", "", "", "", "", "surplus"],
        ],
    )
    with open_table(path) as table:
        assert (table.format, table.header) == (
            "xlsx",
            ["record_id", "birth_date", "death_date", "household_id", "note", "ok"],
        )
        assert table.fraction_read() == 0.0
        assert _all(table) == [
            (2, ["R1", "1950-03-02", "2001-05-06", "42", "3", "true"], 0),
            (3, ["R2", "1950", "", "2.5", "=1+2", "false"], 0),
            (5, ["R3", "", "", "", "", ""], 1),
        ]
        assert table.fraction_read() == 1.0


def test_xlsx_with_a_wrong_stored_dimension_is_read_whole(tmp_path: Path) -> None:
    good = _xlsx(tmp_path / "good.xlsx", [["record_id", "surname"], ["R1", "A"], ["R2", "B"]])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:B3" />' in data
                data = data.replace(b'<dimension ref="A1:B3" />', b'<dimension ref="A1" />')
            dst.writestr(info, data)
    with open_table(bad) as table:
        assert table.header == ["record_id", "surname"]
        assert _all(table) == [(2, ["R1", "A"], 0), (3, ["R2", "B"], 0)]


def test_xlsx_header_may_start_below_blank_rows(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [[], [None, None], ["record_id"], ["R1"]])
    with open_table(path) as table:
        assert _all(table) == [(4, ["R1"], 0)]


def test_xlsx_duplicate_header_names_the_column_by_letter(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["record_id", "surname", "surname"], ["R1", "a", "b"]])
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("header", "surname")
    assert "column B and column C" in excinfo.value.reason


def _forbid_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("openpyxl was asked to open the archive")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def test_zip_bomb_is_refused_before_openpyxl_opens_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.xlsx"
    zeros = bytes(2**20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(500):
                member.write(zeros)
    assert path.stat().st_size < 2 * 2**20
    _forbid_openpyxl(monkeypatch)
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("file", "xlsx")
    assert "zip bomb" in excinfo.value.reason
    assert "xl/worksheets/sheet1.xml" in excinfo.value.reason


def test_too_many_members_or_too_much_content_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["record_id"], ["R1"]])
    with zipfile.ZipFile(path) as zf:
        members = len(zf.infolist())
        unpacked = sum(info.file_size for info in zf.infolist())
    _forbid_openpyxl(monkeypatch)
    monkeypatch.setattr(readers, "XLSX_MAX_MEMBERS", members - 1)
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert "zip bomb" in excinfo.value.reason
    monkeypatch.setattr(readers, "XLSX_MAX_MEMBERS", members)
    monkeypatch.setattr(readers, "XLSX_MAX_UNCOMPRESSED", unpacked - 1)
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert "too large" in excinfo.value.reason


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hello")
    _forbid_openpyxl(monkeypatch)
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert excinfo.value.reason == "the file is a zip archive but not an XLSX workbook"


def test_a_damaged_zip_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.xlsx", b"PK\x03\x04" + b"\x01" * 300)
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("file", "xlsx")
    assert "damaged" in excinfo.value.reason


# --- Parquet -------------------------------------------------------------------------------------------


def test_parquet_columns_become_text_with_csv_like_row_numbers(tmp_path: Path) -> None:
    data = pa.table(
        {
            "record_id": ["R1", "R2", None, "R4"],
            "household_id": pa.array([7, None, None, 12345678901], pa.int64()),
            "weight": [1950.0, 2.5, None, float("nan")],
            "birth_date": pa.array([dt.date(1950, 3, 2), None, None, dt.date(2001, 1, 1)], pa.date32()),
            "seen": pa.array([dt.datetime(2020, 1, 2, 3, 4), None, None, None], pa.timestamp("s")),
            "alive": [True, False, None, None],
            "sex": pa.array(["M", "F", None, "M"]).dictionary_encode(),
            "nothing": pa.nulls(4),
        }
    )
    path = _parquet(tmp_path / "x.parquet", data)
    with open_table(path) as table:
        assert (table.format, table.row_count) == ("parquet", 4)
        assert table.header == list(data.column_names)
        assert _all(table) == [
            (2, ["R1", "7", "1950", "1950-03-02", "2020-01-02", "true", "M", ""], 0),
            (3, ["R2", "", "2.5", "", "", "false", "F", ""], 0),
            (5, ["R4", "12345678901", "", "2001-01-01", "", "", "M", ""], 0),
        ]
        assert table.fraction_read() == 1.0


def test_parquet_row_numbers_continue_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_PARQUET_BATCH", 3)
    path = _parquet(tmp_path / "x.parquet", pa.table({"record_id": [f"R{i}" for i in range(10)]}))
    with open_table(path) as table:
        assert [(n, v[0]) for n, v, _ in _all(table)] == [(i + 2, f"R{i}") for i in range(10)]


def test_parquet_nested_columns_and_row_limit_are_refused(tmp_path: Path) -> None:
    nested = _parquet(tmp_path / "n.parquet", pa.table({"record_id": ["R1"], "tags": [["a", "b"]]}))
    with pytest.raises(FileProblem) as excinfo:
        open_table(nested)
    assert _problem(excinfo) == ("header", "tags")
    many = _parquet(tmp_path / "m.parquet", pa.table({"record_id": ["R1", "R2", "R3"]}))
    with pytest.raises(FileProblem) as excinfo:
        open_table(many, max_rows=2)
    assert _problem(excinfo) == ("file", "rows")


def test_truncated_parquet_is_refused(tmp_path: Path) -> None:
    whole = _parquet(tmp_path / "x.parquet", pa.table({"record_id": ["R1"]})).read_bytes()
    path = _write(tmp_path / "cut.parquet", whole[: len(whole) // 2])
    with pytest.raises(FileProblem) as excinfo:
        open_table(path)
    assert _problem(excinfo) == ("file", "parquet")


# --- Mappings ------------------------------------------------------------------------------------------

MAPPING = """
[columns]
record_id = "ID"
given_name = "Имя"
surname = "Фамилия"
birth_date = "Дата рождения"
sex = "Пол"
birth_place = "Место рождения"
origin_settlement = "Место рождения"

[ignore]
columns = ["Примечание"]

[defaults]
current_country = "RU"

[codes.sex]
"М" = "M"
"Ж" = "F"
"1" = "M"
"2" = "F"

[dates]
formats = ["%d.%m.%Y", "%m/%Y", "%Y"]

[settlements]
"Кызылбулаг" = "hw:pl:0012"
"""
SOURCE_HEADER = ["Примечание", "ID", "Фамилия", "Имя", "Пол", "Дата рождения", "Место рождения"]


def _mapped(values: list[str], mapping_text: str = MAPPING) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    mapper = compile_mapper(load_mapping(mapping_text), SOURCE_HEADER)
    return mapper(values)


def test_mapping_maps_columns_codes_dates_settlements_and_defaults() -> None:
    mapper = compile_mapper(load_mapping(MAPPING), SOURCE_HEADER)
    assert mapper.unknown_columns == []
    assert mapper.fields == [
        "record_id", "surname", "given_name", "sex", "birth_date", "birth_place", "origin_settlement",
        "current_country",
    ]  # fmt: skip
    assert mapper.source_columns["birth_date"] == "Дата рождения"
    row, problems = mapper(["note", " A-17 ", "Петрова", "Анна", "Ж", "02.03.1950", " Кызылбулаг "])
    assert problems == []
    assert row == {
        "record_id": "A-17",
        "surname": "Петрова",
        "given_name": "Анна",
        "sex": "F",
        "birth_date": "1950-03-02",
        "birth_place": "hw:pl:0012",
        "origin_settlement": "hw:pl:0012",
        "current_country": "RU",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("02.03.1950", "1950-03-02"), ("2.3.1950", "1950-03-02"), ("03/1950", "1950-03"), ("1950", "1950"),
     ("1950-03-02", "1950-03-02"), ("1950-03", "1950-03"), ("", "")],
)  # fmt: skip
def test_date_formats_give_partial_dates(raw: str, expected: str) -> None:
    row, problems = _mapped(["", "A1", "", "", "", raw, ""])
    assert (row["birth_date"], problems) == (expected, [])


def test_impossible_or_unmatched_dates_are_problems_of_the_row() -> None:
    row, problems = _mapped(["", "A1", "", "", "", "31.02.1950", ""])
    assert row["birth_date"] == "31.02.1950"
    assert problems == [
        ("birth_date", "31.02.1950", "date '31.02.1950' does not match any of the formats %d.%m.%Y, %m/%Y, %Y")
    ]
    _, problems = _mapped(["", "A1", "", "", "", "March 1950", ""])
    assert [p[0] for p in problems] == ["birth_date"]


def test_codes_accept_canonical_values_and_any_case_but_report_unknown_ones() -> None:
    assert _mapped(["", "A1", "", "", "F", "", ""]) == ({**_mapped(["", "A1", "", "", "", "", ""])[0], "sex": "F"}, [])
    assert _mapped(["", "A1", "", "", "ж", "", ""])[0]["sex"] == "F"
    assert _mapped(["", "A1", "", "", "1", "", ""])[0]["sex"] == "M"
    row, problems = _mapped(["", "A1", "", "", "X", "", ""])
    assert row["sex"] == "X"
    assert problems == [("sex", "X", "unknown code 'X' for sex")]


def test_unmatched_settlements_pass_unchanged_and_defaults_fill_empty_cells() -> None:
    text = MAPPING.replace('[defaults]\ncurrent_country = "RU"', '[defaults]\ncurrent_country = "RU"\nsurname = "?"')
    row, _ = _mapped(["", "A1", "", "", "", "", "Баку"], text)
    assert (row["birth_place"], row["origin_settlement"], row["surname"]) == ("Баку", "Баку", "?")
    row, _ = _mapped(["", "A1", "Ли", "", "", "", ""], text)
    assert row["surname"] == "Ли"


def test_without_a_mapping_the_header_must_be_canonical_in_any_case() -> None:
    mapper = compile_mapper(None, [" Record_ID ", "SURNAME", "Comment", "given_name"])
    assert mapper.fields == ["record_id", "surname", "given_name"]
    assert mapper.unknown_columns == ["Comment"]
    assert mapper(["  R1 ", " Петров", "ignored", "Иван "]) == (
        {"record_id": "R1", "surname": "Петров", "given_name": "Иван"},
        [],
    )


def test_a_canonical_header_in_file_order_maps_every_column() -> None:
    header = list(CANONICAL_FIELDS)
    mapper = compile_mapper(None, header)
    values = [f" {name} " for name in header]
    row, problems = mapper(values)
    assert list(row) == header
    assert row == {name: name for name in header}
    assert problems == []


def test_unmapped_columns_are_unknown_unless_ignored_or_canonical() -> None:
    mapping = load_mapping('[columns]\nrecord_id = "ID"\n[ignore]\ncolumns = ["Примечание", "Absent"]\n')
    mapper = compile_mapper(mapping, ["ID", "Примечание", "surname", "record_id", "Другое"])
    assert mapper.fields == ["record_id", "surname"]
    assert mapper.unknown_columns == ["record_id", "Другое"]  # record_id is mapped from "ID" already
    assert mapper(["7", "x", "Ли", "8", "y"])[0] == {"record_id": "7", "surname": "Ли"}


def test_a_mapping_naming_a_missing_column_is_refused() -> None:
    with pytest.raises(FileProblem) as excinfo:
        compile_mapper(load_mapping(MAPPING), [h for h in SOURCE_HEADER if h != "Фамилия"])
    assert _problem(excinfo) == ("header", "surname")
    assert excinfo.value.reason == "column 'Фамилия' named by the mapping is not in the file"


def test_record_id_is_required() -> None:
    with pytest.raises(FileProblem) as excinfo:
        compile_mapper(None, ["surname", "given_name"])
    assert _problem(excinfo) == ("header", "record_id")


def test_two_columns_for_one_field_are_refused() -> None:
    with pytest.raises(FileProblem) as excinfo:
        compile_mapper(None, ["record_id", "surname", "Surname"])
    assert _problem(excinfo) == ("header", "surname")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[columns\nrecord_id = 'ID'", "mapping"),
        ('[colums]\nrecord_id = "ID"', "colums"),
        ('[columns]\nnickname = "N"', "columns.nickname"),
        ("[columns]\nrecord_id = 5", "columns.record_id"),
        ('[ignore]\ncolumn = ["x"]', "ignore.column"),
        ('[defaults]\nrecord_id = "X"', "defaults.record_id"),
        ('[codes]\nsex = "M"', "codes.sex"),
        ('[codes.gender]\n"M" = "M"', "codes.gender"),
        ('[dates]\nformats = ["%d.%m.%y"]', "dates.formats"),
        ('[dates]\nformats = ["%Y %H"]', "dates.formats"),
        ('[dates]\nformats = ["%d %Y"]', "dates.formats"),
        ("[dates]\nformats = '%Y'", "dates.formats"),
        ("[settlements]\nX = 1", "settlements.X"),
    ],
)
def test_bad_mappings_are_refused_naming_the_key(text: str, field: str) -> None:
    with pytest.raises(FileProblem) as excinfo:
        load_mapping(text)
    assert _problem(excinfo) == ("mapping", field)


def test_bad_toml_says_so() -> None:
    with pytest.raises(FileProblem) as excinfo:
        load_mapping("[columns\n", name="kyzyl.toml")
    assert _problem(excinfo) == ("mapping", "kyzyl.toml")
    assert "not valid TOML" in excinfo.value.reason


def test_mapping_records_its_text_hash_and_empty_mapping_is_allowed() -> None:
    mapping = load_mapping(MAPPING, name="kyzyl.toml")
    assert mapping.mapping_sha256 == hashlib.sha256(MAPPING.encode()).hexdigest()
    assert mapping.name == "kyzyl.toml"
    assert load_mapping("") == Mapping(name="mapping", text="")


def test_mapping_reads_a_table_end_to_end(tmp_path: Path) -> None:
    text = _csv_text([SOURCE_HEADER, ["", "A1", "Ли", "Анна", "2", "1950", "Кызылбулаг"]], ";")
    path = _write(tmp_path / "x.csv", text.encode("cp1251"))
    with open_table(path) as table:
        mapper = compile_mapper(load_mapping(MAPPING), table.header)
        [(number, values, extra)] = _all(table)
    row, problems = mapper(values)
    assert (number, extra, problems) == (2, 0, [])
    assert (row["sex"], row["birth_date"], row["origin_settlement"]) == ("F", "1950", "hw:pl:0012")


# --- Formula injection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["=1+1", "=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "+A1", "-A1", "-1+cmd|' /C calc'!A0", "\t=1", "\rx", "-x"],
)
def test_formula_like_values(value: str) -> None:
    assert formula_like(value)
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["", "Иван", "a=b", " =1", "+7 (495) 123-45-67", "+994 12 345 67 89", "+1", "-", "+", "-12", "-3.5"]
)
def test_values_that_are_not_formulas(value: str) -> None:
    assert not formula_like(value)
    assert safe_cell(value) == value


def test_header_text_never_reaches_the_generated_row_builder() -> None:
    hostile = "'}; import os; os.remove('x'); {'"
    mapper = compile_mapper(Mapping(columns={"record_id": hostile}), [hostile, "surname"])
    assert mapper([" 1 ", " Ли "]) == ({"record_id": "1", "surname": "Ли"}, [])
    with pytest.raises(ValueError, match="canonical"):
        readers._row_builder([(0, hostile)])
