"""Population-registry extracts read for import: CSV, XLSX and Parquet tables, and TOML column mappings. No Django.

``open_table`` looks at the bytes, not at the name: a zip archive holding ``xl/workbook.xml`` is an XLSX
workbook, a file starting and ending with ``PAR1`` is Parquet and anything else is CSV text. A file whose
name says one format while its content is another is refused, as is a file over the size limit (checked
before a single byte is read), a zip bomb (checked before openpyxl opens the archive), binary content
and text in an encoding other than UTF-8, UTF-16 (with a byte order mark) or Windows-1251 Cyrillic.
Every table yields ``(row_number, values, extra)``: the row number the user sees in their editor or
spreadsheet, the cells as text (one per header column, ``''`` when empty) and the count of non-empty
cells beyond the header. Rows whose cells are all blank are skipped, keeping their numbers.

Problems with the file as a whole are raised as ``FileProblem``; problems with single values are
left to the validator, which also uses ``formula_like`` to refuse spreadsheet formulas.

Mapping files (TOML) describe an extract whose columns are not named as Homeward's canonical fields.
Every section is optional; docs/import-mapping.md has a complete example::

    [columns]                 # canonical field = source column header
    record_id = "ID"
    surname = "Фамилия"

    [ignore]
    columns = ["Примечание"]  # source columns deliberately not imported

    [defaults]                # value for a canonical field the file lacks, or leaves empty in a row
    current_country = "RU"

    [codes.sex]               # code list of one field: source value -> canonical value
    "М" = "M"
    "Ж" = "F"

    [dates]                   # strptime formats tried in order on birth_date, death_date and displacement_date
    formats = ["%d.%m.%Y", "%m/%Y", "%Y"]

    [settlements]             # origin_settlement and birth_place names -> gazetteer id
    "Кызылбулаг" = "hw:pl:0012"

Without a mapping the header must use the canonical names (case and surrounding spaces do not matter).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import os
import re
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

CANONICAL_FIELDS: tuple[str, ...] = (
    "record_id", "source", "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place",
    "origin_settlement", "current_country", "household_id", "relation_to_head", "father_record_id",
    "mother_record_id", "spouse_record_id", "death_date", "displacement_date", "displacement_event", "current_city",
    "phone", "email", "document_number",
    "previous_surname",
)  # fmt: skip
SENSITIVE_FIELDS: tuple[str, ...] = ("phone", "email", "document_number")
DATE_FIELDS: tuple[str, ...] = ("birth_date", "death_date", "displacement_date")
SETTLEMENT_FIELDS: tuple[str, ...] = ("origin_settlement", "birth_place")

# Zip-bomb guards applied to an XLSX archive before openpyxl sees it. The ratio is only checked for
# members large enough to matter: small XML parts compress extremely well without being dangerous.
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_UNCOMPRESSED = 2**30
XLSX_MAX_RATIO = 200
XLSX_RATIO_MIN_SIZE = 2**20

EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
DELIMITERS = ",;\t|"

Row = tuple[int, list[str], int]

_HEAD_BYTES = 2**20  # encoding detection looks at this much
_SNIFF_CHARS = 2**16  # delimiter detection looks at this much of the decoded head
_SNIFF_ROWS = 200
_READ_BUFFER = 2**20
_PARQUET_BATCH = 65_536
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PARQUET_MAGIC = b"PAR1"
_WHAT = {
    "csv": "CSV text",
    "xlsx": "an XLSX workbook",
    "parquet": "a Parquet file",
    "zip": "a zip archive",
    "ole": "an old-style Excel (.xls) or password-protected workbook",
}
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
# Typographic characters that Russian text in Windows-1251 commonly carries besides letters.
_CP1251_PUNCTUATION = re.compile("[«»№–—‘’‚“”„…•\u00a0]")
_ISO_PARTIAL = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", re.ASCII)
_DIRECTIVE = re.compile(r"%(.)")
_DATE_DIRECTIVES = {"d", "m", "b", "B", "Y", "%"}
# What may follow a leading "+" or "-" without the value becoming a formula: phone numbers and
# negative numbers. Letters, "|", "!", quotes, operators other than "-" are what an injection needs.
_AFTER_SIGN = frozenset("0123456789 .,()-/")


class FileProblem(Exception):
    """A problem with a file as a whole (or with its header, or with one row that stops the reading)."""

    def __init__(self, where: str, field: str, reason: str) -> None:
        super().__init__(where, field, reason)
        self.where = where
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


# --- Formula injection ---------------------------------------------------------------------------------


def formula_like(value: str) -> bool:
    """Whether a spreadsheet opening a cell with this text could take it for a formula.

    A leading ``+`` or ``-`` is allowed before digits and phone punctuation (``+7 (495) 123-45-67``,
    ``-12``), which cannot call anything; ``-1+cmd|' /C calc'!A0`` and ``+A1`` are formula-like.
    """
    if not value:
        return False
    first = value[0]
    if first in "=@\t\r":
        return True
    if first in "+-":
        return not _AFTER_SIGN.issuperset(value[1:])
    return False


def safe_cell(value: str) -> str:
    """The value for a CSV export cell: formula-like text is prefixed with an apostrophe."""
    return "'" + value if formula_like(value) else value


# --- Tables --------------------------------------------------------------------------------------------


class Table:
    """An open table: the header, then the rows one at a time. Use as a context manager."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header: list[str]
    size_bytes: int
    # Data rows announced by the file before reading (XLSX dimension, Parquet metadata); None for CSV.
    row_count: int | None = None

    def rows(self) -> Iterator[Row]:
        """``(row_number, values, extra)`` for every non-blank row after the header, from the start."""
        raise NotImplementedError

    def fraction_read(self) -> float:
        """How far ``rows()`` has got, from 0 to 1, for progress bars."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_table(path: Path, *, filename: str | None = None, max_bytes: int = 2**30, max_rows: int = 5_000_000) -> Table:
    """Open a registry extract, checking its size, real format, encoding and header.

    ``filename`` is the name the user gave the file (the stored path often has none); its extension must
    agree with the content. Without it, the path's own extension is checked when it is a known one.
    """
    path = Path(path)
    size = os.stat(path).st_size
    if size > max_bytes:
        raise FileProblem("file", "size", f"the file is {_bytes(size)}, more than the limit of {_bytes(max_bytes)}")
    if size == 0:
        raise FileProblem("file", "content", "the file is empty")
    with open(path, "rb") as f:
        start = f.read(8)
        f.seek(max(size - 4, 0))
        end = f.read(4)
    kind = _content_kind(start, end)
    _check_extension(filename, path, kind)
    if kind == "ole":
        raise FileProblem(
            "file", "format", "the file is an old-style Excel (.xls) or password-protected workbook: save it as .xlsx"
        )
    if kind == "parquet-damaged":
        raise FileProblem("file", "parquet", "the file starts like a Parquet file but is incomplete or damaged")
    if kind == "zip":
        return _XlsxTable(path, size, max_rows)
    if kind == "parquet":
        return _ParquetTable(path, size, max_rows)
    return _CsvTable(path, size, max_rows)


def _bytes(n: int) -> str:
    return f"{n:,} bytes".replace(",", " ")


def _content_kind(start: bytes, end: bytes) -> str:
    if start.startswith(_ZIP_MAGIC):
        return "zip"
    if start.startswith(_OLE_MAGIC):
        return "ole"
    if start.startswith(_PARQUET_MAGIC):
        return "parquet" if end == _PARQUET_MAGIC else "parquet-damaged"
    return "csv"


def _check_extension(filename: str | None, path: Path, kind: str) -> None:
    name = filename if filename is not None else path.name
    ext = os.path.splitext(name)[1].lower()
    expected = EXTENSIONS.get(ext)
    if expected is None:
        if filename is not None and ext:
            known = ", ".join(EXTENSIONS)
            raise FileProblem("file", "format", f"files named {ext} cannot be imported: use one of {known}")
        return
    actual = {"zip": "xlsx", "ole": "xlsx", "parquet-damaged": "parquet"}.get(kind, kind)
    if actual != expected:
        what = "xlsx" if kind == "zip" and _is_workbook(path) else actual if kind == "parquet-damaged" else kind
        raise FileProblem("file", "format", f"the file is named {ext} but its content is {_WHAT.get(what, what)}")


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def _check_header(raw: list[str], label: Callable[[int], str]) -> list[str]:
    header = [name.strip() for name in raw]
    while header and not header[-1]:
        header.pop()  # trailing unnamed columns are formatting leftovers, not columns
    if not header:
        raise FileProblem("header", "header", "the file has no header row")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            raise FileProblem("header", label(i), f"{label(i)} has no name in the header row")
        if name in seen:
            raise FileProblem(
                "header", name, f"the column '{name}' appears twice in the header ({label(seen[name])} and {label(i)})"
            )
        seen[name] = i
    return header


def _fit(values: list[str], width: int) -> tuple[list[str], int]:
    """Pad or cut a row to the header's width; the count of non-blank cells cut off."""
    n = len(values)
    if n < width:
        values.extend([""] * (width - n))
        return values, 0
    extra = sum(1 for v in values[width:] if v.strip())
    return values[:width], extra


