"""Importing person records: counts, identities, households, family links, versions, held rows, formats,
re-imports that add nothing, held rows tried again, and a file that fails half-way.

The import service commits chunk by chunk, so these tests run on a database that really commits
(``transactional_db``).
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection

from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.names import fold, skeleton
from homeward.core.partialdate import PartialDate
from homeward.registry.engine.family import find_cycles
from homeward.registry.models import (
    Displacement,
    Household,
    HouseholdMember,
    ImportBatch,
    ImportProblem,
    Kinship,
    Person,
    Source,
    SourceRecord,
)
from homeward.registry.selectors import person_search, person_sensitive, problem_report_rows
from homeward.registry.services import imports
from homeward.registry.services.imports import registry_import, registry_retry_held
from homeward.registry.services.persons import event_save
from homeward.synth.community import RECORD_FIELDS, generate_community, origins_from_gazetteer
from tests.conftest import SETUP
from tests.registry.conftest import (
    ORIGIN_GID,
    ORIGIN_NAME,
    ORIGIN_NAME_GID,
    SMALL_GAZETTEER,
    table_counts,
    table_rows,
    write_csv,
)

pytestmark = pytest.mark.usefixtures("transactional_db", "gazetteer", "waves")

SOURCE = "az-registry"
HEADER = [
    "record_id", "source", "given_name", "surname", "patronymic", "sex", "birth_date", "origin_settlement",
    "current_country", "household_id", "relation_to_head", "father_record_id", "mother_record_id",
    "spouse_record_id", "displacement_date", "displacement_event", "phone",
]  # fmt: skip
PHONE = "+994 50 123 45 67"
# A displaced couple (wave-1), their two children and a grandson: two households.
FAMILY = [
    ["R1", SOURCE, "Əli", "Məmmədov", "Həsən oğlu", "M", "1920-03-04", ORIGIN_NAME, "AZ", "H1", "head", "", "", "R2",
     "1950", "wave-1", ""],
    ["R2", SOURCE, "Gülnarə", "Məmmədova", "", "F", "1925", ORIGIN_GID, "AZ", "H1", "spouse", "", "", "R1",
     "1950-05", "wave-1", ""],
    ["R3", SOURCE, "Rauf", "Məmmədov", "Əli oğlu", "M", "1952-06-01", "", "AZ", "H1", "child", "R1", "R2", "",
     "", "", ""],
    ["R4", SOURCE, "Leyla", "Məmmədova", "Əli qızı", "F", "1955", "", "AZ", "H1", "child", "R1", "R2", "", "", "",
     PHONE],
    ["R5", SOURCE, "Elçin", "Məmmədov", "Rauf oğlu", "m", "1980", "", "ru", "H2", "head", "R3", "", "", "", "", ""],
]  # fmt: skip


def _import(path: Path, source: str = SOURCE, **kwargs: Any) -> imports.ImportOutcome:
    return registry_import(actor=SETUP, source_code=source, path=path, **kwargs)


def _family_csv(tmp_path: Path, name: str = "family.csv", rows: list[list[str]] | None = None) -> Path:
    return write_csv(tmp_path / name, HEADER, FAMILY if rows is None else rows)


def _person(external_id: str, source: str = SOURCE) -> Person:
    record = SourceRecord.objects.get(source__code=source, external_id=external_id, superseded=False)
    assert record.person is not None
    return record.person


def _stored(model: Any, column: str, pk: int) -> str:
    """A column's value as the database holds it (encrypted fields are not decrypted)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def _report(batch_id: int) -> list[dict[str, str]]:
    rows = list(problem_report_rows(ImportBatch.objects.get(pk=batch_id)))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _parent_pairs() -> set[tuple[str, str]]:
    """Parent links as (parent's record id, child's record id)."""
    first = dict(SourceRecord.objects.values_list("person_id", "external_id").order_by("-id"))
    return {(first[p], first[c]) for p, c in Kinship.objects.filter(kind="parent").values_list("parent_id", "child_id")}


