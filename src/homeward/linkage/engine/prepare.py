"""Person records to the columns the linkage model compares. Pure Python and Arrow, no Django.

Input is the person records file of DESIGN.md (``record_id, source, given_name, surname, patronymic, sex,
birth_date, birth_place, origin_settlement, current_country``; other columns ignored, any cell may be
empty). Each name is normalised once per distinct value (there are far fewer distinct names than
records) and the results are taken back to the rows, so preparing a million records takes seconds.

What cannot be used is counted and explained, never guessed: an empty or letterless name, a date that
does not exist, a name in a script the normaliser does not read. Such a value becomes null, and a null
is never evidence for a match.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from homeward.core.names import detect_script, fold, given_root, patronymic_root, phonetic_key, skeleton, surname_root
from homeward.core.partialdate import PartialDate

# The person records file's fields that linkage compares (current_city and document_number are optional
# columns of the registry's person records; a file without them links on the others).
INPUT_FIELDS = (
    "record_id", "source", "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place",
    "origin_settlement", "current_country", "current_city", "document_number",
)  # fmt: skip
# Family links within one source, read when present: evidence once the relatives are linked (``family``).
FAMILY_FIELDS = ("spouse_record_id", "father_record_id", "mother_record_id")
READ_FIELDS = (*INPUT_FIELDS, *FAMILY_FIELDS)
# The columns of the prepared table, in order (all strings but the birth date's parts).
FEATURES = (
    "unique_id", "source", "given", "given_key", "surname", "surname_key", "given_as_surname",
    "surname_as_given", "name_pair_key", "patronymic", "patronymic_key", "sex", "birth_year", "birth_month",
    "birth_day", "birth_date", "birth_place", "origin", "country", "city", "document",
    "document_key",
)  # fmt: skip
# Scripts the name normaliser reads; a name in another script is kept as written (folded) and reported.
READ_SCRIPTS = frozenset({"Latn", "Cyrl", "Armn", "", "Zyyy"})
MAX_RECORD_ID = 120


class LinkageInputError(ValueError):
    """A file that cannot be linked at all: says where (file, line, field) and why."""


@dataclass
class Unusable:
    """Values the linker could not use, by field and reason, with a few examples (record ids)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, field_name: str, reason: str, count: int, examples: Iterable[str] = ()) -> None:
        if count <= 0:
            return
        key = (field_name, reason)
        self.counts[key] += count
        kept = self.examples.setdefault(key, [])
        for example in examples:
            if len(kept) >= 3:
                break
            kept.append(example)

    def lines(self) -> list[str]:
        out = []
        for (field_name, reason), count in sorted(self.counts.items()):
            shown = ", ".join(self.examples.get((field_name, reason), []))
            out.append(f"{field_name}: {count:,} {reason}" + (f" (e.g. records {shown})" if shown else ""))
        return out


def read_records(path: Path) -> pa.Table:
    """The person records file as strings (empty cells as ""); checks the header, the rows and the record ids.

    Header names are matched ignoring case and surrounding spaces; unknown columns are ignored. A file that
    cannot be read whole raises ``LinkageInputError`` naming the line (as an editor numbers it) and the field:
    text that is not UTF-8, a row with more or fewer cells than the header, a quote left open, a line break
    in a value, an empty, over-long or repeated record id, a binary file.
    """
    names = _read_header(path)
    wanted = [n for n in READ_FIELDS if n in names]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        _find_bad_row(path, names, wanted)  # raises with the line when the rows show it
        raise LinkageInputError(f"{path}: not a readable CSV file of person records ({_arrow_reason(exc)})") from exc
    except OSError as exc:
        raise LinkageInputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    quotes = _count_quotes(path)
    if quotes % 2:
        # A quote left open swallows every row after it into one value without any parse error.
        _find_bad_row(path, names, wanted)
    columns = {}
    for name in READ_FIELDS:
        if name in table.column_names:
            columns[name] = pc.utf8_trim_whitespace(table[name])
        else:
            columns[name] = pa.chunked_array([pa.nulls(table.num_rows, pa.string()).fill_null("")])
    table = pa.table(columns)

    for name in wanted if quotes else ():  # only a quoted value holds a line break
        breaks = pc.or_(pc.match_substring(table[name], "\n"), pc.match_substring(table[name], "\r"))
        if pc.any(breaks).as_py():
            line = _line_of_row(path, pc.index(breaks, True).as_py())
            raise LinkageInputError(f"{path}: line {line}: field {name}: contains a line break (a quote left open?)")
    _check_ids(table["record_id"], prefix=str(path), unit="line", number=lambda index: _line_of_row(path, index))
    return table


