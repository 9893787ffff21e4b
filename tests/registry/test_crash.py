"""An import killed with SIGKILL, again and again, then run to the end, leaves what one clean run leaves.

`homeward import` commits a chunk of rows at a time together with the batch's position, and makes the family
links of the whole file in one last transaction. The process is killed while the first chunk is being
written, between chunks, and while the family links are being made; each run continues where the last
commit left it. The registry's tables are then compared row by row (ids and times aside) with those of one
uninterrupted run of the same file on a copy of the same database.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from homeward.synth.community import RECORD_FIELDS, generate_community
from tests.registry.conftest import copy_var
from tests.test_cli import ENV_KEYS

pytestmark = pytest.mark.own_database

RECORDS = 60_000
SOURCE = "az-registry"
Progress = tuple[str, int] | None  # the batch's (state, position), or None before it exists


def write_extract(path: Path) -> int:
    """A synthetic community's records as one source's extract; returns the last row number."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(RECORD_FIELDS)
        for values, _person in generate_community(records=RECORDS, seed=11):
            values["source"] = SOURCE
            writer.writerow([values[f] for f in RECORD_FIELDS])
    return RECORDS + 1  # the header is row 1, and no cell holds a line break


def start_import(var: Path, path: Path) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    environ.update({"HOMEWARD_VAR_DIR": str(var), "HOMEWARD_ENV": "development"})
    return subprocess.Popen(
        [sys.executable, "-m", "homeward.cli", "import", SOURCE, str(path), "--no-eligibility"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    return out


def progress(database: sqlite3.Connection) -> Progress:
    row = database.execute("SELECT state, position FROM registry_importbatch").fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def kill_when(var: Path, path: Path, moment: Callable[[Progress], bool], *, settle: float = 0.0) -> Progress:
    """Run the import and SIGKILL it as soon as its committed progress satisfies ``moment`` (then ``settle``
    seconds later); returns the committed progress the killed process left."""
    process = start_import(var, path)
    database = sqlite3.connect(var / "homeward.sqlite3", timeout=30)
    try:
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            if moment(progress(database)):
                time.sleep(settle)
                break
            time.sleep(0.005)
        assert process.poll() is None, "the import ended before the moment it was to be killed at"
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        return progress(database)
    finally:
        database.close()


def registry_state(var: Path) -> dict[str, list[Any]]:
    """Every row of the registry's tables, with ids replaced by the record ids they stand for, times left out."""
    database = sqlite3.connect(var / "homeward.sqlite3")
    try:
        rows = database.execute
        record_ext = dict(rows("SELECT id, external_id FROM registry_sourcerecord"))
        person_ext = dict(
            rows(
                "SELECT p.id, r.external_id FROM registry_person p "
                "JOIN registry_sourcerecord r ON r.id = p.first_record_id"
            )
        )
        gid = dict(rows("SELECT id, gid FROM gazetteer_settlement"))
        household_ext = dict(rows("SELECT id, external_id FROM registry_household"))
        event_code = dict(rows("SELECT id, code FROM registry_displacementevent"))

        def table(sql: str, convert: Callable[..., tuple[Any, ...]] = lambda *r: r) -> list[Any]:
            return sorted((convert(*row) for row in rows(sql)), key=repr)

        record_columns = (
            "external_id, content_hash, row_number, raw, given_name, surname, previous_surname, patronymic, sex, "
            "birth_date, birth_place, origin_text, origin_settlement_id, current_country, current_city, "
            "household_ref, relation_to_head, father_ref, mother_ref, spouse_ref, death_date, displacement_date, "
            "displacement_event, sensitive, given_folded, surname_folded, surname_skeleton, person_id, superseded"
        )
        person_columns = (
            "id, given_name, surname, patronymic, sex, birth_date, birth_place, death_date, origin_settlement_id, "
            "current_country, current_city, sensitive, given_folded, surname_folded, surname_skeleton, "
            "generation, eligible, restricted, erased_at, merged_into_id, first_record_id"
        )
        return {
            "persons without a first record": table("SELECT id FROM registry_person WHERE first_record_id IS NULL"),
            "sources": table("SELECT code, name, kind, country, trust, description FROM registry_source"),
            "batches": table(
                "SELECT filename, sha256, size_bytes, format, encoding, delimiter, mapping_name, header, state, "
                "position, rows, created, updated, unchanged, held, links, warnings, error FROM registry_importbatch"
            ),
            "records": table(
                f"SELECT {record_columns} FROM registry_sourcerecord",  # noqa: S608
                lambda *r: (*r[:12], gid.get(r[12]), *r[13:27], person_ext.get(r[27]), r[28]),
            ),
            "persons": table(
                f"SELECT {person_columns} FROM registry_person",  # noqa: S608
                lambda *r: (person_ext.get(r[0]), *r[1:8], gid.get(r[8]), *r[9:20], record_ext.get(r[20])),
            ),
            "problems": table(
                "SELECT row_number, external_id, field, value, reason, held, raw <> '', resolved_at IS NULL "
                "FROM registry_importproblem"
            ),
            "households": table(
                "SELECT source_id IS NOT NULL, external_id, head_id FROM registry_household",
                lambda source, ext, head: (source, ext, person_ext.get(head)),
            ),
            "members": table(
                "SELECT household_id, person_id, relation, source_record_id FROM registry_householdmember",
                lambda h, p, relation, r: (household_ext[h], person_ext[p], relation, record_ext.get(r)),
            ),
            "family links": table(
                "SELECT kind, parent_id, child_id, adoptive, source_record_id, note FROM registry_kinship",
                lambda kind, p, c, adoptive, r, note: (
                    kind,
                    person_ext[p],
                    person_ext[c],
                    adoptive,
                    record_ext.get(r),
                    note,
                ),
            ),
            "displacements": table(
                "SELECT person_id, settlement_id, origin_text, date_from, date_to, event_id, evidence, "
                "source_record_id FROM registry_displacement",
                lambda p, s, text, start, end, e, evidence, r: (
                    person_ext[p],
                    gid.get(s),
                    text,
                    start,
                    end,
                    event_code.get(e),
                    evidence,
                    record_ext.get(r),
                ),
            ),
        }
    finally:
        database.close()


def counts_line(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith("import "))
    return line.split(f"from {SOURCE}", 1)[1].replace(" (resumed)", "")


def test_an_import_killed_at_any_point_ends_as_one_clean_run(prepared_var: Path, tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    last_row = write_extract(path)
    crashed = copy_var(prepared_var, tmp_path / "crashed")
    clean_var = copy_var(prepared_var, tmp_path / "clean")
    clean = start_import(clean_var, path)  # meanwhile, on its own copy of the database

    # While the first chunk is being written: the batch exists, nothing is committed.
    assert kill_when(crashed, path, lambda p: p is not None) == ("running", 0)
    # Between chunks: some chunks committed, not all.
    state, position = kill_when(crashed, path, lambda p: p is not None and p[1] > 0) or ("", 0)
    assert state == "running"
    assert 0 < position < last_row
    # While the family links are made: every row committed, the batch not done.
    ready_to_link: Callable[[Progress], bool] = lambda p: p is not None and p[1] == last_row  # noqa: E731
    assert kill_when(crashed, path, ready_to_link, settle=0.2) == ("running", last_row)

    resumed = finished(start_import(crashed, path))
    clean_out = finished(clean)

    assert "(resumed)" in resumed
    assert "(resumed)" not in clean_out
    assert counts_line(resumed) == counts_line(clean_out)
    assert f": {RECORDS:,} rows, " in counts_line(clean_out)
    after_crashes, after_clean = registry_state(crashed), registry_state(clean_var)
    assert after_clean["persons without a first record"] == []
    assert len(after_clean["records"]) > 0.95 * RECORDS
    assert len(after_clean["family links"]) > 0.5 * RECORDS
    assert after_clean["households"]
    assert after_clean["displacements"]
    for name, rows in after_clean.items():
        assert after_crashes[name] == rows, name
    database = sqlite3.connect(crashed / "homeward.sqlite3")
    try:
        actions = dict(
            database.execute(
                "SELECT action, count(*) FROM audit_auditevent WHERE action LIKE 'registry.import.%' GROUP BY action"
            ).fetchall()
        )
    finally:
        database.close()
    assert actions == {"registry.import.started": 1, "registry.import.resumed": 3, "registry.import.completed": 1}