# --- one family ------------------------------------------------------------------------------------------


def test_a_family_becomes_persons_households_links_and_displacements(tmp_path: Path) -> None:
    outcome = _import(_family_csv(tmp_path))

    assert (outcome.state, outcome.rows, outcome.created, outcome.updated, outcome.unchanged) == ("done", 5, 5, 0, 0)
    assert (outcome.held, outcome.links, outcome.warnings) == (0, 6, 0)
    assert outcome.notices == [f"source {SOURCE!r} was not known and has been created"]
    assert Source.objects.filter(code=SOURCE).exists()
    # One person per record, made from it, with the search keys of the names.
    assert Person.objects.count() == SourceRecord.objects.count() == 5
    for record in SourceRecord.objects.select_related("person"):
        person = record.person
        assert person is not None
        assert person.first_record_id == record.pk
        assert (person.given_name, person.surname) == (record.given_name, record.surname)
        assert person.given_folded == fold(record.given_name)
        assert person.surname_folded == fold(record.surname)
        assert person.surname_skeleton == skeleton(record.surname)
    ali = _person("R1")
    assert ali.birth_date == PartialDate(1920, 3, 4)
    assert ali.origin_settlement is not None
    assert ali.origin_settlement.gid == ORIGIN_NAME_GID
    assert _person("R2").origin_settlement.gid == ORIGIN_GID  # type: ignore[union-attr]
    # Codes are normalised; the row as received is kept when it says something else.
    elcin = SourceRecord.objects.get(external_id="R5")
    assert (elcin.sex, elcin.current_country) == ("M", "RU")
    assert elcin.raw is not None
    assert "m" in elcin.raw
    assert SourceRecord.objects.get(external_id="R3").raw is None
    # The phone number is kept encrypted, on the person too, and not in the raw row.
    leyla = SourceRecord.objects.get(external_id="R4")
    assert leyla.raw is not None
    assert PHONE not in json.dumps(leyla.raw, ensure_ascii=False)
    assert json.loads(leyla.sensitive) == {"phone": PHONE}
    assert PHONE not in _stored(SourceRecord, "sensitive", leyla.pk)
    assert person_sensitive(_person("R4")) == {"phone": PHONE}
    assert PHONE not in _stored(Person, "sensitive", _person("R4").pk)

    households = {h.external_id: h for h in Household.objects.select_related("head")}
    assert set(households) == {"H1", "H2"}
    assert households["H1"].head == ali
    assert households["H2"].head == _person("R5")
    members = {
        (m.household.external_id, m.person.first_record.external_id, m.relation)  # type: ignore[union-attr]
        for m in HouseholdMember.objects.select_related("household", "person__first_record")
    }
    assert members == {
        ("H1", "R1", "head"),
        ("H1", "R2", "spouse"),
        ("H1", "R3", "child"),
        ("H1", "R4", "child"),
        ("H2", "R5", "head"),
    }

    assert _parent_pairs() == {("R1", "R3"), ("R2", "R3"), ("R1", "R4"), ("R2", "R4"), ("R3", "R5")}
    spouses = list(Kinship.objects.filter(kind="spouse").values_list("parent_id", "child_id"))
    assert spouses == [tuple(sorted((ali.pk, _person("R2").pk)))]

    displaced = {
        d.person.first_record.external_id: d  # type: ignore[union-attr]
        for d in Displacement.objects.select_related("person__first_record", "settlement", "event")
    }
    assert set(displaced) == {"R1", "R2"}
    assert displaced["R1"].event.code == "wave-1"  # type: ignore[union-attr]
    assert displaced["R1"].settlement.gid == ORIGIN_NAME_GID  # type: ignore[union-attr]
    assert displaced["R2"].date_from == PartialDate(1950, 5)
    assert displaced["R2"].source_record == SourceRecord.objects.get(external_id="R2")


