"""Measuring a linkage against the truth: hand-computed cases, properties, brute force, the two readers."""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeward.linkage.engine.evaluate import (
    Evaluation,
    EvaluationInputError,
    evaluate,
    format_report,
    read_clusters,
    read_truth,
)

# No database: run once, not again in the PostgreSQL pass.
pytestmark = pytest.mark.database_free

# Three persons: A has records 1, 2, 3; B has 4, 5; C has 6 alone. True pairs: 3 + 1 + 0 = 4.
TRUTH = {"1": "A", "2": "A", "3": "A", "4": "B", "5": "B", "6": "C"}


def _clusters(*groups: str) -> dict[str, str]:
    """``_clusters("123", "45")``: records 1, 2, 3 in one cluster, 4 and 5 in another."""
    return {record: f"k{number}" for number, group in enumerate(groups) for record in group}


def _ratios(e: Evaluation) -> tuple[float, ...]:
    return (e.pair_precision, e.pair_recall, e.pair_f1, e.cluster_precision, e.cluster_recall, e.cluster_f1)


# --- Hand-computed cases ---------------------------------------------------------------------------------

CASES = {
    # name: (clusters, pairs (predicted, true, tp), pair P/R/F1, clusters (predicted, persons, exact),
    #        cluster P/R/F1, (split persons, merging clusters, largest cluster))
    "perfect": (
        _clusters("123", "45", "6"),
        (4, 4, 4),
        (1, 1, 1),
        (3, 3, 3),
        (1, 1, 1),
        (0, 0, 3),
    ),
    "all in one cluster": (
        _clusters("123456"),
        (15, 4, 4),
        (Fraction(4, 15), 1, Fraction(8, 19)),
        (1, 3, 0),
        (0, 0, 0),
        (0, 1, 6),
    ),
    "every record alone": (
        _clusters("1", "2", "3", "4", "5", "6"),
        (0, 4, 0),
        (1, 0, 0),  # no predicted pair: precision 1 by convention
        (6, 3, 1),
        (Fraction(1, 6), Fraction(1, 3), Fraction(2, 9)),
        (2, 0, 1),
    ),
    "one wrong merge (C into B)": (
        _clusters("123", "456"),
        (6, 4, 4),
        (Fraction(2, 3), 1, Fraction(4, 5)),
        (2, 3, 1),
        (Fraction(1, 2), Fraction(1, 3), Fraction(2, 5)),
        (0, 1, 3),
    ),
    "one split (A into 12 and 3)": (
        _clusters("12", "3", "45", "6"),
        (2, 4, 2),
        (1, Fraction(1, 2), Fraction(2, 3)),
        (4, 3, 2),
        (Fraction(1, 2), Fraction(2, 3), Fraction(4, 7)),
        (1, 0, 2),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hand_computed_case(case: str) -> None:
    clusters, pairs, pair_ratios, counts, cluster_ratios, shape = CASES[case]
    e = evaluate(clusters, TRUTH)
    assert (e.records_compared, e.records_only_in_clusters, e.records_only_in_truth) == (6, 0, 0)
    assert (e.predicted_pairs, e.true_pairs, e.true_positive_pairs) == pairs
    assert (e.false_positive_pairs, e.false_negative_pairs) == (pairs[0] - pairs[2], pairs[1] - pairs[2])
    assert (e.pair_precision, e.pair_recall, e.pair_f1) == pytest.approx([float(x) for x in pair_ratios])
    assert (e.predicted_clusters, e.true_persons, e.exact_clusters) == counts
    assert (e.cluster_precision, e.cluster_recall, e.cluster_f1) == pytest.approx([float(x) for x in cluster_ratios])
    assert (e.split_persons, e.merging_clusters, e.largest_cluster) == shape
    assert e.largest_person == 3


def test_records_in_one_file_only_are_counted_and_left_out() -> None:
    clusters = {**_clusters("123", "456"), "7": "k0", "8": "k9"}  # 7 would join A's cluster: it is not compared
    truth = {**TRUTH, "9": "A", "10": "D", "11": "D"}
    e = evaluate(clusters, truth)
    assert (e.records_compared, e.records_only_in_clusters, e.records_only_in_truth) == (6, 2, 3)
    baseline = evaluate(_clusters("123", "456"), TRUTH)
    assert e.as_dict() | {"records_only_in_clusters": 0, "records_only_in_truth": 0} == baseline.as_dict()
    # A cluster whose other records are absent from the truth counts with the records that remain.
    assert evaluate({"1": "k", "7": "k", "8": "k"}, TRUTH).as_dict() | {"records_only_in_truth": 5} == (
        evaluate({"1": "k"}, TRUTH).as_dict() | {"records_only_in_clusters": 2}
    )


def test_no_common_record() -> None:
    e = evaluate({"x": "1", "y": "1"}, {"z": "P"})
    assert (e.records_compared, e.records_only_in_clusters, e.records_only_in_truth) == (0, 2, 1)
    assert (e.predicted_pairs, e.true_pairs, e.predicted_clusters, e.true_persons) == (0, 0, 0, 0)
    assert (e.largest_cluster, e.largest_person) == (0, 0)
    assert _ratios(e) == (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert "WARNING: no record is in both files" in format_report(e)
    assert "WARNING" not in format_report(evaluate(TRUTH, TRUTH))


def test_cluster_and_person_ids_are_separate_namespaces() -> None:
    # Cluster "A" is not person "A": the same label on both sides means nothing by itself.
    e = evaluate({"1": "B", "2": "A", "3": "A", "4": "A", "5": "C"}, {"1": "A", "2": "A", "3": "A", "4": "B", "5": "C"})
    assert (e.true_positive_pairs, e.predicted_pairs, e.true_pairs) == (1, 3, 3)
    assert (e.exact_clusters, e.split_persons, e.merging_clusters) == (1, 1, 1)


# --- Properties ------------------------------------------------------------------------------------------

LABELS = st.sampled_from("abcdef")


@st.composite
def linkages(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    """A clusters and a truth mapping over up to 25 records, some of them in one file only."""
    count = draw(st.integers(0, 25))
    clusters: dict[str, str] = {}
    truth: dict[str, str] = {}
    for number in range(count):
        where = draw(st.sampled_from(["both", "both", "both", "both", "clusters", "truth"]))
        if where != "truth":
            clusters[f"r{number}"] = draw(LABELS)
        if where != "clusters":
            truth[f"r{number}"] = draw(LABELS)
    return clusters, truth


@settings(max_examples=300, deadline=None)
@given(linkages())
def test_swapping_the_files_swaps_precision_and_recall(data: tuple[dict[str, str], dict[str, str]]) -> None:
    clusters, truth = data
    e, swapped = evaluate(clusters, truth), evaluate(truth, clusters)
    assert (swapped.pair_precision, swapped.pair_recall) == (e.pair_recall, e.pair_precision)
    assert (swapped.cluster_precision, swapped.cluster_recall) == (e.cluster_recall, e.cluster_precision)
    assert (swapped.pair_f1, swapped.cluster_f1) == (e.pair_f1, e.cluster_f1)
    assert (swapped.predicted_pairs, swapped.true_pairs) == (e.true_pairs, e.predicted_pairs)
    assert (swapped.predicted_clusters, swapped.true_persons) == (e.true_persons, e.predicted_clusters)
    assert (swapped.split_persons, swapped.merging_clusters) == (e.merging_clusters, e.split_persons)
    assert (swapped.largest_cluster, swapped.largest_person) == (e.largest_person, e.largest_cluster)
    assert (swapped.records_only_in_clusters, swapped.records_only_in_truth) == (
        e.records_only_in_truth,
        e.records_only_in_clusters,
    )
    assert (swapped.true_positive_pairs, swapped.exact_clusters) == (e.true_positive_pairs, e.exact_clusters)


@settings(max_examples=200, deadline=None)
@given(linkages(), st.randoms(use_true_random=False))
def test_truth_relabelled_is_perfect(data: tuple[dict[str, str], dict[str, str]], rng: random.Random) -> None:
    _, truth = data
    persons = sorted(set(truth.values()))
    names = [f"cluster-{n}" for n in range(len(persons))]
    rng.shuffle(names)
    relabel = dict(zip(persons, names, strict=True))
    e = evaluate({record: relabel[person] for record, person in truth.items()}, truth)
    assert _ratios(e) == (1.0,) * 6
    assert e.predicted_pairs == e.true_pairs == e.true_positive_pairs
    assert e.exact_clusters == e.predicted_clusters == e.true_persons == len(persons)
    assert (e.split_persons, e.merging_clusters, e.records_only_in_clusters) == (0, 0, 0)


def _partition(mapping: dict[str, str], records: set[str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for record in records:
        groups[mapping[record]].add(record)
    return {frozenset(group) for group in groups.values()}


@settings(max_examples=300, deadline=None)
@given(linkages())
def test_figures_in_range_and_perfect_only_for_the_same_partition(data: tuple[dict[str, str], dict[str, str]]) -> None:
    clusters, truth = data
    e = evaluate(clusters, truth)
    assert all(0.0 <= ratio <= 1.0 for ratio in _ratios(e))
    assert e.true_positive_pairs <= min(e.predicted_pairs, e.true_pairs)
    assert e.exact_clusters <= min(e.predicted_clusters, e.true_persons)
    assert e.largest_cluster <= e.records_compared
    common = clusters.keys() & truth.keys()
    same = _partition(clusters, common) == _partition(truth, common)
    assert (e.pair_f1 == 1.0) == same
    assert (e.cluster_f1 == 1.0) == same


def _brute_force(clusters: dict[str, str], truth: dict[str, str]) -> dict[str, int]:
    common = sorted(clusters.keys() & truth.keys())
    predicted = true = both = 0
    for a, b in itertools.combinations(common, 2):
        same_cluster, same_person = clusters[a] == clusters[b], truth[a] == truth[b]
        predicted += same_cluster
        true += same_person
        both += same_cluster and same_person
    found, persons = _partition(clusters, set(common)), _partition(truth, set(common))
    return {
        "records_compared": len(common),
        "records_only_in_clusters": len(clusters.keys() - truth.keys()),
        "records_only_in_truth": len(truth.keys() - clusters.keys()),
        "predicted_pairs": predicted,
        "true_pairs": true,
        "true_positive_pairs": both,
        "predicted_clusters": len(found),
        "true_persons": len(persons),
        "exact_clusters": len(found & persons),
        "split_persons": sum(1 for p in persons if len({clusters[r] for r in p}) > 1),
        "merging_clusters": sum(1 for c in found if len({truth[r] for r in c}) > 1),
        "largest_cluster": max(map(len, found), default=0),
        "largest_person": max(map(len, persons), default=0),
    }


@settings(max_examples=400, deadline=None)
@given(linkages())
def test_contingency_counts_agree_with_enumerating_every_pair(data: tuple[dict[str, str], dict[str, str]]) -> None:
    clusters, truth = data
    e = evaluate(clusters, truth)
    expected = _brute_force(clusters, truth)
    assert {key: e.as_dict()[key] for key in expected} == expected
    assert e.pair_precision == (
        expected["true_positive_pairs"] / expected["predicted_pairs"] if expected["predicted_pairs"] else 1.0
    )
    assert e.pair_recall == (
        expected["true_positive_pairs"] / expected["true_pairs"] if expected["true_pairs"] else 1.0
    )


def test_contingency_counts_agree_on_larger_random_inputs() -> None:
    rng = random.Random(20240611)
    for _ in range(20):
        records = [f"r{n}" for n in range(rng.randrange(50, 300))]
        truth = {r: f"p{rng.randrange(40)}" for r in records if rng.random() < 0.95}
        clusters = {r: f"c{rng.randrange(60)}" for r in records if rng.random() < 0.95}
        e = evaluate(clusters, truth)
        expected = _brute_force(clusters, truth)
        assert {key: e.as_dict()[key] for key in expected} == expected


# --- Report and JSON -------------------------------------------------------------------------------------


def test_as_dict_is_json_and_holds_every_figure() -> None:
    e = evaluate(_clusters("12", "3", "45", "6"), TRUTH)
    data = json.loads(json.dumps(e.as_dict()))
    assert data["pair_recall"] == 0.5
    assert data["cluster_f1"] == pytest.approx(4 / 7)
    assert (data["true_positive_pairs"], data["false_negative_pairs"], data["split_persons"]) == (2, 2, 1)
    for name in Evaluation.__dataclass_fields__:
        assert data[name] == getattr(e, name)
    for name in ("pair_precision", "pair_f1", "cluster_precision", "cluster_recall", "false_positive_pairs"):
        assert data[name] == getattr(e, name)


def test_report_shows_every_figure_aligned() -> None:
    e = Evaluation(
        records_compared=4_999_000,
        records_only_in_clusters=1_000,
        records_only_in_truth=0,
        predicted_pairs=1_234_567,
        true_pairs=2_000_000,
        true_positive_pairs=1_000_000,
        predicted_clusters=2_500_000,
        true_persons=2_400_000,
        exact_clusters=1_200_000,
        split_persons=12_345,
        merging_clusters=6_789,
        largest_cluster=17,
        largest_person=9,
    )
    report = format_report(e)
    lines = report.splitlines()

    def row(label: str) -> str:
        [line] = [line for line in lines if line.lstrip().startswith(label)]
        return line.split()[-1]

    assert row("compared") == "4,999,000"
    assert row("only in the clusters file") == "1,000"
    assert row("only in the truth file") == "0"
    assert row("predicted (same cluster)") == "1,234,567"
    assert row("wrongly linked") == "234,567"
    assert row("missed") == "1,000,000"
    assert row("precision") == f"{1_000_000 / 1_234_567:.4f}" == "0.8100"
    assert row("recall") == "0.5000"
    assert row("F1") == f"{2 * 0.81 * 0.5 / 1.31:.4f}"
    assert row("cluster precision") == "0.4800"
    assert row("cluster recall") == "0.5000"
    assert row("cluster F1") == f"{2 * 0.48 * 0.5 / 0.98:.4f}"
    assert row("persons split") == "12,345"
    assert row("clusters merging") == "6,789"
    assert row("largest cluster") == "17"
    assert row("largest true person") == "9"
    figures = [line for line in lines if line.startswith("  ") and not line.startswith("  - ")]
    assert len(figures) == 21
    assert len({len(line) for line in figures}) == 1  # the values end in one column
    assert "excluded from every figure" in report
    assert "Precision is 1.0000 when nothing is predicted" in report


# --- Readers ---------------------------------------------------------------------------------------------


def _write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_read_clusters_bom_any_order_extra_columns_and_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "clusters.csv",
        "\ufeffscore, Cluster_ID ,RECORD_ID\r\n0.9,k1,r1\r\n\r\n0.8, k1 , r2 \r\n,,\r\n0.7,k2,r3\r\n",
    )
    clusters = read_clusters(path)
    assert clusters == {"r1": "k1", "r2": "k1", "r3": "k2"}
    assert clusters["r1"] is clusters["r2"]  # one string per distinct cluster id


def test_read_truth_reads_person_id_and_quoted_cells(tmp_path: Path) -> None:
    path = _write(tmp_path / "truth.csv", 'record_id,note,person_id\nr1,"two\nlines",P1\n"r,2",,P1\nr3,,Пётр\n')
    truth = read_truth(str(path))
    assert truth == {"r1": "P1", "r,2": "P1", "r3": "Пётр"}
    assert truth["r1"] is truth["r,2"]
    with pytest.raises(EvaluationInputError, match="missing column person_id"):
        read_truth(_write(tmp_path / "c.csv", "record_id,cluster_id\nr1,k\n"))


def test_files_evaluated_end_to_end(tmp_path: Path) -> None:
    clusters = _write(tmp_path / "c.csv", "record_id,cluster_id\n1,x\n2,x\n3,y\n4,z\n5,z\n6,z\n7,z\n")
    truth = _write(tmp_path / "t.csv", "person_id,record_id\nA,1\nA,2\nA,3\nB,4\nB,5\nC,6\n")
    e = evaluate(read_clusters(clusters), read_truth(truth))
    assert (e.records_compared, e.records_only_in_clusters) == (6, 1)
    assert (e.predicted_pairs, e.true_positive_pairs, e.true_pairs) == (4, 2, 4)


ERRORS = {
    # name: (file content, line, field, words the message must contain)
    "no cluster_id column": ("record_id,cluster\nr1,k\n", 1, "cluster_id", "missing column cluster_id"),
    "no record_id column": ("id,cluster_id\nr1,k\n", 1, "record_id", "missing column record_id"),
    "semicolons": ("record_id;cluster_id\nr1;k\n", 1, "record_id", "only comma-separated files are read"),
    "column twice": ("record_id,cluster_id,Record_ID\nr1,k,r1\n", 1, "record_id", "appears 2 times in the header"),
    "empty record_id": ("record_id,cluster_id\nr1,k\n\n,k\n", 4, "record_id", "empty record_id"),
    "empty record_id after a quoted line break": (
        'record_id,cluster_id,note\nr1,k,"a\nb"\n ,k,x\n',
        4,
        "record_id",
        "empty record_id",
    ),
    "empty cluster_id": ("record_id,cluster_id\r\nr1,k\r\nr2,  \r\n", 3, "cluster_id", "empty cluster_id"),
    "row too short": ("cluster_id,note,record_id\nk,x,r1\nk,x\n", 3, "record_id", "the row has only 2 cells"),
    "same record twice": (
        "record_id,cluster_id\nr1,k\nr2,k\nr3,j\nr2,j\n",
        5,
        "record_id",
        "'r2' appears twice (first on line 3)",
    ),
    "line break in an id": ('record_id,cluster_id\nr1,k\n"r2\nr3",k\n', 3, "record_id", "contains a line break"),
    "too many cells": ("record_id,cluster_id\nr1,k\nr2,k,extra\n", 3, None, "3 cells but the header has 2 columns"),
    "quote never closed": ('record_id,cluster_id\nr1,k\n"r2,k\nr3,k\n', 3, None, "a quote left open?"),
    "bad quoting": ('record_id,cluster_id\nr1,"k"x\n', 2, None, "not valid CSV"),
    "empty file": ("", 1, None, "the file is empty"),
    "empty header": ("\nr1,k\n", 1, None, "the first line is empty"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_input_errors_name_line_and_field(tmp_path: Path, case: str) -> None:
    content, line, field, words = ERRORS[case]
    path = _write(tmp_path / "clusters.csv", content)
    with pytest.raises(EvaluationInputError) as caught:
        read_clusters(path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.field) == (str(path), line, field)
    message = str(error)
    assert message.startswith(f"{path}, line {line}")
    assert words in message
    if field is not None:
        assert f", field {field}: " in message


BINARY = {
    # name: (bytes, line, field, words)
    "Latin-1 in a value": (b"record_id,cluster_id\nr1,k\n\nr2,caf\xe9\n", 4, "cluster_id", "not UTF-8 text (byte 0xE9"),
    "Latin-1 in an id": (b"note,record_id,cluster_id\n,r1,k\n,r\xe92,k\n", 3, "record_id", "not UTF-8"),
    "Latin-1 far into the file": (
        b"record_id,cluster_id\n" + b"".join(b"r%d,k\n" % n for n in range(20_000)) + b"\xff,k\n",
        20_002,
        "record_id",
        "byte 0xFF at byte 1 of the line",
    ),
    "Latin-1 in the header": (b"\xefrecord_id,cluster_id\n", 1, "header", "not UTF-8"),
    "UTF-16": ("record_id,cluster_id\nr1,k\n".encode("utf-16"), 1, None, "UTF-16 text; save it as UTF-8"),
    "NUL byte": (b"record_id,cluster_id\nr1,k\nr2\x00,k\n", 3, None, "binary content"),
    "XLSX workbook": (b"PK\x03\x04\x14\x00\x06\x00rest of the archive", 1, None, "zip archive"),
    "Parquet": (b"PAR1\x15\x04rest", 1, None, "a Parquet file, not CSV text"),
}


@pytest.mark.parametrize("case", list(BINARY))
def test_files_that_are_not_utf8_csv_text(tmp_path: Path, case: str) -> None:
    content, line, field, words = BINARY[case]
    path = _write(tmp_path / "truth.csv", content)
    with pytest.raises(EvaluationInputError) as caught:
        read_truth(path) if b"person_id" in content else read_clusters(path)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert str(caught.value).startswith(f"{path}, line {line}")
    assert words in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvaluationInputError, match=r"nowhere\.csv: cannot read the file") as caught:
        read_truth(tmp_path / "nowhere.csv")
    assert (caught.value.line, caught.value.field) == (None, None)
