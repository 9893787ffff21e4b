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
        ("settlement_id,toponym,lang,latitude,longitude\nx,Ad,az,91,40\n", "row 2", "latitude"),
        ('settlement_id,toponym,lang\nx,Ad,az\nx,"Ad ""2""",qq\n', "row 3", "lang"),
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


@pytest.mark.parametrize(
    ("member", "value", "field"),
    [("types", {"label": "town"}, "types"), ("names", "Zəngəzur", "names"), ("links", 5, "links"),
     ("homeward:population", {"year": 1989}, "homeward:population"), ("relations", "d1", "relations"),
     ("descriptions", {"value": "x"}, "descriptions")],
)  # fmt: skip
def test_malformed_members_are_problems_not_crashes(member: str, value: object, field: str) -> None:
    doc = _doc()
    _settlement(doc)[member] = value
    problems = read_lpf(json.dumps(doc)).problems
    assert [(p.field, p.reason) for p in problems] == [(field, "must be a list")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: _settlement(d)["names"][0].update({"toponym": "x" * 201}), "toponym"),
        (lambda d: _settlement(d).update({"@id": "y" * 121}), "id"),
        (lambda d: _settlement(d)["names"][0].update({"toponym": "a\u0000b"}), "toponym"),
        (lambda d: _settlement(d)["homeward:population"].append({"year": 1999, "total": 2**40, "source": "s"}),
         "total"),
        (lambda d: _settlement(d).update({"links": [{"type": "closeMatch", "identifier": "gn:1"},
                                                    {"type": "exactMatch", "identifier": "gn:1"}]}), "links"),
        (lambda d: _settlement(d)["geometry"].update({"type": "Polygon", "coordinates": [[[1, 2], "x"]]}), "geometry"),
    ],
)  # fmt: skip
def test_values_the_database_cannot_hold_are_refused(change, field: str) -> None:
    doc = _doc()
    change(doc)
    assert field in {p.field for p in read_lpf(json.dumps(doc)).problems}


def _names_of(*specs: tuple[str, dict]) -> list[dict]:
    return [
        {"toponym": t, "lang": "az-Latn", "homeward:kind": "official", "when": {"timespans": [w]}} for t, w in specs
    ]


@pytest.mark.parametrize(
    ("specs", "overlap"),
    [
        ((("A", {"end": {"in": "1938"}}), ("B", {"start": {"in": "1938"}})), False),
        ((("A", {"end": {"in": "1938"}}), ("B", {"start": {"in": "1935"}})), True),
        ((("A", {"end": {"latest": "1938"}}), ("B", {"start": {"earliest": "1935"}})), False),
        ((("A", {"start": {"latest": "1940"}, "end": {"earliest": "1935"}}),), False),
        ((("A", {"start": {"in": "1900"}, "end": {"in": "1950"}}), ("B", {"start": {"in": "1949"}})), True),
    ],
)
def test_only_certain_overlaps_are_refused(specs: tuple, overlap: bool) -> None:
    doc = _doc()
    _settlement(doc)["names"] = _names_of(*specs)
    problems = [p for p in read_lpf(json.dumps(doc)).problems if p.field in ("names", "end")]
    assert bool(problems) == overlap, problems


def test_csv_with_quotes_late_in_the_file_round_trips() -> None:
    places = copy.deepcopy(SMALL.places)
    for p in places:
        p.population, p.outline = [], None
    places[-1].names[0].toponym = 'Qara "Böyük" bulaq, yuxarı'
    places[-1].names[0].citations = [{"label": 'Register "A"; p. 3'}]
    again = read_csv("".join(write_csv(places)))
    assert again.problems == []
    assert again.places[-1].names[0].toponym == 'Qara "Böyük" bulaq, yuxarı'
    assert again.places[-1].names[0].citations == [{"label": 'Register "A"; p. 3'}]


def test_semicolon_csv_with_a_bom_and_a_trailing_empty_column() -> None:
    text = "\ufeffsettlement_id;toponym;lang;\nx;Ad;az-Latn;\n"
    gaz = read_csv(text)
    assert gaz.problems == []
    assert gaz.places[0].names[0].toponym == "Ad"