def test_the_same_file_again_is_already_imported_and_adds_nothing(tmp_path: Path) -> None:
    path = _family_csv(tmp_path)
    first = _import(path)
    before = table_counts()

    again = _import(path)

    assert again.already_imported
    assert again.batch_id == first.batch_id
    assert (again.rows, again.created) == (5, 5)  # the first import's counts
    assert table_counts() == before


def test_the_same_records_in_another_file_add_nothing(tmp_path: Path) -> None:
    _import(_family_csv(tmp_path))
    before = table_counts()
    rows_before = table_rows(exclude=(ImportBatch,))
    # Other row order, other column order, another name: another file with the same records.
    order = list(reversed(range(len(HEADER))))
    rows = [[row[i] for i in order] for row in FAMILY]
    random.Random(5).shuffle(rows)
    other = write_csv(tmp_path / "extract-2024.csv", [HEADER[i] for i in order], rows)

    outcome = _import(other)

    assert not outcome.already_imported
    assert (outcome.rows, outcome.unchanged, outcome.created, outcome.updated, outcome.held) == (5, 5, 0, 0, 0)
    assert outcome.links == 0
    assert table_counts() == {**before, "ImportBatch": before["ImportBatch"] + 1}
    assert table_rows(exclude=(ImportBatch,)) == rows_before


def test_a_changed_record_is_a_new_version_of_the_same_person(tmp_path: Path) -> None:
    _import(_family_csv(tmp_path))
    leyla = _person("R4")
    old = SourceRecord.objects.get(external_id="R4")
    links = Kinship.objects.count()
    changed = [list(row) for row in FAMILY]
    changed[3][3] = "Əliyeva"  # married since
    changed[3][6] = "1955-02-11"

    outcome = _import(_family_csv(tmp_path, "family-2.csv", changed))

    assert (outcome.rows, outcome.created, outcome.updated, outcome.unchanged) == (5, 0, 1, 4)
    versions = list(SourceRecord.objects.filter(external_id="R4").order_by("id"))
    assert [v.superseded for v in versions] == [True, False]
    assert versions[0].pk == old.pk
    assert versions[0].surname == "Məmmədova"
    assert versions[1].person_id == leyla.pk
    assert Person.objects.count() == 5
    leyla.refresh_from_db()
    assert (leyla.surname, leyla.birth_date) == ("Əliyeva", PartialDate(1955, 2, 11))
    assert leyla.surname_folded == fold("Əliyeva")
    assert list(person_search(query="aliyeva")) == [leyla]
    assert leyla not in person_search(query="Məmmədova")
    assert Kinship.objects.count() == links


def test_a_corrected_record_replaces_the_links_and_displacement_its_old_version_gave(tmp_path: Path) -> None:
    _import(_family_csv(tmp_path))
    corrected = [list(row) for row in FAMILY]
    corrected[4][11] = "R1"  # Elçin's father is R1, not R3
    corrected[1][14] = "1951"  # Gülnarə was displaced in 1951
    _import(_family_csv(tmp_path, "family-2.csv", corrected))
    assert ("R1", "R5") in _parent_pairs()
    assert ("R3", "R5") not in _parent_pairs()
    gulnara = _person("R2")
    assert [str(d.date_from) for d in Displacement.objects.filter(person=gulnara)] == ["1951"]


# --- held rows -------------------------------------------------------------------------------------------

FORMULA = "=cmd|' /C calc'!A0"


