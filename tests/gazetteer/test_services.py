"""Importing, exporting, searching and editing the gazetteer through its services, on a real database."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from homeward.audit.models import AuditEvent
from homeward.core.errors import ValidationError
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.formats import NameRec, read_lpf, write_lpf
from homeward.gazetteer.models import AdminUnit, PlaceName, Settlement
from homeward.gazetteer.selectors import export_gazetteer, latest_assessment, settlement_search
from homeward.gazetteer.services import (
    gazetteer_import,
    place_name_add,
    population_record,
    security_assess,
    settlement_update,
)
from homeward.synth.gazetteer import generate
from tests.conftest import SETUP

SMALL = generate(settlements=60, seed=11)
RAW = write_lpf(SMALL).encode()

ZANGEZUR = {
    "type": "FeatureCollection",
    "features": [
        {
            "@id": "test:zangezur",
            "type": "Feature",
            "properties": {"title": "Zəngəzur"},
            "types": [{"label": "town"}],
            "geometry": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Point", "coordinates": [46.4, 39.3]},
                    {
                        "type": "Polygon",
                        "coordinates": [[[46.38, 39.28], [46.42, 39.28], [46.42, 39.32], [46.38, 39.28]]],
                    },
                ],
            },
            "names": [
                {"toponym": "Zəngəzur", "lang": "az-Latn"},
                {"toponym": "Зангезур", "lang": "ru-Cyrl"},
                {"toponym": "Զանգեզուր", "lang": "hy-Armn"},
            ],
            "links": [{"type": "closeMatch", "identifier": "wd:Q0000001"}],
        },
        {
            "@id": "test:other",
            "type": "Feature",
            "properties": {"title": "Qarabulaq"},
            "geometry": None,
            "names": [{"toponym": "Qarabulaq", "lang": "az-Latn"}, {"toponym": "Карабулак", "lang": "ru-Cyrl"}],
        },
    ],
}


@pytest.fixture
def imported(db: None) -> Any:
    return gazetteer_import(actor=SETUP, raw=RAW, filename="small.json")


def test_import_writes_everything_and_records_the_event(imported: Any) -> None:
    assert imported.settlements_created == 60
    assert imported.names == sum(len(p.names) for p in SMALL.places)
    assert Settlement.objects.count() == 60
    assert AdminUnit.objects.filter(parent__code="hw:unit:old").count() == 6
    event = AuditEvent.objects.get(action="gazetteer.imported")
    assert event.data["settlements_created"] == 60
    assert event.data["sha256"] == imported.sha256


def test_reimport_updates_and_adds_nothing(imported: Any) -> None:
    again = gazetteer_import(actor=SETUP, raw=RAW)
    assert (again.settlements_created, again.settlements_updated) == (0, 60)
    assert PlaceName.objects.count() == imported.names


def test_round_trip_lpf_through_the_database_keeps_every_name_span_and_link(db: None) -> None:
    gaz = read_lpf(json.dumps(ZANGEZUR))
    gazetteer_import(actor=SETUP, raw=RAW)
    gazetteer_import(actor=SETUP, raw=json.dumps(ZANGEZUR).encode())
    exported = export_gazetteer()
    by_id = {p.gid: p for p in exported.places}
    for place in [*SMALL.places, *gaz.places]:
        back = by_id[place.gid]
        assert back.names == place.names
        assert back.links == place.links
        assert back.population == place.population
        assert back.outline == place.outline
        assert (back.latitude, back.longitude) == (place.latitude, place.longitude)
    assert write_lpf(read_lpf(write_lpf(exported))) == write_lpf(exported)


def test_invalid_file_imports_nothing(imported: Any) -> None:
    doc = json.loads(RAW)
    doc["features"][-1]["geometry"]["coordinates"] = [46.0, 123.0]
    doc["features"][-2]["names"][0]["lang"] = "zz-Qqqq"
    before = (Settlement.objects.count(), PlaceName.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError, match="nothing was imported: 2 problem") as caught:
        gazetteer_import(actor=SETUP, raw=json.dumps(doc).encode())
    fields = {p[1] for p in caught.value.problems}
    assert fields == {"latitude", "lang"}
    assert (Settlement.objects.count(), PlaceName.objects.count(), AuditEvent.objects.count()) == before


def test_unknown_administrative_unit_is_named(db: None) -> None:
    doc = json.loads(json.dumps(ZANGEZUR))
    doc["features"][0]["relations"] = [{"relationType": "gvp:broaderPartitive", "relationTo": "nowhere"}]
    with pytest.raises(ValidationError) as caught:
        gazetteer_import(actor=SETUP, raw=json.dumps(doc).encode())
    assert caught.value.problems == [
        ("feature 1 (test:zangezur)", "admin_unit", "unknown administrative unit 'nowhere'")
    ]


@pytest.mark.parametrize("query", ["Zangazur", "Зангезур", "Zəngəzur", "zangezur", "ZANGEZUR", "Զանգեզուր", "Zang"])
def test_search_finds_the_place_in_any_script(db: None, query: str) -> None:
    gazetteer_import(actor=SETUP, raw=json.dumps(ZANGEZUR).encode())
    hits = settlement_search(query)
    assert hits
    assert hits[0].title == "Zəngəzur"


def test_search_finds_soviet_era_names_and_ranks_exact_first(imported: Any) -> None:
    renamed = next(p for p in SMALL.places if any(n.lang == "ru-Cyrl" and n.end_earliest for n in p.names)
                   and len({n.toponym for n in p.names if n.lang == "az-Latn"}) > 1)  # fmt: skip
    soviet_ru = next(n.toponym for n in renamed.names if n.lang == "ru-Cyrl")
    hits = settlement_search(soviet_ru)
    assert renamed.title in [h.title for h in hits]
    assert hits[0].rank == 0


def test_edits_are_validated_and_audited(imported: Any) -> None:
    settlement = Settlement.objects.order_by("gid").first()
    assert settlement is not None
    settlement_update(actor=SETUP, settlement_id=settlement.pk, changes={"status": "destroyed"})
    with pytest.raises(ValidationError, match="latitude"):
        settlement_update(actor=SETUP, settlement_id=settlement.pk, changes={"latitude": 120})
    official = NameRec("İkinci ad", "az-Latn", "official")
    with pytest.raises(ValidationError, match="overlap in time"):
        place_name_add(actor=SETUP, settlement_id=settlement.pk, name=official)
    with pytest.raises(ValidationError, match="not a known language"):
        place_name_add(actor=SETUP, settlement_id=settlement.pk, name=NameRec("Ad", "qq", "colloquial"))
    place_name_add(
        actor=SETUP,
        settlement_id=settlement.pk,
        name=NameRec("Qədim ad", "az-Latn", "historical", end_earliest=PartialDate(1900), end_latest=PartialDate(1900)),
    )
    population_record(actor=SETUP, settlement_id=settlement.pk, year=2025, total=10, community=8, source="field count")
    with pytest.raises(ValidationError, match="already recorded"):
        population_record(
            actor=SETUP, settlement_id=settlement.pk, year=2025, total=12, community=8, source="field count"
        )
    with pytest.raises(ValidationError, match="more than the total"):
        population_record(actor=SETUP, settlement_id=settlement.pk, year=2026, total=5, community=8, source="x")
    actions = list(AuditEvent.objects.filter(target_id=str(settlement.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["gazetteer.name.added", "gazetteer.population.recorded", "gazetteer.settlement.changed"]


def test_the_security_gate_is_the_newest_assessment_of_the_place_or_its_unit(imported: Any) -> None:
    settlement = Settlement.objects.select_related("admin_unit").order_by("gid").first()
    assert settlement is not None
    assert settlement.admin_unit is not None
    assert latest_assessment(settlement) is None
    security_assess(actor=SETUP, admin_unit_id=settlement.admin_unit.pk, level="unsafe", assessed_on=date(2025, 1, 1),
                    source="mission A")  # fmt: skip
    assert latest_assessment(settlement).level == "unsafe"
    security_assess(actor=SETUP, admin_unit_id=settlement.admin_unit.pk, level="safe", assessed_on=date(2026, 5, 1),
                    source="mission B")  # fmt: skip
    assert latest_assessment(settlement).level == "safe"
    security_assess(actor=SETUP, settlement_id=settlement.pk, level="conditional", assessed_on=date(2026, 6, 1),
                    source="field visit")  # fmt: skip
    gate = latest_assessment(settlement)
    assert (gate.level, gate.settlement_id) == ("conditional", settlement.pk)
    with pytest.raises(ValidationError):
        security_assess(
            actor=SETUP, level="fine", assessed_on=date(2026, 1, 1), source="x", settlement_id=settlement.pk
        )
    assert AuditEvent.objects.filter(action="gazetteer.security.assessed").count() == 3


def test_cli_imports_and_exports_both_formats(db: None, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(RAW)
    call_command("gazetteer", "import", str(source))
    assert "60 new" in capsys.readouterr().out
    call_command("gazetteer", "export", "--format", "lpf", "--out", str(tmp_path / "out.json"))
    call_command("gazetteer", "export", "--format", "csv", "--out", str(tmp_path / "out.csv"))
    assert read_lpf((tmp_path / "out.json").read_text()).places == read_lpf(RAW.decode()).places
    assert (tmp_path / "out.csv").read_text().count("\n") == 1 + PlaceName.objects.count()
    bad = tmp_path / "bad.csv"
    bad.write_text("settlement_id,toponym,lang\nx,Ad,zz-Latn\n")
    with pytest.raises(CommandError, match="nothing was imported: 1 problem"):
        call_command("gazetteer", "import", str(bad))
    err = capsys.readouterr().err
    assert "row 2, lang: 'zz-Latn': 'zz' is not a known language code" in err


def test_csv_import_changes_only_what_the_file_carries(imported: Any) -> None:
    settlement = Settlement.objects.filter(population__isnull=False).order_by("gid").first()
    before = (
        settlement.latitude,
        settlement.status,
        settlement.population.count(),
        settlement.historical_admin_unit_id,
    )
    csv = f"settlement_id,toponym,lang\n{settlement.gid},Yeni ad,az-Latn\n".encode()
    result = gazetteer_import(actor=SETUP, raw=csv)
    assert result.settlements_updated == 1
    settlement.refresh_from_db()
    after = (settlement.latitude, settlement.status, settlement.population.count(), settlement.historical_admin_unit_id)
    assert after == before
    assert list(settlement.names.values_list("toponym", flat=True)) == ["Yeni ad"]
    event = AuditEvent.objects.filter(action="gazetteer.imported").latest("seq")
    assert event.data["names_replaced"] == len(next(p for p in SMALL.places if p.gid == settlement.gid).names)


def test_merged_into_follows_the_file(db: None) -> None:
    doc = json.loads(json.dumps(ZANGEZUR))
    doc["features"][1]["relations"] = [
        {"relationType": "gvp:broaderPartitive", "relationTo": "test:zangezur", "homeward:role": "merged_into"}
    ]
    gazetteer_import(actor=SETUP, raw=json.dumps(doc).encode())
    assert Settlement.objects.get(gid="test:other").merged_into.gid == "test:zangezur"
    gazetteer_import(actor=SETUP, raw=json.dumps(ZANGEZUR).encode())
    assert Settlement.objects.get(gid="test:other").merged_into is None


def test_cyrillic_query_finds_a_place_recorded_only_in_latin(db: None) -> None:
    doc = json.loads(json.dumps(ZANGEZUR))
    doc["features"][0]["names"] = [{"toponym": "Zəngəzur", "lang": "az-Latn"}]
    gazetteer_import(actor=SETUP, raw=json.dumps(doc).encode())
    for query in ("Зангезур", "Зангез", "Zangezur", "Զանգեզուր"):
        assert [h.title for h in settlement_search(query)] == ["Zəngəzur"], query


def test_a_word_inside_a_name_is_found(db: None) -> None:
    doc = json.loads(json.dumps(ZANGEZUR))
    doc["features"][1]["names"] = [{"toponym": "Aşağı Qarabulaq", "lang": "az-Latn"}]
    gazetteer_import(actor=SETUP, raw=json.dumps(doc).encode())
    assert "Qarabulaq" in [h.title for h in settlement_search("Qarabulaq")]
    assert "Qarabulaq" in [h.title for h in settlement_search("Карабулак")]


def test_a_newer_unit_assessment_overrides_an_older_own_one(imported: Any) -> None:
    settlement = Settlement.objects.select_related("admin_unit").order_by("gid").first()
    security_assess(actor=SETUP, settlement_id=settlement.pk, level="safe", assessed_on=date(2024, 1, 1), source="a")
    security_assess(actor=SETUP, admin_unit_id=settlement.admin_unit_id, level="unsafe", assessed_on=date(2026, 1, 1),
                    source="b")  # fmt: skip
    assert latest_assessment(settlement).level == "unsafe"


def test_cli_records_a_unit_assessment(imported: Any, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("gazetteer", "assess", "--unit", "hw:unit:c1", "--level", "safe", "--date", "2026-10-01",
                 "--source", "joint mission")  # fmt: skip
    settlement = Settlement.objects.filter(admin_unit__code="hw:unit:c1").first()
    assert latest_assessment(settlement).source == "joint mission"
    with pytest.raises(CommandError, match="no settlement or unit 'nowhere'"):
        call_command("gazetteer", "assess", "--unit", "nowhere", "--level", "safe", "--date", "2026-10-01",
                     "--source", "x")  # fmt: skip
