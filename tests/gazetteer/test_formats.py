"""LPF and CSV: round trips, and every kind of bad input named by feature or row and field."""

from __future__ import annotations

import copy
import json

import pytest

from homeward.gazetteer.formats import read_any, read_csv, read_lpf, write_csv, write_lpf
from homeward.synth.gazetteer import generate

SMALL = generate(settlements=40, seed=3)


def _doc() -> dict:
    return json.loads(write_lpf(SMALL))


def test_synthetic_gazetteer_is_valid_and_round_trips_through_lpf() -> None:
    text = write_lpf(SMALL)
    again = read_lpf(text)
    assert again.problems == []
    assert again.places == SMALL.places
    assert again.units == SMALL.units
    assert write_lpf(again) == text


def test_csv_round_trip_keeps_names_spans_and_links() -> None:
    places = copy.deepcopy(SMALL.places)
    places[0].links = [("closeMatch", "gn:587084"), ("exactMatch", "wd:Q123")]
    for p in places:
        p.population = []
        p.outline = None
    text = "".join(write_csv(places))
    again = read_csv(text)
    assert again.problems == []
    assert [(p.gid, p.names, p.links) for p in again.places] == [(p.gid, p.names, p.links) for p in places]


def test_uncertain_bounds_survive_lpf() -> None:
    doc = _doc()
    feature = next(f for f in doc["features"] if "homeward:feature" not in f["properties"])
    when = {"timespans": [{"start": {"earliest": "1920", "latest": "1925-06"}, "end": {"in": "1991"}}]}
    feature["names"].append({"toponym": "Qədim ad", "lang": "az-Latn", "homeward:kind": "colloquial", "when": when})
    gaz = read_lpf(json.dumps(doc))
    assert gaz.problems == []
    again = json.loads(write_lpf(gaz))
    back = next(f for f in again["features"] if f["@id"] == feature["@id"])
    assert back["names"][-1]["when"] == when


def _settlement(doc: dict, n: int = 0) -> dict:
    return [f for f in doc["features"] if "homeward:feature" not in f["properties"]][n]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda d: _settlement(d, 1).update({"@id": _settlement(d, 0)["@id"]}), "id", "duplicate settlement id"),
        (lambda d: _settlement(d)["geometry"].update({"coordinates": [46.5, 95.0]}), "latitude", "outside -90..90"),
        (lambda d: _settlement(d)["geometry"].update({"coordinates": [200.0, 40.0]}), "longitude", "outside -180..180"),
        (lambda d: _settlement(d)["names"][0].update({"lang": "az-Latin"}), "lang", "not a language tag"),
        (lambda d: _settlement(d)["names"][0].update({"lang": "qq"}), "lang", "not a known language"),
        (lambda d: _settlement(d)["names"][0].update(
            {"when": {"timespans": [{"start": {"in": "1990"}, "end": {"in": "1950"}}]}}), "end", "before it starts"),
        (lambda d: _settlement(d)["names"][0].update(
            {"when": {"timespans": [{"start": {"in": "19xx"}}]}}), "when.start.in", "not a date"),
        (lambda d: _settlement(d)["names"].append(
            {"toponym": "Başqa ad", "lang": "az-Latn", "homeward:kind": "official"}), "names", "overlap in time"),
        (lambda d: _settlement(d)["homeward:population"].append(
            {"year": 1989, "total": 10, "community": 50, "source": "x"}), "community", "more than the total"),
        (lambda d: _settlement(d)["properties"].update({"homeward:status": "vanished"}), "status", "not one of"),
    ],
)  # fmt: skip
def test_bad_features_are_named_with_field_and_reason(change, field: str, reason: str) -> None:
    doc = _doc()
    change(doc)
    problems = read_lpf(json.dumps(doc)).problems
    assert problems, "the change should have been refused"
    assert any(p.field == field and reason in p.reason and p.where.startswith("feature ") for p in problems), problems


def test_renaming_in_the_same_year_is_not_an_overlap() -> None:
    doc = _doc()
    names = _settlement(doc)["names"]
    until = {"timespans": [{"end": {"in": "1938"}}]}
    since = {"timespans": [{"start": {"in": "1938"}}]}
    names[:] = [
        {"toponym": "Köhnə", "lang": "az-Latn", "homeward:kind": "official", "when": until},
        {"toponym": "Yeni", "lang": "az-Latn", "homeward:kind": "official", "when": since},
        {"toponym": "Köhnəcik", "lang": "az-Latn", "homeward:kind": "colloquial"},
        {"toponym": "Köhnəciyə", "lang": "az-Latn", "homeward:kind": "colloquial"},
    ]
    assert read_lpf(json.dumps(doc)).problems == []


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        ("settlement_id,toponym\nx,Ad\n", "header", "lang"),
        ("settlement_id,toponym,lang,colour\nx,Ad,az\n", "header", "colour"),
        ("settlement_id,toponym,lang,latitude,longitude\nx,Ad,az,91,40\n", "feature 1 (x)", "latitude"),
        ("settlement_id,toponym,lang,start\nx,Ad,az,1990-13\n", "row 2", "start"),
        ("settlement_id,toponym,lang,latitude,longitude\nx,Ad,az,40,46\nx,Ad2,ru,41,46\n", "row 3", "latitude"),
        ("settlement_id,toponym,lang\nx,Ad,az,extra\n", "row 2", "row"),
    ],
)
def test_bad_csv_rows_are_named(text: str, where: str, field: str) -> None:
    problems = read_csv(text).problems
    assert any(p.where == where and field in p.field for p in problems), problems


def test_format_is_detected_from_the_content() -> None:
    assert read_any(write_lpf(SMALL).encode())[0] == "lpf"
    assert read_any("".join(write_csv(SMALL.places[:2])).encode())[0] == "csv"
    _fmt, gaz = read_any(b"\xff\xfe\x00bad")
    assert gaz.problems[0].field == "encoding"
    assert read_any(b"{not json")[1].problems[0].field == "JSON"