def test_rows_with_problems_are_held_with_row_field_value_and_reason(tmp_path: Path) -> None:
    def row(record_id: str, **values: str) -> list[str]:
        base = dict(zip(HEADER, ["", SOURCE, "Kamran", "Qasımov", "", "M", "1960", "", "AZ"], strict=False))
        base.update(record_id=record_id, **values)
        return [base.get(column, "") for column in HEADER]

    rows = [
        row("V1"),  # row 2
        row("F1", given_name=FORMULA),  # row 3
        row("D1", birth_date="1960-13-45"),  # row 4
        row("S1", origin_settlement="Heç-bir-yer"),  # row 5
        row("E1", displacement_event="wave-9", displacement_date="1950"),  # row 6
        row("V1", given_name="Kamal"),  # row 7: the same id again
        row("O1", source="ru-registry"),  # row 8
        row("V2", origin_settlement=ORIGIN_NAME),  # row 9
    ]
    outcome = _import(write_csv(tmp_path / "held.csv", HEADER, rows))

    assert (outcome.rows, outcome.created, outcome.held) == (8, 2, 6)
    assert set(SourceRecord.objects.values_list("external_id", flat=True)) == {"V1", "V2"}
    assert SourceRecord.objects.get(external_id="V1").given_name == "Kamran"
    report = _report(outcome.batch_id)
    found = {(r["row"], r["record_id"], r["field"], r["value"], r["held"]) for r in report}
    assert found == {
        ("3", "F1", "given_name", "'" + FORMULA, "yes"),  # made harmless for spreadsheets
        ("4", "D1", "birth_date", "1960-13-45", "yes"),
        ("5", "S1", "origin_settlement", "Heç-bir-yer", "yes"),
        ("6", "E1", "displacement_event", "wave-9", "yes"),
        ("7", "V1", "record_id", "V1", "yes"),
        ("8", "O1", "source", "ru-registry", "yes"),
    }
    reasons = {r["field"]: r["reason"] for r in report}
    assert reasons["given_name"] == "looks like a spreadsheet formula, not data"
    assert "month 13" in reasons["birth_date"]
    assert reasons["origin_settlement"] == "no settlement of the gazetteer has this id or name"
    assert reasons["displacement_event"] == "unknown displacement event"
    assert reasons["record_id"] == "the same record id is also in row 2"
    assert "belongs to source 'ru-registry'" in reasons["source"]
    # The held row is kept (encrypted) as received, to be corrected.
    held = ImportProblem.objects.get(batch_id=outcome.batch_id, row_number=3)
    assert json.loads(held.raw)[:4] == ["F1", SOURCE, FORMULA, "Qasımov"]
    assert FORMULA not in _stored(ImportProblem, "raw", held.pk)


def test_held_rows_are_imported_once_the_missing_event_is_configured(tmp_path: Path) -> None:
    rows = [list(row) for row in FAMILY]
    rows[0][15] = rows[1][15] = "wave-0"  # not configured yet
    outcome = _import(_family_csv(tmp_path, rows=rows))
    assert (outcome.created, outcome.held, outcome.warnings) == (3, 2, 4)
    assert not Displacement.objects.exists()
    assert _parent_pairs() == {("R3", "R5")}
    with pytest.raises(NotFoundError):
        registry_retry_held(actor=SETUP, batch_id=outcome.batch_id + 1)

    event_save(actor=SETUP, code="wave-0", label="", start=PartialDate(1950), end=None, qualifies=True)
    retried = registry_retry_held(actor=SETUP, batch_id=outcome.batch_id)

    assert (retried.rows, retried.created, retried.held) == (5, 5, 0)
    assert retried.notices == ["2 of 2 held rows imported; 0 still held"]
    assert not ImportProblem.objects.filter(held=True).exists()
    assert set(Displacement.objects.values_list("event__code", flat=True)) == {"wave-0"}
    assert _parent_pairs() == {("R1", "R3"), ("R2", "R3"), ("R1", "R4"), ("R2", "R4"), ("R3", "R5")}
    assert Kinship.objects.filter(kind="spouse").count() == 1
    assert Household.objects.get(external_id="H1").head == _person("R1")
    # The batch's counts stay those of the whole file, and no problem is reported twice.
    batch = ImportBatch.objects.get(pk=outcome.batch_id)
    assert (batch.rows, batch.created, batch.held, batch.links, batch.warnings) == (5, 5, 0, 6, 0)