def _blank(values: list[str]) -> bool:
    return not any(v and not v.isspace() for v in values)


def _number_label(i: int) -> str:
    return f"column {i + 1}"


# --- CSV -----------------------------------------------------------------------------------------------


class _NulFound(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _GuardedRaw(io.RawIOBase):
    """The file's bytes for the text decoder, counting them for progress and refusing NUL bytes.

    Python's csv module passes NUL through, and PostgreSQL refuses it in text, so it is caught here,
    once per buffer, rather than once per row.
    """

    def __init__(self, path: Path, check_nul: bool) -> None:
        super().__init__()
        self._f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._check_nul = check_nul
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._f.read(len(buffer))
        n = len(data)
        if self._check_nul:
            at = data.find(b"\x00")
            if at >= 0:
                raise _NulFound(self.position + at)
        buffer[:n] = data
        self.position += n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


class _CsvTable(Table):
    format = "csv"

    def __init__(self, path: Path, size: int, max_rows: int) -> None:
        self._path = path
        self.size_bytes = size
        self._max_rows = max_rows
        self._open: list[_GuardedRaw] = []
        self._done = False
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
        complete = len(head) >= size
        self.encoding, text = _detect_encoding(head, complete)
        sample = text[:_SNIFF_CHARS]
        if not complete or len(text) > _SNIFF_CHARS:
            cut = max(sample.rfind("\n"), sample.rfind("\r"))
            if cut > 0:
                sample = sample[: cut + 1]
        self.delimiter = _detect_delimiter(sample)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        raw: list[str] | None = None
        try:
            for values in reader:
                if not _blank(values):
                    raw = values
                    break
        except csv.Error as e:
            raise FileProblem("header", "header", f"the header row cannot be read as CSV: {e}") from e
        if raw is None:
            if complete:
                raise FileProblem("header", "header", "the file has no header row")
            raise FileProblem("header", "header", "the first megabyte of the file holds no header row")
        self._header_end = reader.line_num
        if not complete and self._header_end >= _count_lines(text):
            raise FileProblem(
                "header", "header", "the header row is longer than a megabyte: a quotation mark may be missing"
            )
        self.header = _check_header(raw, _number_label)

    def rows(self) -> Iterator[Row]:
        raw = _GuardedRaw(self._path, check_nul=self.encoding != "utf-16")
        self._open.append(raw)
        self._done = False
        text = io.TextIOWrapper(io.BufferedReader(raw, _READ_BUFFER), encoding=self.encoding, newline="")
        reader = csv.reader(text, delimiter=self.delimiter or ",", strict=True)
        width = len(self.header)
        limit = self._max_rows
        header_end = self._header_end
        count = 0
        prev = 0
        try:
            for _ in reader:
                if reader.line_num >= header_end:
                    break
            prev = reader.line_num
            for values in reader:
                start = prev + 1
                prev = reader.line_num
                if len(values) == width:
                    first = values[0]
                    if (not first or first.isspace()) and _blank(values):
                        continue
                    count += 1
                    if count > limit:
                        raise FileProblem("file", "rows", f"the file has more than {limit} rows")
                    yield start, values, 0
                elif values and not _blank(values):
                    count += 1
                    if count > limit:
                        raise FileProblem("file", "rows", f"the file has more than {limit} rows")
                    fitted, extra = _fit(values, width)
                    yield start, fitted, extra
        except csv.Error as e:
            raise FileProblem(f"row {prev + 1}", "csv", _csv_reason(e)) from e
        except UnicodeDecodeError as e:
            line = _first_bad_line(self._path, self.encoding or "utf-8")
            where = f"row {self._row_at(line)}" if line else "file"
            raise FileProblem(
                where, "encoding", f"the text there is not valid {_ENCODING_NAMES.get(self.encoding or '')}"
            ) from e
        except _NulFound as e:
            line = _line_of_offset(self._path, e.offset)
            raise FileProblem(
                f"row {self._row_at(line)}", "content", "the row contains a NUL byte: the file is not plain text"
            ) from None
        finally:
            text.close()
            if raw in self._open:
                self._open.remove(raw)
        self._done = True

    def _row_at(self, line: int) -> int:
        """The line on which the row holding physical line ``line`` starts (rows may span lines)."""
        with open(self._path, encoding=self.encoding, errors="replace", newline="") as f:
            reader = csv.reader(f, delimiter=self.delimiter or ",")
            prev = 0
            try:
                for _ in reader:
                    if reader.line_num >= line:
                        return prev + 1
                    prev = reader.line_num
            except csv.Error:
                pass
        return line

    def fraction_read(self) -> float:
        if self._done:
            return 1.0
        if not self._open:
            return 0.0
        return min(self._open[-1].position / self.size_bytes, 1.0)

    def close(self) -> None:
        for raw in self._open:
            raw.close()
        self._open.clear()


def _csv_reason(error: csv.Error) -> str:
    message = str(error)
    if "field larger than field limit" in message:
        return f"a cell is longer than {csv.field_size_limit()} characters: a quotation mark may be missing"
    if "unexpected end of data" in message:
        return "the file ends inside a quoted cell: a closing quotation mark is missing"
    if "expected after" in message:
        return "text follows the closing quotation mark of a cell: quotation marks inside a quoted cell must be doubled"
    return f"the row cannot be read as CSV ({message})"


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1251": "Windows-1251"}


def _detect_encoding(head: bytes, complete: bool) -> tuple[str, str]:
    """The encoding of a CSV file from its first bytes, and those bytes decoded."""
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = ""
    if encoding != "utf-16" and b"\x00" in head:
        zeros_odd = head[1::2].count(0)
        if zeros_odd > len(head) // 4 or head[0::2].count(0) > len(head) // 4:
            raise FileProblem(
                "file", "encoding", "the file looks like UTF-16 text without a byte order mark: save it as UTF-8"
            )
        raise FileProblem("file", "content", "the file contains NUL bytes: it is binary, not CSV text")
    if encoding:
        try:
            return encoding, codecs.getincrementaldecoder(encoding)("strict").decode(head, final=complete)
        except UnicodeDecodeError:
            name = _ENCODING_NAMES[encoding]
            raise FileProblem(
                "file", "encoding", f"the file starts with a {name} byte order mark but is not valid {name} text"
            ) from None
    try:
        return "utf-8", codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=complete)
    except UnicodeDecodeError:
        pass
    try:
        text = head.decode("cp1251")
    except UnicodeDecodeError:
        text = ""
    if text and _looks_cyrillic(text):
        return "cp1251", text
    raise FileProblem(
        "file",
        "encoding",
        "the file is not text in UTF-8, UTF-16 or Windows-1251 (Cyrillic): save it as UTF-8 CSV",
    )


