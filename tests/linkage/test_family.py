"""Family context as linkage evidence (engine/family.py): records whose spouses, parents or same-named children
are one person. No database."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from homeward.linkage.engine.cluster import cluster_pairs
from homeward.linkage.engine.evaluate import evaluate, read_truth
from homeward.linkage.engine.family import _merged, candidates, share_of_matches
from homeward.linkage.engine.prepare import prepare, read_records, records_table
from homeward.linkage.engine.run import link_records
from tests.linkage.conftest import Community

pytestmark = pytest.mark.database_free


def _record(record_id: str, source: str, given: str, surname: str, **more: str) -> dict[str, str]:
    return {"record_id": record_id, "source": source, "given_name": given, "surname": surname, **more}


def _clusters(pairs: dict[str, str]) -> pa.Table:
    return pa.table({"record_id": list(pairs), "cluster_id": list(pairs.values())})


def _found(table: pa.Table) -> set[tuple[str, str, str, bool]]:
    return set(zip(*(table[c].to_pylist() for c in ("record_id_l", "record_id_r", "relation", "apart")), strict=True))


def test_pairs_through_spouses_parents_and_same_named_children_of_one_person() -> None:
    records = records_table(
        [
            _record("a1", "A", "Aygün", "Hüseynova", spouse_record_id="a2"),
            _record("a2", "A", "Elçin", "Hüseynov", spouse_record_id="a1"),
            _record("a3", "A", "Orxan", "Hüseynov", father_record_id="a2", mother_record_id="a1"),
            _record("a4", "A", "Leyla", "Hüseynova", father_record_id="a2"),
            _record("b1", "B", "Aygun", "Mammadova", spouse_record_id="b2"),
            _record("b2", "B", "Elchin", "Guseynov", spouse_record_id="b1"),
            _record("b3", "B", "Orkhan", "Guseynov", father_record_id="b2", mother_record_id="b1"),
            _record("b4", "B", "Ali", "Guseynov", father_record_id="b2"),
            # A link to another source's record, or to no record, is not a family link.
            _record("c1", "C", "Aygün", "Hüseynova", spouse_record_id="a2"),
            _record("c2", "C", "Aygün", "Hüseynova", spouse_record_id="nobody"),
        ]
    )
    # The husbands are one person, and so are the sons; the wives (so no two children of one mother), the
    # daughter and Ali are apart.
    clusters = _clusters(
        {"a1": "a1", "a2": "x", "a3": "y", "a4": "a4", "b1": "b1", "b2": "x", "b3": "y", "b4": "b4", "c1": "c1",
         "c2": "c2"}
    )  # fmt: skip
    keys = ["aygun", "elcin", "orxan", "leyla", "aygun", "elcin", "orxan", "ali", "aygun", "aygun"]
    given = pa.table({"record_id": [f"{s}{n}" for s in "ab" for n in range(1, 5)] + ["c1", "c2"], "key": keys})
    found = _found(candidates(records, clusters, given))
    assert found == {
        ("a1", "b1", "spouses of one person", True),
        ("a1", "b1", "mothers of one person", True),
        ("a2", "b2", "fathers of one person", False),
        ("a3", "b3", "children of one father", False),
    }
    # Leyla and Ali are children of one father too, but with different given names: siblings, never a pair.
    # Without the given names, children of one person are not used at all.
    assert {f[2] for f in _found(candidates(records, clusters))} == {
        "spouses of one person", "mothers of one person", "fathers of one person",
    }  # fmt: skip
    # A crowded relative (more records than a person has) gives no pairs.
    crowded = records_table([_record(f"r{i}", "A", "Ali", "Aliyev", spouse_record_id="w") for i in range(20)]
                            + [_record("w", "A", "Gülnarə", "Əliyeva")])  # fmt: skip
    assert candidates(crowded, _clusters({**{f"r{i}": f"r{i}" for i in range(20)}, "w": "w"})).num_rows == 0


def test_a_record_naming_itself_names_no_relative() -> None:
    records = records_table(
        [
            _record("a1", "A", "Aygün", "Hüseynova", spouse_record_id="a1"),
            _record("b1", "B", "Aygün", "Hüseynova", spouse_record_id="b2"),
            _record("b2", "B", "Elçin", "Hüseynov", spouse_record_id="b1"),
        ]
    )
    # a1 and b1 are one person; a1 calling herself her spouse must not make b1's husband her namesake.
    assert candidates(records, _clusters({"a1": "x", "b1": "x", "b2": "b2"})).num_rows == 0


def test_a_family_pair_replaces_the_same_pair_scored_in_the_other_order() -> None:
    pairs = pa.table({"record_id_l": ["b", "c"], "record_id_r": ["a", "d"], "match_probability": [0.3, 0.6],
                      "match_weight": [-1.2, 0.6]})  # fmt: skip
    family = pa.table({"record_id_l": ["a", "a"], "record_id_r": ["b", "b"], "match_probability": [0.97, 0.9],
                       "match_weight": [5.0, 3.2]})  # fmt: skip
    merged = sorted(_merged(pairs, family).to_pylist(), key=lambda row: row["record_id_l"])
    assert merged == [
        {"record_id_l": "a", "record_id_r": "b", "match_probability": 0.97, "match_weight": 5.0},
        {"record_id_l": "c", "record_id_r": "d", "match_probability": 0.6, "match_weight": 0.6},
    ]


def test_clustering_ignores_unknown_ids_and_the_order_of_the_input() -> None:
    ids = ["r1", "r2", "r3", "r4"]
    # r2 matches r1 and r3 equally, and r1 and r3 are of one register: the tie goes to the smaller id.
    left, right, probability = ["r2", "r3", "r9"], ["r1", "r2", "r4"], [0.9, 0.9, 0.99]
    outcomes = set()
    for order in ([0, 1, 2, 3], [3, 2, 1, 0]):
        clusters, refused = cluster_pairs(
            pa.array([ids[i] for i in order]), pa.array(["A", "B", "A", "C"]).take(pa.array(order)),
            pa.array(left), pa.array(right), pa.array(probability), threshold=0.5, duplicate_free=["A"],
        )  # fmt: skip
        found = zip(clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True)
        outcomes.add(tuple(sorted(found)))
        assert refused == 1
    assert outcomes == {(("r1", "r1"), ("r2", "r1"), ("r3", "r3"), ("r4", "r4"))}


def test_the_share_of_matches_is_learned_from_the_block() -> None:
    weights = np.array([12.0] * 80 + [-15.0] * 20)
    assert share_of_matches(weights) == pytest.approx(0.8, abs=0.01)
    assert share_of_matches(np.array([-20.0] * 50)) == pytest.approx(0.01)
    assert share_of_matches(np.array([])) == pytest.approx(0.01)


def _family(**wife_b: str) -> list[dict[str, str]]:
    husband = {"patronymic": "Rauf", "sex": "M", "birth_date": "1950-03-02", "origin_settlement": "Qarabulaq",
               "birth_place": "Qarabulaq"}  # fmt: skip
    wife = {"sex": "F", "origin_settlement": "Qarabulaq"}
    return [
        _record("a-h", "A", "Elçin", "Hüseynov", spouse_record_id="a-w", **husband),
        _record("a-w", "A", "Aygün", "Hüseynova", spouse_record_id="a-h", **wife),
        _record("b-h", "B", "Elçin", "Hüseynov", spouse_record_id="b-w", **husband),
        _record("b-w", "B", "Aygün", "Məmmədova", spouse_record_id="b-h", **{**wife, **wife_b}),
    ]


def _together(rows: list[dict[str, str]], a: str, b: str, *, family: bool) -> bool:
    result = link_records(records_table(rows), threshold=0.5, duplicate_free="all", family=family)
    cluster = dict(
        zip(result.clusters["record_id"].to_pylist(), result.clusters["cluster_id"].to_pylist(), strict=True)
    )
    return cluster[a] == cluster[b]


def _weighed(rows: list[dict[str, str]]) -> set[tuple[str, str, str, bool]]:
    """The pairs the family gives once the fields alone have been clustered: they were weighed."""
    records = records_table(rows)
    result = link_records(records, threshold=0.5, duplicate_free="all", family=False)
    prepared = prepare(records).table
    given = pa.table({"record_id": prepared["unique_id"], "key": prepared["given_key"]})
    return _found(candidates(records, result.clusters, given))


def test_a_wife_under_her_birth_surname_is_found_through_her_husband() -> None:
    rows = _family()
    # Her two records share a given name, a sex and a place: too little on their own.
    assert not _together(rows, "a-w", "b-w", family=False)
    assert _together(rows, "a-h", "b-h", family=False)
    assert _together(rows, "a-w", "b-w", family=True)
    notices = link_records(records_table(rows), threshold=0.5, duplicate_free="all").notices
    assert any("through their families" in n for n in notices), notices


def test_a_spouse_with_another_given_name_is_another_person() -> None:
    # A man's second wife: married to one person, but another woman.
    rows = _family(given_name="Səbinə", birth_date="1962")
    assert ("a-w", "b-w", "spouses of one person", True) in _weighed(rows)
    assert not _together(rows, "a-w", "b-w", family=True)


def test_same_named_children_of_one_father_born_years_apart_stay_apart() -> None:
    # Siblings share a surname, a father's name and places; a son named after a brother who died is another
    # person: only the given name, the birth date, the sex and documents are weighed between them.
    father = {"patronymic": "Rauf", "sex": "M", "birth_date": "1950-03-02", "origin_settlement": "Qarabulaq"}
    son = {"patronymic": "Elçin", "sex": "M", "origin_settlement": "Qarabulaq", "birth_place": "Qarabulaq"}
    rows = [
        _record("a-f", "A", "Elçin", "Hüseynov", **father),
        _record("b-f", "B", "Elçin", "Hüseynov", **father),
        _record("a-s", "A", "Orxan", "Hüseynov", father_record_id="a-f", birth_date="1975-06-01", **son),
        _record("b-s", "B", "Orxan", "Hüseynov", father_record_id="b-f", birth_date="1985-01-20", **son),
    ]
    assert _together(rows, "a-f", "b-f", family=True)
    assert ("a-s", "b-s", "children of one father", True) in _weighed(rows)
    assert not _together(rows, "a-s", "b-s", family=True)


def test_family_links_raise_recall_on_the_synthetic_community(community_10k: Community) -> None:
    records = read_records(community_10k.records)
    truth = read_truth(community_10k.truth)
    figures = {}
    for family in (False, True):
        result = link_records(records, threshold=0.5, duplicate_free="all", family=family)
        clusters = dict(
            zip(result.clusters["record_id"].to_pylist(), result.clusters["cluster_id"].to_pylist(), strict=True)
        )
        figures[family] = evaluate(clusters, truth)
    without, with_family = figures[False], figures[True]
    assert with_family.pair_recall > without.pair_recall + 0.01, (without.as_dict(), with_family.as_dict())
    assert with_family.pair_f1 > without.pair_f1, (without.as_dict(), with_family.as_dict())
    assert with_family.pair_precision >= without.pair_precision - 0.01, (without.as_dict(), with_family.as_dict())