def test_retrying_held_rows_reports_each_warning_once(tmp_path: Path) -> None:
    rows = [list(row) for row in FAMILY]
    rows[4][11] = "R9"  # a father this source has not sent (a warning, the row imports)
    rows[0][15] = "wave-0"
    outcome = _import(_family_csv(tmp_path, rows=rows))
    # Three rows name the held R1 (a warning each), one names R9.
    assert (outcome.held, outcome.warnings) == (1, 4)
    event_save(actor=SETUP, code="wave-0", label="", start=None, end=None, qualifies=True)

    registry_retry_held(actor=SETUP, batch_id=outcome.batch_id)

    report = _report(outcome.batch_id)
    assert [(r["row"], r["field"], r["value"]) for r in report] == [("6", "father_record_id", "R9")]
    batch = ImportBatch.objects.get(pk=outcome.batch_id)
    assert (batch.held, batch.warnings, batch.links) == (0, 1, Kinship.objects.count())


# --- refused files ---------------------------------------------------------------------------------------


def test_an_unknown_column_refuses_the_file_and_stores_nothing(tmp_path: Path) -> None:
    before = table_counts()
    path = write_csv(tmp_path / "odd.csv", [*HEADER, "nickname"], [[*row, "Əlicik"] for row in FAMILY])
    with pytest.raises(ValidationError) as caught:
        _import(path, source="new-source")
    assert "nickname" in str(caught.value)
    assert ("header", "nickname", "unknown column") in caught.value.problems
    assert table_counts() == before


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("records.xlsx", "csv", "the file is named .xlsx but its content is CSV text"),
        ("records.csv", "xlsx", "the file is named .csv but its content is an XLSX workbook"),
        ("records.parquet", "csv", "the file is named .parquet but its content is CSV text"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    source = _family_csv(tmp_path)
    path = tmp_path / name
    if content == "csv":
        path.write_bytes(source.read_bytes())
    else:
        _write_xlsx(path, HEADER, FAMILY)
    before = table_counts()
    with pytest.raises(ValidationError) as caught:
        _import(path)
    assert expected in str(caught.value)
    assert table_counts() == before


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (64 * 2**20))
    assert path.stat().st_size < 2**20
    before = table_counts()
    with pytest.raises(ValidationError) as caught:
        _import(path)
    assert "zip bomb" in str(caught.value)
    assert table_counts() == before


# --- other encodings, layouts and formats ------------------------------------------------------------

MAPPING = """
[columns]
record_id = "Номер"
surname = "Фамилия"
given_name = "Имя"
patronymic = "Отчество"
sex = "Пол"
birth_date = "Дата рождения"
origin_settlement = "Место происхождения"
father_record_id = "Отец"

[ignore]
columns = ["Примечание"]

[defaults]
current_country = "RU"

[codes.sex]
"М" = "M"
"Ж" = "F"

[dates]
formats = ["%d.%m.%Y", "%Y"]

[settlements]
"Ортаюрд (с.)" = "hw:settlement:00003"
"""
RU_HEADER = ["Номер", "Фамилия", "Имя", "Отчество", "Пол", "Дата рождения", "Место происхождения", "Отец",
             "Примечание"]  # fmt: skip
RU_ROWS = [
    ["101", "Мамедов", "Али", "Гасан оглы", "М", "04.03.1920", "Ортаюрд (с.)", "", "переехал в 1990 г."],
    ["102", "Мамедова", "Лейла", "Алиевна", "Ж", "1955", "", "101", ""],
    ["103", "Гусейнова", "Гюльнара", "", "ж", "31.12.1961", "Ортаюрд", "", ""],
]


