"""How well a record linkage (deduplication) matches the ground truth. Pure Python, no Django.

Two CSV files are compared: the linkage's output (``record_id, cluster_id``: records with the same
``cluster_id`` were judged to be the same person) and the truth (``record_id, person_id``). Other columns
are ignored and the columns may come in any order; header names are matched ignoring case and surrounding
spaces, and ids are taken with surrounding spaces removed. Both files are UTF-8, with or without a byte
order mark, comma-separated.

Only records present in both files are evaluated. Records in just one file are counted and reported but
take no part in any figure: a cluster whose other records are missing from the truth counts with the
records that remain.

Pairwise figures look at every unordered pair of compared records. A pair is *predicted* when both
records are in the same cluster, *true* when both belong to the same person, a *true positive* when both.
They are computed from the contingency table (cluster × person cells): a group of ``n`` records makes
``n*(n-1)/2`` pairs, so the cost is linear in the number of records and no pair is ever enumerated.

* precision = true positive pairs / predicted pairs, and **1.0 when there are no predicted pairs** (a
  linkage that links nothing makes no wrong link);
* recall = true positive pairs / true pairs, and **1.0 when there are no true pairs** (there is no link
  to miss);
* F1 = 2·precision·recall / (precision + recall), and 0.0 when both are 0.

Cluster figures: a cluster is *exact* when its records are exactly the records of one person (no more,
no fewer). Cluster precision = exact clusters / predicted clusters, cluster recall = exact clusters / true
persons (each 1.0 when its denominator is 0, that is when no record is compared), and their F1 as above.
A person is *split* when their records fall in two clusters or more; a cluster *merges* when it holds
the records of two persons or more.

Swapping the two files swaps precision and recall (pairwise and cluster), split persons and merging
clusters, and the largest cluster and the largest person; F1 and the exact clusters do not change.

Errors in a file raise ``EvaluationInputError`` naming the file, the line (as an editor numbers it: the
header is line 1, and a row with a quoted line break is numbered by the line where it begins), the field
when one column is at fault (None for a file that is not CSV at all or a row with too many cells) and the
reason: a missing or repeated column, an empty id, a record_id seen twice (with the line of its first
appearance), text that is not UTF-8 (its first bad line and column), a zip, Parquet or binary file (a NUL
byte in the first 64 KiB), UTF-16 text, broken CSV quoting, an empty file, a file that cannot be opened.
Blank lines are skipped and keep their numbers.

The readers keep one string object per distinct cluster or person id, so the values of five million rows
cost little beside the record ids: reading five million rows takes about 8 s and 550 MB per file, and
``evaluate`` about 10 s more.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

__all__ = [
    "Evaluation",
    "EvaluationInputError",
    "evaluate",
    "format_report",
    "read_clusters",
    "read_truth",
]

RECORD_ID = "record_id"
CLUSTER_ID = "cluster_id"
PERSON_ID = "person_id"

_HEAD_BYTES = 64 * 1024
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an XLSX workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


class EvaluationInputError(ValueError):
    """A clusters or truth file that cannot be read: which file, which line, which field and why.

    ``line`` is the line number in the file (the header is line 1), or None when the problem is the file
    as a whole; ``field`` is the column concerned, or None when no single column is.
    """

    def __init__(self, path: str, reason: str, *, line: int | None = None, field: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.field = field
        where = [path]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field}")
        super().__init__(f"{', '.join(where)}: {reason}")


# --- Reading ---------------------------------------------------------------------------------------------


def read_clusters(path: str | os.PathLike[str]) -> dict[str, str]:
    """``record_id -> cluster_id`` from a linkage's output CSV (header with ``record_id`` and ``cluster_id``)."""
    return _read_mapping(path, CLUSTER_ID)


def read_truth(path: str | os.PathLike[str]) -> dict[str, str]:
    """``record_id -> person_id`` from a ground-truth CSV (header with ``record_id`` and ``person_id``)."""
    return _read_mapping(path, PERSON_ID)