def records_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Records given as dicts (as the registry holds them) in the same shape as ``read_records``."""
    data: dict[str, list[str]] = {name: [] for name in READ_FIELDS}
    for row in rows:
        for name in READ_FIELDS:
            value = row.get(name)
            data[name].append("" if value is None else str(value).strip())
    table = pa.table({name: pa.array(values, pa.string()) for name, values in data.items()})
    _check_ids(table["record_id"], prefix="records", unit="record", number=lambda index: index + 1)
    return table


# Files that are plainly not CSV text, by their first bytes.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an XLSX workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_HEAD_BYTES = 64 * 1024
_LINE_END = re.compile(rb"\r\n|\n|\r")


def _read_header(path: Path) -> list[str]:
    """The header's column names (stripped, lower case), after refusing what is plainly not UTF-8 CSV text."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise LinkageInputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise LinkageInputError(f"{path}: line 1: this is {what}, not a CSV file; save it as CSV (UTF-8)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LinkageInputError(f"{path}: line 1: the file is UTF-16 text; save it as UTF-8")
    if b"\x00" in head:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise LinkageInputError(f"{path}: line {line}: binary content (a NUL byte), not CSV text")
    head = head.removeprefix(codecs.BOM_UTF8)
    if not head.strip():
        raise LinkageInputError(f"{path}: line 1: the file is empty (a header row with record_id is needed)")
    lines = _LINE_END.split(head, maxsplit=1)
    first = lines[0]
    if len(lines) == 1 and len(head) >= _HEAD_BYTES - len(codecs.BOM_UTF8):
        raise LinkageInputError(f"{path}: line 1: longer than {_HEAD_BYTES // 1024} KiB: not a header row")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LinkageInputError(
            f"{path}: line 1: field header: not UTF-8 text (byte 0x{first[exc.start]:02X}); save the file as UTF-8"
        ) from exc
    try:
        header = next(csv.reader([text]), [])
    except csv.Error as exc:
        raise LinkageInputError(f"{path}: line 1: not a CSV header ({exc})") from exc
    names = [h.strip().lower() for h in header]
    if not any(names):
        raise LinkageInputError(f"{path}: line 1: empty; the first line must be the header row (with record_id)")
    if "record_id" not in names:
        reason = "the header has no record_id column"
        if len(names) == 1 and any(sep in header[0] for sep in ";\t|"):
            reason += " (only comma-separated files are read)"
        raise LinkageInputError(f"{path}: line 1: field record_id: {reason}")
    for name in READ_FIELDS:
        if names.count(name) > 1:
            raise LinkageInputError(f"{path}: line 1: field {name}: the column appears {names.count(name)} times")
    return names


def _count_quotes(path: Path) -> int:
    """The double quotes in the file: an odd number means a quote left open (or a stray one)."""
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b'"')
    return count