def test_a_windows_1251_file_with_semicolons_imports_through_a_mapping(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ru.csv", RU_HEADER, RU_ROWS, encoding="cp1251", delimiter=";")

    outcome = _import(path, source="ru-registry", mapping_text=MAPPING, mapping_name="ru.toml")

    assert (outcome.rows, outcome.created, outcome.held, outcome.links) == (3, 3, 0, 1)
    batch = ImportBatch.objects.get(pk=outcome.batch_id)
    assert (batch.format, batch.encoding, batch.delimiter, batch.mapping_name) == ("csv", "cp1251", ";", "ru.toml")
    records = {r.external_id: r for r in SourceRecord.objects.select_related("origin_settlement")}
    ali, leyla, gulnara = records["101"], records["102"], records["103"]
    assert (ali.surname, ali.given_name, ali.patronymic, ali.sex) == ("Мамедов", "Али", "Гасан оглы", "M")
    assert ali.birth_date == PartialDate(1920, 3, 4)
    assert ali.origin_settlement is not None
    assert ali.origin_settlement.gid == ORIGIN_NAME_GID
    assert ali.current_country == "RU"
    assert ali.raw is not None
    assert ali.raw[:5] == ["101", "Мамедов", "Али", "Гасан оглы", "М"]  # as received
    assert (leyla.sex, leyla.birth_date) == ("F", PartialDate(1955))
    assert (gulnara.sex, gulnara.birth_date) == ("F", PartialDate(1961, 12, 31))
    assert gulnara.origin_settlement == ali.origin_settlement  # found by its Russian name too
    assert _parent_pairs() == {("101", "102")}
    assert list(person_search(query="Mammadova Leyla")) == [leyla.person]


def test_a_date_outside_the_mapped_formats_is_held(tmp_path: Path) -> None:
    rows = [*RU_ROWS, ["104", "Алиев", "Рза", "", "М", "1961/12/31", "", "", ""]]
    path = write_csv(tmp_path / "ru.csv", RU_HEADER, rows, encoding="cp1251", delimiter=";")
    outcome = _import(path, source="ru-registry", mapping_text=MAPPING)
    assert (outcome.created, outcome.held) == (3, 1)
    problem = _report(outcome.batch_id)[0]
    assert (problem["row"], problem["field"], problem["value"]) == ("5", "birth_date", "1961/12/31")
    assert problem["reason"] == "date '1961/12/31' does not match any of the formats %d.%m.%Y, %Y"
    assert len(_report(outcome.batch_id)) == 1  # the mapping's problem, not a second one from the check


def _write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _write_parquet(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    columns = {name: pa.array([row[i] or None for row in rows], type=pa.string()) for i, name in enumerate(header)}
    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_xlsx_and_parquet_files_import_like_csv(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"family.{kind}"
    (_write_xlsx if kind == "xlsx" else _write_parquet)(path, HEADER, FAMILY)

    outcome = _import(path)

    assert (outcome.rows, outcome.created, outcome.held, outcome.links) == (5, 5, 0, 6)
    assert ImportBatch.objects.get(pk=outcome.batch_id).format == kind
    assert _person("R1").birth_date == PartialDate(1920, 3, 4)
    assert _person("R5").current_country == "RU"
    assert person_sensitive(_person("R4")) == {"phone": PHONE}
    # The same records as CSV: the content decides, not the file's format.
    again = _import(_family_csv(tmp_path))
    assert (again.created, again.unchanged) == (0, 5)


# --- family links that cannot be ---------------------------------------------------------------------


def test_a_parent_born_after_the_child_is_not_linked_and_is_reported(tmp_path: Path) -> None:
    rows = [list(row) for row in FAMILY]
    rows[2][6] = "1985"  # Rauf, now born after his son Elçin (1980)
    outcome = _import(_family_csv(tmp_path, rows=rows))

    assert (outcome.created, outcome.held, outcome.links, outcome.warnings) == (5, 0, 5, 1)
    assert _parent_pairs() == {("R1", "R3"), ("R2", "R3"), ("R1", "R4"), ("R2", "R4")}
    [warning] = _report(outcome.batch_id)
    assert (warning["row"], warning["record_id"], warning["field"], warning["value"]) == (
        "6",
        "R5",
        "father_record_id",
        "R3",
    )
    assert warning["reason"] == "the parent is born after the child: link not made"
    assert warning["held"] == "no"


def test_a_cycle_of_parents_is_broken_and_reported(tmp_path: Path) -> None:
    rows = [
        ["A", SOURCE, "Tofiq", "Quliyev", "", "M", "", "", "", "", "", "B", "", "", "", "", ""],
        ["B", SOURCE, "Vaqif", "Quliyev", "", "M", "", "", "", "", "", "A", "", "", "", "", ""],
        ["C", SOURCE, "Nazim", "Quliyev", "", "M", "", "", "", "", "", "A", "", "", "", "", ""],
    ]
    outcome = _import(_family_csv(tmp_path, rows=rows))

    assert (outcome.created, outcome.held) == (3, 0)
    edges = list(Kinship.objects.filter(kind="parent").values_list("parent_id", "child_id"))
    assert find_cycles(edges) == set()
    assert ("A", "C") in _parent_pairs()
    # At least one of the two links is not made, and each one not made is reported on its row.
    cycle = {("A", "B"), ("B", "A")}
    made = cycle & _parent_pairs()
    assert len(made) <= 1
    report = _report(outcome.batch_id)
    assert {(r["value"], r["record_id"]) for r in report} == cycle - made
    for problem in report:
        assert problem["row"] == {"A": "2", "B": "3"}[problem["record_id"]]
        assert problem["field"] == "father_record_id"
        assert problem["reason"] == "this link would make a person their own ancestor: link not made"
        assert problem["held"] == "no"
    assert outcome.warnings == len(report)


# --- a realistic extract ---------------------------------------------------------------------------------


def test_a_synthetic_community_extract_imports_with_every_row_accounted_for(tmp_path: Path) -> None:
    origins = origins_from_gazetteer(SMALL_GAZETTEER)
    records = [values for values, _pid in generate_community(records=3000, seed=5, origins=origins)]
    for values in records:
        values["source"] = SOURCE
    path = write_csv(tmp_path / "community.csv", RECORD_FIELDS, ([v[f] for f in RECORD_FIELDS] for v in records))

    outcome = _import(path)

    assert outcome.rows == 3000
    assert outcome.created + outcome.held == 3000
    assert outcome.created > 2900
    imported = {r.external_id: r for r in SourceRecord.objects.all()}
    assert len(imported) == outcome.created == Person.objects.count()
    held = Counter(ImportProblem.objects.filter(held=True).values_list("row_number", flat=True))
    assert len(held) == outcome.held
    assert set(held).isdisjoint(r.row_number for r in imported.values())
    # Rows are only held for names several settlements share (the synthetic gazetteer's Soviet names).
    assert set(ImportProblem.objects.filter(held=True).values_list("field", flat=True)) <= {"origin_settlement"}
    # Every reference to an imported relative became a link, or a warning says why not.
    pairs = _parent_pairs()
    warned = set(ImportProblem.objects.filter(held=False).values_list("external_id", "field"))
    for record in imported.values():
        for field in ("father_ref", "mother_ref"):
            parent = getattr(record, field)
            if parent in imported:
                assert (parent, record.external_id) in pairs or (
                    record.external_id,
                    field.replace("_ref", "_record_id"),
                ) in warned
            elif parent:
                assert (record.external_id, field.replace("_ref", "_record_id")) in warned
    spouses = Kinship.objects.filter(kind="spouse").count()
    assert outcome.links == len(pairs) + spouses
    assert spouses > 0
    displaced = [r for r in imported.values() if r.displacement_event or r.displacement_date]
    assert Displacement.objects.count() == len(displaced)
    assert set(Displacement.objects.values_list("event__code", flat=True)) <= {"wave-1", "wave-2", None}
    assert Household.objects.count() == len({r.household_ref for r in imported.values() if r.household_ref})
    assert HouseholdMember.objects.count() == sum(1 for r in imported.values() if r.household_ref)
    heads = {r.household_ref: r.person_id for r in imported.values() if r.relation_to_head == "head"}
    assert dict(Household.objects.filter(head__isnull=False).values_list("external_id", "head_id")) == heads

    # The whole extract again, rows in another order: nothing new.
    random.Random(1).shuffle(records)
    shuffled = write_csv(tmp_path / "again.csv", RECORD_FIELDS, ([v[f] for f in RECORD_FIELDS] for v in records))
    before = table_counts()
    again = _import(shuffled)
    assert (again.unchanged, again.created, again.updated, again.held) == (outcome.created, 0, 0, outcome.held)
    assert table_counts()["SourceRecord"] == before["SourceRecord"]
    assert table_counts()["Kinship"] == before["Kinship"]


# --- a file that fails half-way ------------------------------------------------------------------------


def test_a_file_level_problem_half_way_discards_that_import_only(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 500)
    first = _import(_family_csv(tmp_path))
    snapshot = table_rows(exclude=(ImportBatch, Source))
    # The second extract changes two known records and brings many new ones, then a NUL byte past the first MB.
    changed = [list(row) for row in FAMILY]
    changed[0][3] = "Məmmədli"
    changed[3][3] = "Əliyeva"
    long_patronymic = " ".join(["Həsən oğlu"] * 16)  # long rows: fewer of them fill a megabyte
    many = [
        [f"N{i:05d}", SOURCE, "Həsən", f"Həsənov{i}", long_patronymic, "M", "1970", "", "AZ", "", "", "R1", "", "",
         "", "", ""]
        for i in range(5_000)
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows([changed[0], changed[3], *many])
    data = out.getvalue().encode()
    assert len(data) > 2**20 + 50_000
    cut = data.index(b"\n", 2**20 + 30_000) + 1
    path = tmp_path / "broken.csv"
    path.write_bytes(data[:cut] + b"N99999,az-registry,Bad\x00Row\n" + data[cut:])

    stored_before_discard: list[int] = []
    discard = imports._discard

    def counting_discard(batch: ImportBatch, actor: Any, *, error: str) -> None:
        stored_before_discard.append(SourceRecord.objects.filter(batch=batch).count())
        discard(batch, actor, error=error)

    monkeypatch.setattr(imports, "_discard", counting_discard)

    with pytest.raises(ValidationError) as caught:
        _import(path)

    assert "NUL byte" in str(caught.value)
    # Chunks of the broken file had been committed (the first megabyte's rows), then were undone.
    assert len(stored_before_discard) == 1
    assert 2_000 < stored_before_discard[0] < 5_002
    failed = ImportBatch.objects.exclude(pk=first.batch_id).get()
    assert failed.state == "failed"
    assert "NUL" in failed.error
    assert (failed.rows, failed.created, failed.position) == (0, 0, 0)
    assert not SourceRecord.objects.filter(batch=failed).exists()
    assert not ImportProblem.objects.filter(batch=failed).exists()
    # What the first import stored is as it was: records current again, persons with their old values.
    assert table_rows(exclude=(ImportBatch, Source)) == snapshot
    assert _person("R1").surname == "Məmmədov"
    assert ImportBatch.objects.get(pk=first.batch_id).state == "done"

    # The extract sent again without the broken row imports in full.
    fixed = tmp_path / "fixed.csv"
    fixed.write_bytes(data)
    outcome = _import(fixed)
    assert (outcome.rows, outcome.created, outcome.updated, outcome.held) == (5_002, 5_000, 2, 0)
    assert _person("R1").surname == "Məmmədli"
    assert SourceRecord.objects.filter(superseded=True).count() == 2
    assert Kinship.objects.filter(kind="parent", parent=_person("R1")).count() == 2 + 5_000
