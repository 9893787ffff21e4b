"""Real-time matching of one record: the batch model's answers, from an index of the blocking keys."""

from __future__ import annotations

import random
from collections import defaultdict

import duckdb
import pyarrow as pa
import pytest

from homeward.linkage.engine import run
from homeward.linkage.engine.prepare import read_records
from homeward.linkage.engine.realtime import RealtimeMatcher, jaro_winkler
from tests.linkage.conftest import Community

# No database: run once, not again in the PostgreSQL pass.
pytestmark = pytest.mark.database_free


def test_jaro_winkler_is_duckdbs() -> None:
    rng = random.Random(5)
    letters = "abcdeghiklmnorsuvyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 9))) for _ in range(400)]
    words += ["mamad", "mammad", "hasan", "husayn", "gusayn", "aliev", "aliyev", "", "a", "martha", "marhta"]
    pairs = [(rng.choice(words), rng.choice(words)) for _ in range(3000)]
    con = duckdb.connect()
    expected = con.execute(
        "SELECT jaro_winkler_similarity(a, b) FROM (SELECT unnest(?) AS a, unnest(?) AS b)",
        [[a for a, _ in pairs], [b for _, b in pairs]],
    ).fetchall()
    for (a, b), (value,) in zip(pairs, expected, strict=True):
        assert jaro_winkler(a, b) == pytest.approx(value, abs=1e-12), (a, b)


@pytest.fixture(scope="module")
def batch(community_3k: Community) -> tuple[RealtimeMatcher, run.Scored, list[dict[str, str]]]:
    records = read_records(community_3k.records)
    model = run.bundled_model()
    scored = run.score_records(records, model=model, floor=0.01)
    # The batch scores the records without their exact copies; the index holds the same records.
    kept = run._without_copies(scored)
    ids = set(kept["unique_id"].to_pylist())
    rows = [row for row in records.to_pylist() if row["record_id"] in ids]
    matcher = RealtimeMatcher(pa.Table.from_pylist(rows, schema=records.schema), model)
    return matcher, scored, rows


def test_real_time_matches_are_the_batch_pairs_with_the_same_probabilities(
    batch: tuple[RealtimeMatcher, run.Scored, list[dict[str, str]]],
) -> None:
    matcher, scored, rows = batch
    pairs = scored.pairs
    probability = {
        (a, b): p
        for a, b, p in zip(
            pairs["record_id_l"].to_pylist(),
            pairs["record_id_r"].to_pylist(),
            pairs["match_probability"].to_pylist(),
            strict=True,
        )
    }
    partners: dict[str, set[str]] = defaultdict(set)
    for a, b in probability:
        partners[a].add(b)
        partners[b].add(a)
    sample = random.Random(3).sample(rows, 200)
    compared = 0
    for row in sample:
        found = {f.record_id: f.match_probability for f in matcher.match(row, threshold=0.01)}
        assert set(found) == partners.get(row["record_id"], set()), row["record_id"]
        for other, p in found.items():
            key = (row["record_id"], other) if row["record_id"] < other else (other, row["record_id"])
            assert p == pytest.approx(probability[key], abs=1e-9)
            compared += 1
    assert compared > 100


def test_a_new_record_in_another_script_finds_the_person(
    batch: tuple[RealtimeMatcher, run.Scored, list[dict[str, str]]],
) -> None:
    matcher, _, rows = batch
    latin = next(r for r in rows if r["source"] == "az-registry" and r["patronymic"] and len(r["birth_date"]) == 10)
    table = str.maketrans({"ə": "e", "Ə": "E", "ı": "i", "ş": "s", "Ş": "S", "ç": "c", "Ç": "C", "ğ": "g",
                           "ö": "o", "ü": "u", "Ü": "U", "Ö": "O", "İ": "I"})  # fmt: skip
    typed = {
        "record_id": "web-new", "source": "portal", "given_name": latin["given_name"].translate(table).lower(),
        "surname": latin["surname"].translate(table).upper(), "patronymic": latin["patronymic"].translate(table),
        "sex": latin["sex"], "birth_date": latin["birth_date"], "birth_place": latin["birth_place"],
    }  # fmt: skip
    found = matcher.match(typed)
    assert found, typed
    assert found[0].record_id == latin["record_id"]
    assert found[0].match_probability > 0.9
    assert {name for name, _level, _weight in found[0].evidence} >= {"given", "surname", "birth"}


def test_a_record_without_names_or_dates_matches_nothing(
    batch: tuple[RealtimeMatcher, run.Scored, list[dict[str, str]]],
) -> None:
    matcher, _, _ = batch
    assert matcher.match({"record_id": "x", "source": "portal", "sex": "F"}, threshold=0.01) == []


def test_records_added_after_the_build_are_found_as_if_they_had_been_in_it(
    batch: tuple[RealtimeMatcher, run.Scored, list[dict[str, str]]],
) -> None:
    full, _, rows = batch
    added = random.Random(7).sample(rows, 60)
    later = {r["record_id"] for r in added}
    schema = pa.Table.from_pylist(rows).schema
    part = RealtimeMatcher(pa.Table.from_pylist([r for r in rows if r["record_id"] not in later], schema=schema),
                           run.bundled_model())  # fmt: skip
    part.add(added)
    part.add(added)  # again: nothing is added twice
    assert len(part.ids) == len(rows) == len(set(part.ids))
    compared = 0
    for row in added:
        # The same partners as in an index built with them (term frequencies, counted at the build, differ a
        # little: a pair near the threshold may fall either side).
        want = {f.record_id: f.match_probability for f in full.match(row, threshold=0.3)}
        got = {f.record_id: f.match_probability for f in part.match(row, threshold=0.3)}
        sure = {k for k, p in want.items() if p > 0.4}
        assert sure <= set(got), row["record_id"]
        assert {k for k, p in got.items() if p > 0.4} <= set(want), row["record_id"]
        compared += len(sure)
    assert compared > 20