def _data_rows(path: Path, *, strict: bool = False) -> Iterator[tuple[int, list[str]]]:
    """``(line where the row begins, cells)`` of every data row, counted as the fast reader counts rows (blank
    lines skipped). Text that is not UTF-8 comes through as surrogates (see ``_find_bad_row``)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, strict=strict)
        last = 0  # the line where the previous row ended
        try:
            next(reader, None)
            last = reader.line_num
            for row in reader:
                start, last = last + 1, reader.line_num
                if row:
                    yield start, row
        except csv.Error as exc:
            reason = "a quote is left open" if "unexpected end of data" in str(exc) else f"not valid CSV ({exc})"
            raise LinkageInputError(f"{path}: line {last + 1}: {reason}") from exc


def _line_of_row(path: Path, index: int) -> int:
    """The line where data row ``index`` (0-based, blank lines not counted) begins."""
    for number, (line, _row) in enumerate(_data_rows(path)):
        if number == index:
            return line
    return index + 2  # pragma: no cover - the rows were read from this file


def _find_bad_row(path: Path, names: list[str], wanted: list[str]) -> None:
    """Raise ``LinkageInputError`` for the first row that cannot be read (naming its line and field), if any."""
    width = len(names)
    positions = {name: names.index(name) for name in wanted}
    for line, row in _data_rows(path, strict=True):
        for name, index in positions.items():
            if index < len(row) and any("\udc80" <= ch <= "\udcff" for ch in row[index]):
                raise LinkageInputError(f"{path}: line {line}: field {name}: not UTF-8 text; save the file as UTF-8")
        if len(row) != width:
            raise LinkageInputError(
                f"{path}: line {line}: {len(row)} cells but the header has {width} columns"
                + (" (an unquoted comma?)" if len(row) > width else "")
            )


def _arrow_reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _check_ids(ids: pa.ChunkedArray | pa.Array, *, prefix: str, unit: str, number: Callable[[int], int]) -> None:
    """Every record id present, at most ``MAX_RECORD_ID`` characters long, and given once. Messages name the
    row as ``{prefix}: {unit} {number(index)}`` (``number`` turns a 0-based row index into a line or position)."""

    def where(index: int) -> str:
        return f"{prefix}: {unit} {number(index)}"

    empty = pc.equal(ids, "")
    if pc.any(empty).as_py():
        raise LinkageInputError(
            f"{where(pc.index(empty, True).as_py())}: field record_id: empty (every record needs an id)"
        )
    too_long = pc.greater(pc.utf8_length(ids), MAX_RECORD_ID)
    if pc.any(too_long).as_py():
        raise LinkageInputError(
            f"{where(pc.index(too_long, True).as_py())}: field record_id: longer than {MAX_RECORD_ID} characters"
        )
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated):
        first = repeated[0].as_py()
        rows = pc.indices_nonzero(pc.equal(ids, first)).to_pylist()[:2]
        raise LinkageInputError(
            f"{where(rows[1])}: field record_id: {first!r} is also on {unit} {number(rows[0])} "
            f"({len(repeated):,} {'ids appear' if len(repeated) > 1 else 'id appears'} more than once)"
        )


def _letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _map_unique(column: pa.Array | pa.ChunkedArray, function: Callable[[str], Any], kind: pa.DataType) -> pa.Array:
    """``function`` applied once per distinct value, taken back to every row."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = column.dictionary_encode()
    mapped = pa.array([function(v) for v in encoded.dictionary.to_pylist()], kind)
    return mapped.take(encoded.indices)


NO_LETTERS = "without letters: not compared"
INITIAL = "only an initial (one letter): not compared"
FOREIGN = "in a script the normaliser does not read: not compared"


def _name_problem(text: str) -> str | None:
    """Why a name cannot be compared (None: it can)."""
    if not text:
        return None
    if not _letters(text):
        return NO_LETTERS
    if detect_script(text) not in READ_SCRIPTS:
        return FOREIGN
    if sum(ch.isalpha() for ch in fold(text)) < 2:
        return INITIAL
    return None


def _usable(text: str) -> str | None:
    """The name when it can be compared (letters in a script the normaliser reads, more than an initial)."""
    if not text or _name_problem(text) is not None:
        return None
    return text


@dataclass
class Prepared:
    table: pa.Table
    unusable: Unusable
    records: int