def _read_mapping(path: str | os.PathLike[str], value_column: str) -> dict[str, str]:
    name = os.fspath(path)
    _check_head(name)
    result: dict[str, str] = {}
    distinct: dict[str, str] = {}  # one string object per distinct cluster or person id
    try:
        with open(name, encoding="utf-8-sig", newline="") as handle:
            for line, record_id, value in _rows(name, handle, value_column):
                value = distinct.setdefault(value, value)
                size = len(result)
                result[record_id] = value
                if len(result) == size:
                    first = _first_line_of(name, value_column, record_id)
                    raise EvaluationInputError(
                        name,
                        f"record_id {record_id!r} appears twice (first on line {first})",
                        line=line,
                        field=RECORD_ID,
                    )
    except UnicodeDecodeError:
        raise _decoding_error(name) from None
    except OSError as error:
        raise EvaluationInputError(name, f"cannot read the file: {error.strerror or error}") from None
    return result


def _check_head(name: str) -> None:
    """Refuse what is plainly not UTF-8 CSV text before parsing: archives, binary files, UTF-16, nothing."""
    try:
        with open(name, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as error:
        raise EvaluationInputError(name, f"cannot read the file: {error.strerror or error}") from None
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise EvaluationInputError(name, f"this is {what}, not CSV text", line=1)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise EvaluationInputError(name, "the file is UTF-16 text; save it as UTF-8", line=1)
    if b"\x00" in head:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise EvaluationInputError(name, "binary content (a NUL byte), not CSV text", line=line)
    if len(head) < _HEAD_BYTES and not head.removeprefix(codecs.BOM_UTF8).strip():
        raise EvaluationInputError(name, "the file is empty: no header line", line=1)


def _rows(name: str, handle: IO[str], value_column: str) -> Iterator[tuple[int, str, str]]:
    """``(line, record_id, value)`` of each non-blank data row, checked."""
    reader = csv.reader(handle, strict=True)
    last = 0  # the line where the previous row ended
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise EvaluationInputError(
                name, f"the first line is empty; expected a header with {RECORD_ID} and {value_column}", line=1
            )
        id_index, value_index = _columns(name, header, value_column)
        width = len(header)
        last = reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if len(row) != width:
                if not any(cell.strip() for cell in row):
                    continue  # a blank line
                _check_width(name, start, row, header, id_index, value_index)
            record_id = row[id_index].strip()
            value = row[value_index].strip()
            if not record_id or not value:
                if not any(cell.strip() for cell in row):
                    continue  # a line of empty cells
                field = RECORD_ID if not record_id else value_column
                raise EvaluationInputError(name, f"empty {field}", line=start, field=field)
            if last != start:  # a quoted line break somewhere in this row
                for field, text in ((RECORD_ID, record_id), (value_column, value)):
                    if "\n" in text or "\r" in text:
                        reason = f"{field} contains a line break (a quote left open?)"
                        raise EvaluationInputError(name, reason, line=start, field=field)
            yield start, record_id, value
    except csv.Error as error:
        reason = f"not valid CSV: {error}"
        if reader.line_num > last + 1:
            reason += f" (reading on to line {reader.line_num}: a quote left open?)"
        raise EvaluationInputError(name, reason, line=last + 1) from None


def _columns(name: str, header: list[str], value_column: str) -> tuple[int, int]:
    names = [cell.strip().lower() for cell in header]
    indices = []
    for column in (RECORD_ID, value_column):
        count = names.count(column)
        if count == 0:
            found = ", ".join(repr(cell) for cell in header)
            reason = f"missing column {column} (the header has {found})"
            if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
                reason += "; only comma-separated files are read"
            raise EvaluationInputError(name, reason, line=1, field=column)
        if count > 1:
            raise EvaluationInputError(
                name, f"column {column} appears {count} times in the header", line=1, field=column
            )
        indices.append(names.index(column))
    return indices[0], indices[1]


def _check_width(name: str, line: int, row: list[str], header: list[str], *indices: int) -> None:
    width = len(header)
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        raise EvaluationInputError(
            name, f"{len(row)} cells but the header has {width} columns (an unquoted comma?)", line=line
        )
    for index in indices:
        if index >= len(row):
            field = header[index].strip().lower()
            raise EvaluationInputError(
                name,
                f"missing {field}: the row has only {len(row)} cell{'s' if len(row) > 1 else ''}",
                line=line,
                field=field,
            )


def _first_line_of(name: str, value_column: str, record_id: str) -> int:
    """The line where ``record_id`` first appears: read again only to explain a duplicate."""
    with open(name, encoding="utf-8-sig", newline="") as handle:
        for line, other, _value in _rows(name, handle, value_column):
            if other == record_id:
                return line
    raise AssertionError("unreachable: the duplicate was read from this file")  # pragma: no cover


def _decoding_error(name: str) -> EvaluationInputError:
    """Find the first line that is not UTF-8 (the text reader decodes ahead, so it cannot say) and its field."""
    header: list[str] = []
    with open(name, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            body = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as error:
                position = error.start
                break
            if number == 1:
                header = next(csv.reader([text.rstrip("\r\n")]), [])
        else:  # every line decodes: the file ends inside a character
            return EvaluationInputError(name, "not UTF-8 text: the file ends inside a character")
    reason = f"not UTF-8 text (byte 0x{body[position]:02X} at byte {position + 1} of the line); save the file as UTF-8"
    if number == 1:
        return EvaluationInputError(name, reason, line=1, field="header")
    cells = next(csv.reader([body.decode("utf-8", errors="surrogateescape").rstrip("\r\n")]), [])
    for index, cell in enumerate(cells[: len(header)]):
        if any("\udc80" <= char <= "\udcff" for char in cell):
            return EvaluationInputError(name, reason, line=number, field=header[index].strip().lower())
    return EvaluationInputError(name, reason, line=number)


# --- Evaluating ------------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Counts from comparing a linkage with the truth; the ratios are derived from them (see the module doc)."""

    records_compared: int
    records_only_in_clusters: int
    records_only_in_truth: int
    predicted_pairs: int
    true_pairs: int
    true_positive_pairs: int
    predicted_clusters: int
    true_persons: int
    exact_clusters: int
    split_persons: int
    merging_clusters: int
    largest_cluster: int
    largest_person: int

    @property
    def false_positive_pairs(self) -> int:
        """Pairs linked by the clustering that belong to two different persons."""
        return self.predicted_pairs - self.true_positive_pairs

    @property
    def false_negative_pairs(self) -> int:
        """Pairs of one person's records that the clustering left in different clusters."""
        return self.true_pairs - self.true_positive_pairs

    @property
    def pair_precision(self) -> float:
        """True positive pairs / predicted pairs; 1.0 when no pair is predicted."""
        return _ratio(self.true_positive_pairs, self.predicted_pairs)

    @property
    def pair_recall(self) -> float:
        """True positive pairs / true pairs; 1.0 when there is no true pair."""
        return _ratio(self.true_positive_pairs, self.true_pairs)

    @property
    def pair_f1(self) -> float:
        return _f1(self.pair_precision, self.pair_recall)

    @property
    def cluster_precision(self) -> float:
        """Exact clusters / predicted clusters; 1.0 when there is no cluster."""
        return _ratio(self.exact_clusters, self.predicted_clusters)

    @property
    def cluster_recall(self) -> float:
        """Exact clusters / true persons; 1.0 when there is no person."""
        return _ratio(self.exact_clusters, self.true_persons)

    @property
    def cluster_f1(self) -> float:
        return _f1(self.cluster_precision, self.cluster_recall)

    def as_dict(self) -> dict[str, int | float]:
        """Every count and ratio, flat, for JSON."""
        return {
            "records_compared": self.records_compared,
            "records_only_in_clusters": self.records_only_in_clusters,
            "records_only_in_truth": self.records_only_in_truth,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
            "true_positive_pairs": self.true_positive_pairs,
            "false_positive_pairs": self.false_positive_pairs,
            "false_negative_pairs": self.false_negative_pairs,
            "pair_precision": self.pair_precision,
            "pair_recall": self.pair_recall,
            "pair_f1": self.pair_f1,
            "predicted_clusters": self.predicted_clusters,
            "true_persons": self.true_persons,
            "exact_clusters": self.exact_clusters,
            "cluster_precision": self.cluster_precision,
            "cluster_recall": self.cluster_recall,
            "cluster_f1": self.cluster_f1,
            "split_persons": self.split_persons,
            "merging_clusters": self.merging_clusters,
            "largest_cluster": self.largest_cluster,
            "largest_person": self.largest_person,
        }


def evaluate(clusters: Mapping[str, str], truth: Mapping[str, str]) -> Evaluation:
    """Compare ``record_id -> cluster_id`` with ``record_id -> person_id`` over the records in both.

    Linear in the number of records: each record is counted in its (cluster, person) cell, and every
    figure comes from the cells.
    """
    person_index: dict[str, int] = {person: i for i, person in enumerate(dict.fromkeys(truth.values()))}
    persons = max(len(person_index), 1)
    cluster_index: dict[str, int] = {}
    # One int per cell: cluster number * persons + person number.
    cells = Counter(
        cluster_index.setdefault(cluster, len(cluster_index)) * persons + person_index[person]
        for record_id, cluster in clusters.items()
        if (person := truth.get(record_id)) is not None
    )
    cluster_size = [0] * len(cluster_index)
    cluster_cells = [0] * len(cluster_index)
    person_size = [0] * len(person_index)
    person_cells = [0] * len(person_index)
    true_positive_pairs = 0
    for key, n in cells.items():
        c, p = divmod(key, persons)
        cluster_size[c] += n
        cluster_cells[c] += 1
        person_size[p] += n
        person_cells[p] += 1
        true_positive_pairs += n * (n - 1) // 2
    exact = 0
    for key in cells:
        c, p = divmod(key, persons)
        if cluster_cells[c] == 1 and person_cells[p] == 1:
            exact += 1
    compared = sum(cluster_size)
    return Evaluation(
        records_compared=compared,
        records_only_in_clusters=len(clusters) - compared,
        records_only_in_truth=len(truth) - compared,
        predicted_pairs=sum(n * (n - 1) // 2 for n in cluster_size),
        true_pairs=sum(n * (n - 1) // 2 for n in person_size),
        true_positive_pairs=true_positive_pairs,
        predicted_clusters=sum(1 for n in cluster_cells if n),
        true_persons=sum(1 for n in person_cells if n),
        exact_clusters=exact,
        split_persons=sum(1 for n in person_cells if n > 1),
        merging_clusters=sum(1 for n in cluster_cells if n > 1),
        largest_cluster=max(cluster_size, default=0),
        largest_person=max(person_size, default=0),
    )


# --- Reporting -------------------------------------------------------------------------------------------


def format_report(evaluation: Evaluation) -> str:
    """A plain-text report of every figure, aligned in columns, with the conventions it relies on."""
    e = evaluation
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        (
            "Records",
            [
                ("compared (in both files)", f"{e.records_compared:,}"),
                ("only in the clusters file (excluded)", f"{e.records_only_in_clusters:,}"),
                ("only in the truth file (excluded)", f"{e.records_only_in_truth:,}"),
            ],
        ),
        (
            "Pairs of records",
            [
                ("predicted (same cluster)", f"{e.predicted_pairs:,}"),
                ("true (same person)", f"{e.true_pairs:,}"),
                ("correct (true positives)", f"{e.true_positive_pairs:,}"),
                ("wrongly linked (false positives)", f"{e.false_positive_pairs:,}"),
                ("missed (false negatives)", f"{e.false_negative_pairs:,}"),
                ("precision", f"{e.pair_precision:.4f}"),
                ("recall", f"{e.pair_recall:.4f}"),
                ("F1", f"{e.pair_f1:.4f}"),
            ],
        ),
        (
            "Clusters",
            [
                ("predicted clusters", f"{e.predicted_clusters:,}"),
                ("true persons", f"{e.true_persons:,}"),
                ("exact (one person's records, all of them)", f"{e.exact_clusters:,}"),
                ("cluster precision (exact / clusters)", f"{e.cluster_precision:.4f}"),
                ("cluster recall (exact / persons)", f"{e.cluster_recall:.4f}"),
                ("cluster F1", f"{e.cluster_f1:.4f}"),
                ("persons split over several clusters", f"{e.split_persons:,}"),
                ("clusters merging several persons", f"{e.merging_clusters:,}"),
                ("largest cluster (records)", f"{e.largest_cluster:,}"),
                ("largest true person (records)", f"{e.largest_person:,}"),
            ],
        ),
    ]
    label_width = max(len(label) for _, rows in sections for label, _ in rows)
    value_width = max(len(value) for _, rows in sections for _, value in rows)
    lines = ["Linkage evaluation", "=================="]
    for title, rows in sections:
        lines += ["", title]
        lines += [f"  {label:<{label_width}}  {value:>{value_width}}" for label, value in rows]
    notes = [
        "Only records present in both files are compared; records in just one file are excluded from every "
        "figure above.",
        "Precision is 1.0000 when nothing is predicted (no wrong link made); recall is 1.0000 when there is "
        "nothing to find. F1 is the harmonic mean of the two.",
    ]
    if e.records_compared == 0:
        notes.insert(0, "WARNING: no record is in both files, so the ratios above mean nothing.")
    lines += ["", "Notes"]
    lines += [f"  - {note}" for note in notes]
    return "\n".join(lines) + "\n"