def _looks_cyrillic(text: str) -> bool:
    """Whether Windows-1251-decoded text reads as Cyrillic rather than as mis-decoded Latin-1 or binary.

    Latin-1 names decoded as Windows-1251 ("Müller" as "Mьller") put single Cyrillic letters inside
    Latin words; real Cyrillic text keeps whole words in one script.
    """
    non_ascii = len(_NON_ASCII.findall(text))
    cyrillic = len(_CYRILLIC.findall(text))
    if not cyrillic or cyrillic + len(_CP1251_PUNCTUATION.findall(text)) < 0.9 * non_ascii:
        return False
    cyrillic_words = mixed = 0
    for word in _WORD.findall(text):
        if _CYRILLIC.search(word):
            cyrillic_words += 1
            if _ASCII_LETTER.search(word):
                mixed += 1
    return mixed <= 0.05 * cyrillic_words


def _detect_delimiter(sample: str) -> str:
    scores = {d: _consistency(sample, d) for d in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    best = max(DELIMITERS, key=lambda d: scores[d])
    if sniffed in scores and scores[sniffed][1] >= 2 and scores[sniffed][0] >= scores[best][0]:
        return sniffed
    return best if scores[best][1] >= 2 else ","


def _consistency(sample: str, delimiter: str) -> tuple[float, int]:
    """Share of the first rows with as many cells as the first one, and that number of cells."""
    widths: list[int] = []
    try:
        for values in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if not _blank(values):
                widths.append(len(values))
                if len(widths) >= _SNIFF_ROWS:
                    break
    except csv.Error:
        return 0.0, 0
    if not widths or widths[0] < 2:
        return 0.0, widths[0] if widths else 0
    return sum(1 for w in widths if w == widths[0]) / len(widths), widths[0]


def _count_lines(text: str) -> int:
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return breaks + (0 if text.endswith(("\n", "\r")) else 1)


def _breaks(chunk: str | bytes, after_cr: bool) -> tuple[int, bool]:
    """Line breaks in a chunk (``\\n``, ``\\r\\n`` or ``\\r``), given whether the previous chunk ended in ``\\r``."""
    if isinstance(chunk, str):
        n = chunk.count("\n") + chunk.count("\r") - chunk.count("\r\n")
        return n - (1 if after_cr and chunk.startswith("\n") else 0), chunk.endswith("\r")
    n = chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
    return n - (1 if after_cr and chunk.startswith(b"\n") else 0), chunk.endswith(b"\r")


def _line_of_offset(path: Path, offset: int) -> int:
    """The physical line holding byte ``offset`` of a single-byte-newline file."""
    lines = 1
    after_cr = False
    with open(path, "rb") as f:
        left = offset
        while left > 0:
            chunk = f.read(min(left, 2**20))
            if not chunk:
                break
            n, after_cr = _breaks(chunk, after_cr)
            lines += n
            left -= len(chunk)
    return lines


def _first_bad_line(path: Path, encoding: str) -> int | None:
    """The physical line of the first byte that does not decode, found by decoding again.

    The text stream decodes ahead of the csv reader, so the exception it raised says nothing about
    where the byte is. The failing chunk is decoded again byte by byte to find it.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 1
    after_cr = False
    with open(path, "rb") as f:
        while True:
            chunk = f.read(2**16)
            final = not chunk
            state = decoder.getstate()
            try:
                n, after_cr = _breaks(decoder.decode(chunk, final=final), after_cr)
                lines += n
            except UnicodeDecodeError:
                decoder.setstate(state)
                for i in range(len(chunk) + 1):
                    try:
                        piece = decoder.decode(chunk[i : i + 1], final=i == len(chunk) and final)
                    except UnicodeDecodeError:
                        return lines
                    n, after_cr = _breaks(piece, after_cr)
                    lines += n
                return lines
            if final:
                return None


# --- XLSX ----------------------------------------------------------------------------------------------


def _check_zip(path: Path) -> None:
    """Refuse an archive that is damaged, not a workbook, or would unpack to too much."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise FileProblem("file", "xlsx", "the file is a damaged zip archive, not a readable XLSX workbook") from e
    if len(infos) > XLSX_MAX_MEMBERS:
        raise FileProblem(
            "file",
            "xlsx",
            f"the archive holds {len(infos)} files, more than {XLSX_MAX_MEMBERS}: it looks like a "
            "zip bomb, not a workbook",
        )
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > XLSX_RATIO_MIN_SIZE and info.file_size > XLSX_MAX_RATIO * max(info.compress_size, 1):
            raise FileProblem(
                "file",
                "xlsx",
                f"the part {info.filename} would unpack to {info.file_size} bytes from {info.compress_size}: it "
                "looks like a zip bomb, not a workbook",
            )
        if info.flag_bits & 0x1:
            raise FileProblem("file", "xlsx", "the archive is password-protected")
    if total > XLSX_MAX_UNCOMPRESSED:
        raise FileProblem(
            "file",
            "xlsx",
            f"the workbook would unpack to {total} bytes, more than the limit of {XLSX_MAX_UNCOMPRESSED}: it looks "
            "like a zip bomb or is too large to import",
        )
    if "xl/workbook.xml" not in {info.filename for info in infos}:
        raise FileProblem("file", "xlsx", "the file is a zip archive but not an XLSX workbook")


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return ""
    if value.is_integer():
        return str(int(value))
    return repr(value)


def _column_letter(i: int) -> str:
    letters = ""
    n = i + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return f"column {letters}"


class _XlsxTable(Table):
    format = "xlsx"

    def __init__(self, path: Path, size: int, max_rows: int) -> None:
        _check_zip(path)
        from openpyxl import load_workbook  # imported late: costly, and only XLSX needs it

        self.size_bytes = size
        self._max_rows = max_rows
        self._position = 0
        self._done = False
        try:
            self._book: Any = load_workbook(path, read_only=True, data_only=False, keep_links=False)
        except Exception as e:  # openpyxl and the XML parsers raise many kinds for a damaged workbook
            raise FileProblem("file", "xlsx", f"the workbook cannot be read ({type(e).__name__}: {e})") from e
        try:
            if not self._book.worksheets:
                raise FileProblem("file", "xlsx", "the workbook has no worksheet")
            self._sheet = self._book.worksheets[0]
            announced = self._sheet.max_row if isinstance(self._sheet.max_row, int) else None
            # The stored dimension may be wrong (some writers leave "A1"); openpyxl would stop reading there.
            self._sheet.reset_dimensions()
            raw: list[str] | None = None
            self._header_row = 0
            for number, cells in enumerate(self._sheet.iter_rows(values_only=True), start=1):
                values = [_xlsx_text(v) for v in cells]
                if not _blank(values):
                    raw, self._header_row = values, number
                    break
            if raw is None:
                raise FileProblem("header", "header", "the first worksheet is empty")
            self.header = _check_header(raw, _column_letter)
            self._total = announced if announced is not None and announced > self._header_row else None
            if announced is not None and announced > self._header_row:
                self.row_count = announced - self._header_row
                if self.row_count > max_rows:
                    raise FileProblem("file", "rows", f"the worksheet has more than {max_rows} rows")
        except FileProblem:
            self.close()
            raise
        except Exception as e:
            self.close()
            raise FileProblem("file", "xlsx", f"the workbook cannot be read ({type(e).__name__}: {e})") from e

    def rows(self) -> Iterator[Row]:
        width = len(self.header)
        limit = self._max_rows
        count = 0
        number = 0
        self._done = False
        try:
            for number, cells in enumerate(self._sheet.iter_rows(values_only=True), start=1):
                self._position = number
                if number <= self._header_row:
                    continue
                values = [v if type(v) is str else _xlsx_text(v) for v in cells]
                if _blank(values):
                    continue
                count += 1
                if count > limit:
                    raise FileProblem("file", "rows", f"the worksheet has more than {limit} rows")
                fitted, extra = _fit(values, width) if len(values) != width else (values, 0)
                yield number, fitted, extra
        except FileProblem:
            raise
        except Exception as e:
            raise FileProblem(
                f"row {number + 1}", "xlsx", f"the worksheet cannot be read further ({type(e).__name__}: {e})"
            ) from e
        self._done = True

    def fraction_read(self) -> float:
        if self._done:
            return 1.0
        if not self._total:
            return 0.0
        return min(self._position / self._total, 1.0)

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()
            self._book = None


# --- Parquet -------------------------------------------------------------------------------------------


class _ParquetTable(Table):
    format = "parquet"

    def __init__(self, path: Path, size: int, max_rows: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.size_bytes = size
        self._position = 0
        self._done = False
        try:
            self._file: Any = pq.ParquetFile(path)
            schema = self._file.schema_arrow
        except (pa.ArrowException, OSError) as e:
            raise FileProblem("file", "parquet", f"the Parquet file cannot be read ({e})") from e
        self.header = _check_header([str(name) for name in schema.names], _number_label)
        for name, column in zip(self.header, schema, strict=False):
            if pa.types.is_nested(column.type):
                self.close()
                raise FileProblem(
                    "header", name, f"the column holds nested values ({column.type}), which cannot be imported"
                )
        self._columns = len(schema.names)
        self.row_count = self._file.metadata.num_rows
        if self.row_count > max_rows:
            self.close()
            raise FileProblem("file", "rows", f"the file has more than {max_rows} rows")

    def rows(self) -> Iterator[Row]:
        import pyarrow as pa

        width = len(self.header)
        number = 1
        self._position = 0
        self._done = False
        try:
            for batch in self._file.iter_batches(batch_size=_PARQUET_BATCH):
                columns = [_arrow_strings(batch.column(i), name) for i, name in enumerate(self.header)]
                extras = [_arrow_strings(batch.column(i), "") for i in range(width, self._columns)]
                for i, cells in enumerate(zip(*columns, strict=True)):
                    number += 1
                    values = list(cells)
                    extra = sum(1 for column in extras if column[i].strip()) if extras else 0
                    first = values[0]
                    if (not first or first.isspace()) and extra == 0 and _blank(values):
                        continue
                    yield number, values, extra
                self._position += batch.num_rows
        except FileProblem:
            raise
        except (pa.ArrowException, OSError) as e:
            raise FileProblem(f"row {number + 1}", "parquet", f"the file cannot be read further ({e})") from e
        self._done = True

    def fraction_read(self) -> float:
        if self._done:
            return 1.0
        return min(self._position / self.row_count, 1.0) if self.row_count else 0.0

    def close(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()
            self._file = None


def _arrow_strings(array: Any, name: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_null(kind):
        return [""] * len(array)
    if pa.types.is_floating(kind):
        return ["" if v is None else _float_text(v) for v in array.to_pylist()]
    if pa.types.is_timestamp(kind):
        array = pc.cast(array, pa.date32())
    try:
        text = pc.cast(array, pa.large_string())
    except pa.ArrowException as e:
        raise FileProblem("file", name, f"the column's values cannot be read as text ({e})") from e
    strings: list[str] = pc.fill_null(text, "").to_pylist()
    return strings


# --- Mappings ------------------------------------------------------------------------------------------

_SECTIONS = ("columns", "ignore", "defaults", "codes", "dates", "settlements")


@dataclass
class Mapping:
    """How an extract's columns and values become canonical fields; see the module docstring."""

    columns: dict[str, str] = field(default_factory=dict)
    ignore_columns: list[str] = field(default_factory=list)
    defaults: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    settlements: dict[str, str] = field(default_factory=dict)
    name: str = "mapping"
    text: str = ""

    @property
    def mapping_sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def load_mapping(text: str, *, name: str = "mapping") -> Mapping:
    """Read a TOML mapping; any mistake is a FileProblem("mapping", key path, reason)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FileProblem("mapping", name, f"the mapping is not valid TOML: {e}") from e
    for key in doc:
        if key not in _SECTIONS:
            raise FileProblem("mapping", key, f"unknown section '{key}'; the sections are {', '.join(_SECTIONS)}")
    mapping = Mapping(name=name, text=text)
    for key, value in _table(doc, "columns").items():
        _canonical(key, f"columns.{key}")
        mapping.columns[key] = _text(value, f"columns.{key}").strip()
        if not mapping.columns[key]:
            raise FileProblem("mapping", f"columns.{key}", "the source column name is empty")
    ignore = _table(doc, "ignore")
    for key in ignore:
        if key != "columns":
            raise FileProblem("mapping", f"ignore.{key}", f"unknown key '{key}'; [ignore] has only 'columns'")
    mapping.ignore_columns = [v.strip() for v in _text_list(ignore.get("columns", []), "ignore.columns")]
    for column in mapping.ignore_columns:
        if column in mapping.columns.values():
            raise FileProblem("mapping", "ignore.columns", f"the column '{column}' is both mapped and ignored")
    for key, value in _table(doc, "defaults").items():
        _canonical(key, f"defaults.{key}")
        if key == "record_id":
            raise FileProblem(
                "mapping", "defaults.record_id", "record_id cannot have a default: each record needs its own"
            )
        mapping.defaults[key] = _text(value, f"defaults.{key}").strip()
    for key, value in _table(doc, "codes").items():
        _canonical(key, f"codes.{key}")
        if not isinstance(value, dict):
            raise FileProblem("mapping", f"codes.{key}", "a code list must be a table: [codes.field]")
        mapping.codes[key] = {
            code.strip(): _text(target, f"codes.{key}.{code}").strip() for code, target in value.items()
        }
    dates = _table(doc, "dates")
    for key in dates:
        if key != "formats":
            raise FileProblem("mapping", f"dates.{key}", f"unknown key '{key}'; [dates] has only 'formats'")
    mapping.date_formats = _text_list(dates.get("formats", []), "dates.formats")
    for fmt in mapping.date_formats:
        _date_precision(fmt)
    for key, value in _table(doc, "settlements").items():
        mapping.settlements[key.strip()] = _text(value, f"settlements.{key}").strip()
    return mapping


def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise FileProblem("mapping", key, f"'{key}' must be a table: [{key}]")
    return value


def _canonical(key: str, path: str) -> None:
    if key not in CANONICAL_FIELDS:
        raise FileProblem("mapping", path, f"'{key}' is not a field of the person records file")


def _text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise FileProblem("mapping", path, "the value must be text in quotation marks")
    return value


def _text_list(value: object, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FileProblem("mapping", path, "the value must be a list of texts in quotation marks")
    return list(value)


def _date_precision(fmt: str) -> int:
    """How many parts (1 year, 2 month, 3 day) a date read with this strptime format has."""
    directives = set(_DIRECTIVE.findall(fmt))
    unsupported = directives - _DATE_DIRECTIVES
    if unsupported or (fmt.endswith("%") and not fmt.endswith("%%")):
        shown = ", ".join(sorted(f"%{d}" for d in unsupported)) or "%"
        raise FileProblem(
            "mapping", "dates.formats", f"the format '{fmt}' uses {shown}; only %d, %m, %b, %B, %Y and %% are allowed"
        )
    if "Y" not in directives:
        raise FileProblem("mapping", "dates.formats", f"the format '{fmt}' has no four-digit year (%Y)")
    month = bool(directives & {"m", "b", "B"})
    if "d" in directives and not month:
        raise FileProblem("mapping", "dates.formats", f"the format '{fmt}' has a day but no month")
    return 3 if "d" in directives else 2 if month else 1


class RowMapper:
    """Turns a table row into a canonical row; built by ``compile_mapper`` for one header."""

    def __init__(
        self,
        pairs: list[tuple[int, str]],
        header: list[str],
        unknown_columns: list[str],
        mapping: Mapping | None,
    ) -> None:
        self._names = [name for _, name in pairs]
        defaults = mapping.defaults if mapping is not None else {}
        self.fields: list[str] = self._names + [f for f in CANONICAL_FIELDS if f in defaults and f not in self._names]
        self.unknown_columns = unknown_columns
        self.source_columns: dict[str, str] = {name: header[i] for i, name in pairs}
        self._build = _row_builder(pairs)
        present = set(self._names)
        self._codes: list[tuple[str, dict[str, str], dict[str, str], frozenset[str]]] = []
        self._date_fields: list[str] = []
        self._formats: list[tuple[str, int]] = []
        self._formats_shown = ""
        self._settlement_fields: list[str] = []
        self._settlements: dict[str, str] = {}
        self._defaults = [(f, v) for f, v in defaults.items() if v]
        if mapping is not None:
            for name, codes in mapping.codes.items():
                if name in present:
                    folded = {code.casefold(): target for code, target in codes.items()}
                    self._codes.append((name, codes, folded, frozenset(codes.values())))
            if mapping.date_formats:
                self._date_fields = [f for f in DATE_FIELDS if f in present]
                self._formats = [(fmt, _date_precision(fmt)) for fmt in mapping.date_formats]
                self._formats_shown = ", ".join(mapping.date_formats)
            if mapping.settlements:
                self._settlement_fields = [f for f in SETTLEMENT_FIELDS if f in present]
                self._settlements = mapping.settlements
        self._simple = not (self._codes or self._date_fields or self._settlement_fields or self._defaults)

    def __call__(self, values: list[str]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
        row = self._build(values)
        if self._simple:
            return row, []
        return row, self._convert(row)

    def _convert(self, row: dict[str, str]) -> list[tuple[str, str, str]]:
        problems: list[tuple[str, str, str]] = []
        for name, codes, folded, targets in self._codes:
            value = row[name]
            if not value or value in targets:
                continue
            found = codes.get(value)
            if found is None:
                found = folded.get(value.casefold())
            if found is None:
                problems.append((name, value, f"unknown code '{value}' for {name}"))
            else:
                row[name] = found
        for name in self._date_fields:
            value = row[name]
            if value and not _ISO_PARTIAL.fullmatch(value):
                converted = self._date(value)
                if converted is None:
                    problems.append(
                        (name, value, f"date '{value}' does not match any of the formats {self._formats_shown}")
                    )
                else:
                    row[name] = converted
        for name in self._settlement_fields:
            value = row[name]
            if value:
                row[name] = self._settlements.get(value, value)
        for name, default in self._defaults:
            if not row.get(name):
                row[name] = default
        return problems

    def _date(self, value: str) -> str | None:
        for fmt, precision in self._formats:
            try:
                parsed = dt.datetime.strptime(value, fmt)
            except ValueError:
                continue
            if precision == 3:
                return f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}"
            if precision == 2:
                return f"{parsed.year:04d}-{parsed.month:02d}"
            return f"{parsed.year:04d}"
        return None


def _row_builder(pairs: list[tuple[int, str]]) -> Callable[[list[str]], dict[str, str]]:
    """A function making the canonical row from a table row: ``{"record_id": strip(values[0]), ...}``.

    A dict display with constant keys builds a presized dict in one step, about twice as fast as
    ``dict(zip(...))`` for a 19-column row, and the mapper runs once per imported row. Only canonical field
    names (never text from the file) and integer indexes go into the generated source.
    """
    if not all(name in CANONICAL_FIELDS and isinstance(index, int) for index, name in pairs):
        raise ValueError("row builders are made from canonical fields and column indexes only")
    body = ", ".join(f"{name!r}: strip(values[{index}])" for index, name in pairs)
    namespace: dict[str, Any] = {"strip": str.strip}
    code = compile(f"def build(values):\n    return {{{body}}}\n", "<homeward.registry.readers>", "exec")
    exec(code, namespace)  # noqa: S102 - see the docstring
    build: Callable[[list[str]], dict[str, str]] = namespace["build"]
    return build


def compile_mapper(mapping: Mapping | None, header: list[str]) -> RowMapper:
    """A row mapper for tables with this header; refuses a header the mapping does not fit.

    Header columns that are neither mapped, nor canonical names, nor ignored by the mapping end up in
    ``unknown_columns``: the importer refuses such a file, naming them, so that no data is dropped silently.
    """
    stripped = [name.strip() for name in header]
    pairs: list[tuple[int, str]] = []  # (header column, canonical field); one column may feed several fields
    if mapping is not None:
        for name, source in mapping.columns.items():
            index = _find_column(stripped, source)
            if index is None:
                raise FileProblem("header", name, f"column '{source}' named by the mapping is not in the file")
            pairs.append((index, name))
    used = {i for i, _ in pairs}
    taken: dict[str, str] = {name: stripped[i] for i, name in pairs}
    mapped = set(taken)
    ignored = set(mapping.ignore_columns) if mapping is not None else set()
    canonical = {f.casefold(): f for f in CANONICAL_FIELDS}
    unknown: list[str] = []
    for i, column in enumerate(stripped):
        if i in used or column in ignored:
            continue
        canon = canonical.get(column.casefold())
        if canon is None or canon in mapped:
            unknown.append(column)
            continue
        if canon in taken:
            raise FileProblem(
                "header", canon, f"the columns '{taken[canon]}' and '{column}' are both the field {canon}"
            )
        pairs.append((i, canon))
        taken[canon] = column
    if "record_id" not in taken:
        raise FileProblem("header", "record_id", "the file has no record_id column and the mapping names none")
    pairs.sort()
    return RowMapper(pairs, stripped, unknown, mapping)


def _find_column(header: list[str], source: str) -> int | None:
    source = source.strip()
    if source in header:
        return header.index(source)
    folded = [i for i, name in enumerate(header) if name.casefold() == source.casefold()]
    return folded[0] if len(folded) == 1 else None