def prepare(records: pa.Table, *, unusable: Unusable | None = None) -> Prepared:
    """The compared columns of every record (see ``FEATURES``); nulls where a value cannot be used."""
    unusable = unusable or Unusable()
    ids = records["record_id"].combine_chunks()

    def examples(mask: pa.Array) -> list[str]:
        return [str(v) for v in pc.filter(ids, mask).slice(0, 3).to_pylist()]

    def name_column(name: str, form: Callable[[str], str]) -> pa.Array:
        raw = records[name].combine_chunks()
        verdict = _map_unique(raw, _name_problem, pa.string())
        for reason in sorted({v for v in verdict.unique().to_pylist() if v}):
            hit = pc.fill_null(pc.equal(verdict, reason), False)
            unusable.add(name, reason, pc.sum(hit).as_py() or 0, examples(hit))
        return _map_unique(raw, lambda t: (_usable(t) and form(t)) or None, pa.string())

    def name_column_key(name: str, key: Callable[[str], str]) -> pa.Array:
        return _map_unique(records[name], lambda t: (_usable(t) and key(t)) or None, pa.string())

    given = name_column("given_name", given_root)
    surname = name_column("surname", surname_root)
    patronymic = name_column("patronymic", patronymic_root)
    given_key = name_column_key("given_name", phonetic_key)
    surname_key = name_column_key("surname", phonetic_key)
    given_raw, surname_raw = records["given_name"].combine_chunks(), records["surname"].combine_chunks()
    given_as_surname = _map_unique(given_raw, lambda t: (_usable(t) and surname_root(t)) or None, pa.string())
    surname_as_given = _map_unique(surname_raw, lambda t: (_usable(t) and given_root(t)) or None, pa.string())
    # Both names keyed the same way (as surnames), so that a swapped pair gives the same key either way.
    first = given_key
    second = surname_key
    pair = pc.if_else(
        pc.less_equal(first, second),
        pc.binary_join_element_wise(first, second, "|"),
        pc.binary_join_element_wise(second, first, "|"),
    )
    patronymic_key = _map_unique(patronymic, lambda t: phonetic_key(t) or None if t else None, pa.string())

    dates = _map_unique(records["birth_date"], _date_parts, pa.list_(pa.int32()))
    raw_dates = records["birth_date"].combine_chunks()
    bad_dates = pc.and_(pc.not_equal(raw_dates, ""), pc.is_null(dates))
    unusable.add(
        "birth_date",
        "not a date that exists (YYYY, YYYY-MM or YYYY-MM-DD): not compared",
        pc.sum(bad_dates).as_py() or 0,
        examples(bad_dates),
    )
    year = pc.list_element(dates, 0)
    month = pc.list_element(dates, 1)
    day = pc.list_element(dates, 2)
    full = pc.if_else(pc.is_valid(day), raw_dates, pa.scalar(None, pa.string()))

    sex_raw = pc.utf8_upper(records["sex"].combine_chunks())
    sex = pc.if_else(pc.is_in(sex_raw, pa.array(["F", "M"])), sex_raw, pa.scalar(None, pa.string()))
    unknown_sex = pc.and_(pc.not_equal(sex_raw, ""), pc.is_null(sex))
    unusable.add("sex", "neither F nor M: not compared", pc.sum(unknown_sex).as_py() or 0, examples(unknown_sex))

    def place(name: str) -> pa.Array:
        # Places compare on their consonant skeleton: Bakı, Baku and Баку, Sumqayıt and Sumgait meet. A value
        # with digits is an identifier (a gazetteer id), compared as written: the skeleton would fold its
        # repeated digits together (00011 and 00001).
        return _map_unique(records[name], _place, pa.string())

    source = records["source"].combine_chunks()
    document = _map_unique(records["document_number"], _document, pa.string())
    table = pa.table(
        {
            "unique_id": ids,
            "source": pc.if_else(pc.equal(source, ""), pa.scalar(None, pa.string()), source),
            "given": given,
            "given_key": given_key,
            "surname": surname,
            "surname_key": surname_key,
            "given_as_surname": given_as_surname,
            "surname_as_given": surname_as_given,
            "name_pair_key": pair,
            "patronymic": patronymic,
            "patronymic_key": patronymic_key,
            "sex": sex,
            "birth_year": year,
            "birth_month": month,
            "birth_day": day,
            "birth_date": full,
            "birth_place": place("birth_place"),
            "origin": place("origin_settlement"),
            "country": _country(records["current_country"].combine_chunks()),
            "city": place("current_city"),
            "document": document,
            # The same characters in any order: numbers with two digits swapped still meet.
            "document_key": _map_unique(document, lambda t: "".join(sorted(t)), pa.string()),
        }
    )
    return Prepared(table=table, unusable=unusable, records=table.num_rows)


# A blocking key shared by more records than this is left out of its rule (those records still meet through
# the other rules): 2,000 records make two million pairs, and a key that common says little anyway.
MAX_BLOCK = 2_000
# Pairs one rule may make: this many per record, and never fewer than PAIR_FLOOR. Blocks grow with the data
# (a common name born in one year: 5 times the records make 25 times the pairs), so past this budget the
# largest blocks of the rule are left out until it fits: the pairs then grow in step with the records.
PAIRS_PER_RECORD = 2
PAIR_FLOOR = 3_000_000


@dataclass(frozen=True)
class BlockRule:
    """Records meet when they agree on all ``columns``; with ``missing``, only pairs where at least one
    record lacks that column (the pairs other rules cannot reach), which keeps a broad rule cheap."""

    columns: tuple[str, ...]
    missing: str | None = None


