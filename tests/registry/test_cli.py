"""`homeward import` and `homeward registry ...` as an operator runs them: real processes on their own database."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from tests.registry.conftest import ok, write_csv
from tests.test_cli import run

pytestmark = pytest.mark.own_database

HEADER = [
    "record_id", "source", "given_name", "surname", "sex", "birth_date", "origin_settlement", "father_record_id",
    "mother_record_id", "spouse_record_id", "displacement_date", "displacement_event",
]  # fmt: skip
ROWS = [
    ["R1", "az-registry", "Əli", "Məmmədov", "M", "1920", "hw:settlement:00001", "", "", "R2", "1950", "wave-1"],
    ["R2", "az-registry", "Gülnarə", "Məmmədova", "F", "1925", "hw:settlement:00001", "", "", "R1", "", ""],
    ["R3", "az-registry", "Rauf", "Məmmədov", "M", "1952", "", "R1", "R2", "", "", ""],
    ["R4", "az-registry", "Leyla", "Məmmədova", "F", "1950-02-30", "", "R1", "R2", "", "", ""],  # held
    ["R5", "az-registry", "Elçin", "Həsənov", "M", "1980", "", "R9", "", "", "", ""],  # R9 was not sent
]
COUNTS = "5 rows, 4 new records, 0 changed, 0 already known, 1 held for correction, 3 family links, 1 warnings"


def family_file(folder: Path) -> Path:
    return write_csv(folder / "family.csv", HEADER, ROWS)


def query(var: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    database = sqlite3.connect(var / "homeward.sqlite3")
    try:
        return list(database.execute(sql, params))
    finally:
        database.close()


def test_import_prints_its_counts_writes_the_report_and_adds_nothing_the_second_time(
    own_var: Path, tmp_path: Path
) -> None:
    path = family_file(tmp_path)
    report = tmp_path / "problems.csv"

    first = ok(run(["import", "az-registry", str(path), "--report", str(report)], own_var))

    assert f"import 1 of {path} from az-registry: {COUNTS}" in first.stdout
    assert f"wrote 2 problems to {report}" in first.stdout
    # No origin region is configured: every origin counts. Əli was displaced; Rauf is his son.
    assert "eligibility: 2 of 4 persons eligible (1 displaced themselves)" in first.stdout
    # The source was not known: it is created, and the operator is told.
    assert "warning: source 'az-registry' was not known and has been created" in first.stderr
    assert query(own_var, "SELECT code, name FROM registry_source") == [("az-registry", "az-registry")]
    with report.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "record_id", "field", "value", "reason", "held", "resolved"]
    assert [[*row[:4], row[5]] for row in rows[1:]] == [
        ["5", "R4", "birth_date", "1950-02-30", "yes"],
        ["6", "R5", "father_record_id", "R9", "no"],
    ]
    assert "does not exist" in rows[1][4]
    assert not list(tmp_path.glob("*.part"))

    again = ok(run(["import", "az-registry", str(path)], own_var))

    assert f"{path} was already imported from az-registry (import 1): nothing added" in again.stdout
    assert "was not known" not in again.stderr
    assert query(own_var, "SELECT count(*) FROM registry_sourcerecord") == [(4,)]
    assert query(own_var, "SELECT count(*) FROM registry_importbatch") == [(1,)]


def test_registry_commands_on_an_imported_extract(own_var: Path, tmp_path: Path) -> None:
    imported = ok(run(["import", "az-registry", str(family_file(tmp_path)), "--no-eligibility"], own_var))
    assert COUNTS in imported.stdout
    assert "eligibility" not in imported.stdout
    assert "see the problems with: homeward registry report 1 --out FILE.csv" in imported.stdout
    assert query(own_var, "SELECT count(*) FROM registry_person WHERE generation IS NOT NULL") == [(0,)]

    event = ok(
        run(["registry", "event", "wave-3", "--label", "Third wave", "--start", "1990", "--end", "1991"], own_var)
    )
    assert "event wave-3 saved (qualifies)" in event.stdout
    assert query(own_var, "SELECT label, start, \"end\", qualifies FROM registry_displacementevent WHERE code = ?",
                 "wave-3") == [("Third wave", "1990", "1991", 1)]  # fmt: skip

    eligibility = ok(run(["registry", "eligibility"], own_var))
    assert "2 of 4 persons eligible (1 displaced themselves, 2 parent links); 2 changed" in eligibility.stdout

    report = tmp_path / "report.csv"
    written = ok(run(["registry", "report", "1", "--out", str(report)], own_var))
    assert f"wrote 2 problems to {report}" in written.stdout
    assert report.read_text(encoding="utf-8").splitlines()[0] == "row,record_id,field,value,reason,held,resolved"

    [(rauf,)] = query(own_var, "SELECT person_id FROM registry_sourcerecord WHERE external_id = 'R3'")
    out = tmp_path / "rauf.json"
    exported = ok(run(["registry", "export-person", str(rauf), "--out", str(out)], own_var))
    assert f"wrote {out}" in exported.stdout
    export = json.loads(out.read_text(encoding="utf-8"))
    assert (export["person"]["given_name"], export["person"]["generation"], export["person"]["eligible"]) == (
        "Rauf",
        1,
        True,
    )
    assert [(r["source"], r["record_id"], r["row"]) for r in export["source_records"]] == [("az-registry", "R3", 4)]
    assert len([link for link in export["family_links"] if link["child"] == rauf]) == 2
    # The read is audited, as every read of a person's data is.
    assert query(own_var, "SELECT count(*) FROM audit_auditevent WHERE action = 'registry.person.viewed'") == [(1,)]


def test_registry_commands_refuse_wrong_input_with_one_clear_message(own_var: Path, tmp_path: Path) -> None:
    event = run(["registry", "event", "wave-x", "--start", "1991", "--end", "1990"], own_var)
    assert event.returncode != 0
    assert "the event ends before it starts" in event.stderr
    assert "Traceback" not in event.stderr
    report = run(["registry", "report", "99", "--out", str(tmp_path / "r.csv")], own_var)
    assert report.returncode != 0
    assert "there is no import 99" in report.stderr
    assert not (tmp_path / "r.csv").exists()
    export = run(["registry", "export-person", "12345", "--out", str(tmp_path / "p.json")], own_var)
    assert export.returncode != 0
    assert "person not found" in export.stderr
    assert not (tmp_path / "p.json").exists()
    assert query(own_var, "SELECT count(*) FROM registry_displacementevent") == [(2,)]


def test_registry_synth_writes_a_synthetic_community(own_var: Path, tmp_path: Path) -> None:
    out = tmp_path / "community"
    result = ok(run(["registry", "synth", "--records", "2000", "--seed", "3", "--out", str(out)], own_var))
    for name in ("records", "truth", "persons"):
        assert f"{name}: {out / (name + '.csv')}" in result.stdout
    with (out / "records.csv").open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    with (out / "truth.csv").open(encoding="utf-8", newline="") as fh:
        truth = list(csv.DictReader(fh))
    assert len(records) == len(truth) == 2000
    assert [r["record_id"] for r in records] == [t["record_id"] for t in truth]
    assert len({r["record_id"] for r in records}) == 2000
    assert {r["source"] for r in records} <= {
        "az-registry", "az-archive", "ru-registry", "ru-passport", "intl-registry", "portal"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("family.xlsx", "csv", "the file is named .xlsx but its content is CSV text"),
        ("family.csv", "unknown-column", "header, nickname: unknown column"),
        ("family.csv", "binary", "the file contains NUL bytes: it is binary, not CSV text"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(
    own_var: Path, tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / name
    if content == "csv":
        path.write_bytes(family_file(tmp_path).read_bytes())
    elif content == "unknown-column":
        write_csv(path, [*HEADER, "nickname"], [[*row, "x"] for row in ROWS])
    elif content == "binary":
        path.write_bytes(b"record_id,given_name\x00\x01\x02" * 50)

    result = run(["import", "az-registry", str(path)], own_var)

    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    if content is not None:
        assert f"nothing was imported from {path}" in result.stderr
    assert query(own_var, "SELECT count(*) FROM registry_sourcerecord") == [(0,)]
    assert query(own_var, "SELECT count(*) FROM registry_importbatch") == [(0,)]