def add_block_keys(
    table: pa.Table, rules: Iterable[BlockRule], *, limit: int = MAX_BLOCK, unusable: Unusable | None = None
) -> pa.Table:
    """One key column per blocking rule (``block_0``, ``block_1``...): a number for the rule's columns joined
    (``rule_key``), null when any is null or when the key's block is too crowded (more than ``limit``
    records, or among the largest blocks of a rule over its pair budget). A rule with ``missing`` also gets
    ``block_N_missing``: the key of the records that lack that column."""
    budget = max(PAIR_FLOOR, PAIRS_PER_RECORD * table.num_rows)
    for number, rule in enumerate(rules):
        key = rule_key(table, rule.columns)
        lacking = pc.is_null(table[rule.missing]) if rule.missing is not None else None
        blocks = _blocks(key, lacking)
        largest = _largest_kept(blocks, budget=budget, limit=limit)
        crowded = blocks.filter(pc.greater(blocks["k_count"], largest))["k"]
        if len(crowded):
            too_big = pc.is_in(key, crowded)
            if unusable is not None:
                unusable.add(
                    "blocking",
                    f"in a block of more than {largest:,} alike records on {' + '.join(rule.columns)}: "
                    "compared only through the other rules",
                    pc.sum(too_big).as_py() or 0,
                )
            key = pc.if_else(too_big, pa.scalar(None, pa.string()), key)
        # Blocking only asks whether two records' keys are equal: a number per distinct key says as much as the
        # joined text, in a fraction of the memory (it is held twice, here and in the database scoring pairs).
        code = pc.dictionary_encode(key).indices
        table = table.append_column(f"block_{number}", code)
        if lacking is not None:
            table = table.append_column(
                f"block_{number}_missing", pc.if_else(lacking, code, pa.scalar(None, code.type))
            )
    return table


def rule_key(table: pa.Table, columns: Iterable[str]) -> pa.Array:
    """A blocking rule's key as text: its columns' values joined, null when any is null."""
    parts = [table[c].cast(pa.string()) for c in columns]
    key = pc.binary_join_element_wise(*parts, "\x1f") if len(parts) > 1 else parts[0]
    return key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key


def block_limit(key: pa.Array, lacking: pa.Array | None, *, budget: int, limit: int = MAX_BLOCK) -> int:
    """The size (in records) above which a rule leaves blocks out: at most ``limit``, and low enough that the
    blocks kept make at most ``budget`` pairs. With ``lacking`` (the records without the rule's ``missing``
    column), a block's pairs are only those with at least one such record."""
    return _largest_kept(_blocks(key, lacking), budget=budget, limit=limit)


def _blocks(key: pa.Array, lacking: pa.Array | None) -> pa.Table:
    """Each key's block: ``k``, its records ``k_count`` and the pairs it makes ``pairs``."""
    flags = pa.array(np.zeros(len(key), dtype=np.int64)) if lacking is None else pc.cast(lacking, pa.int64())
    records = pa.table({"k": key, "m": flags}).filter(pc.is_valid(key))
    grouped = records.group_by("k").aggregate([("m", "sum"), ("k", "count")])
    size = grouped["k_count"].to_numpy()
    if lacking is None:
        pairs = size * (size - 1) // 2
    else:
        some = grouped["m_sum"].to_numpy()
        pairs = some * (size - some) + some * (some - 1) // 2
    return grouped.append_column("pairs", pa.array(pairs, pa.int64()))


def _largest_kept(blocks: pa.Table, *, budget: int, limit: int) -> int:
    if blocks.num_rows == 0:
        return limit
    sizes, where = np.unique(blocks["k_count"].to_numpy(), return_inverse=True)
    per_size = np.bincount(where, weights=blocks["pairs"].to_numpy().astype(np.float64))
    # Taking the blocks from the smallest up, the first size that breaks the budget is left out, and all above.
    over = sizes[np.cumsum(per_size) > budget]
    return max(1, min(limit, int(over.min()) - 1 if len(over) else limit))


def _place(text: str) -> str | None:
    if any(ch.isdigit() for ch in text):
        return text.strip().casefold() or None
    return skeleton(text) or None


def _document(text: str) -> str | None:
    """A document number as compared: letters and digits only, upper case; None when too short to say much."""
    kept = "".join(ch for ch in text.upper() if ch.isalnum())
    return kept if len(kept) >= 4 else None


def _country(column: pa.Array) -> pa.Array:
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(column))
    valid = pc.match_substring_regex(upper, r"^[A-Z]{2}$")
    return pc.if_else(pc.fill_null(valid, False), upper, pa.scalar(None, pa.string()))


def _date_parts(text: str) -> list[int | None] | None:
    if not text:
        return None
    try:
        parsed = PartialDate.parse(text)
    except ValueError:
        return None
    if parsed.year < 1800:
        return None
    return [parsed.year, parsed.month, parsed.day]
