"""The census over a real registry: a synthetic community imported and linked with the real services, then
snapshots, releases and exports through the services and the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from homeward.audit.models import AuditEvent
from homeward.census import services
from homeward.census.engine.tables import TOTAL, UNKNOWN
from homeward.census.models import CensusRelease, CensusSnapshot
from homeward.core.errors import ValidationError
from homeward.core.files import _root
from homeward.gazetteer.models import Settlement
from homeward.registry.models import Person, SourceRecord
from homeward.registry.services.persons import (
    eligibility_recompute,
    origin_region_set,
    person_restrict,
    subject_request_open,
)
from homeward.synth.community import write_community
from tests.conftest import SETUP
from tests.linkage.conftest import REGISTRY_RECORDS, REGISTRY_SEED, build_linked_registry, flush_database

pytestmark = pytest.mark.usefixtures("census_registry", "db")


@pytest.fixture(scope="module")
def census_registry(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The linkage tests' community (3,000 records), linked, with generations computed, committed once."""
    try:
        with django_db_blocker.unblock():
            linked = build_linked_registry(tmp_path_factory.mktemp("census-extracts"))
            origin_region_set(actor=SETUP, unit_codes=["hw:unit:old"])
            eligibility_recompute(actor=SETUP)
            persons = write_community(
                tmp_path_factory.mktemp("census-truth"), records=REGISTRY_RECORDS, seed=REGISTRY_SEED
            )["persons"]
            with open(persons, encoding="utf-8", newline="") as handle:
                truth_people = {row["person_id"]: row for row in csv.DictReader(handle)}
        yield {"truth": linked.truth, "people": truth_people}
    finally:
        with django_db_blocker.unblock():
            flush_database()


def restrict(person_id: int) -> None:
    request = subject_request_open(actor=SETUP, person_id=person_id, kind="restrict", received_on=dt.date.today())
    person_restrict(actor=SETUP, request_id=request.pk)


def identities() -> int:
    return Person.objects.filter(merged_into__isnull=True, erased_at__isnull=True, restricted=False).count()


def test_a_run_freezes_the_identities_encrypted_and_the_same_state_gives_the_same_snapshot() -> None:
    first = services.census_run(actor=SETUP)
    second = services.census_run(actor=SETUP)
    assert first.persons == identities()
    assert first.persons > 1000
    assert first.content_hash == second.content_hash
    stored = (_root() / first.stored_file).read_bytes()
    # The schema's names are not readable at rest. (Only long names are looked for: a three-letter one
    # such as "pid" turns up by chance in a few megabytes of ciphertext.)
    for name in (b"settlement", b"generation", b"destination", b"source_kind"):
        assert name not in stored
    state = services.load_snapshot(first)
    assert state.persons.num_rows == first.persons
    assert set(state.persons.column_names) == {"pid", "sex", "birth", "death", "generation", "eligible",
                                                "settlement", "country", "registered", "source_kind", "intention",
                                                "horizon", "together", "destination", "conditions"}  # fmt: skip
    assert AuditEvent.objects.filter(action="census.snapshot.created").count() == 2
    _, tables = services.internal_tables(first.pk)
    members = {t.code: t for t in tables}["members_district_generation_sex"]
    living = Person.objects.filter(merged_into__isnull=True, death_date__isnull=True).count()
    assert members.values.ravel()[-1] >= living  # every living identity, and those who died after the reference date


@pytest.mark.usefixtures("sheets")
def test_recorded_intentions_and_their_conditions_reach_the_tables(make_staff: Any) -> None:
    """Intentions recorded in the registry, through a census run, into the intention and condition tables;
    the expected counts worked out here from the registry's own records."""
    from homeward.census.charts import CATEGORY_LABELS
    from homeward.census.engine.tables import CONDITIONS
    from homeward.registry.models import ReturnIntention
    from homeward.registry.services.intentions import intention_record, intention_withdraw

    # The census counts the registry's own list of conditions, each with a label on the pages.
    assert [*ReturnIntention.CONDITIONS, "none"] == CONDITIONS
    assert set(CATEGORY_LABELS["condition"]) == set(CONDITIONS)
    staff = make_staff("registrar")
    ask = {"actor": staff, "sheet_version": "2026-1", "channel": "interview"}
    limit = dt.date.today().year - 19
    adults = list(
        Person.objects.filter(merged_into__isnull=True, restricted=False, eligible=True, death_date__isnull=True,
                              birth_date__lte=f"{limit}-01-01").order_by("id")[:5]
    )  # fmt: skip
    assert len(adults) == 5
    a, b, c, d, e = (p.pk for p in adults)
    intention_record(person_id=a, decision="intends", horizon="12_months", together="community",
                     conditions=["security", "housing"], **ask)  # fmt: skip
    intention_record(person_id=b, decision="undecided", conditions=["housing"], **ask)
    intention_record(person_id=b, decision="undecided", conditions=["property", "documents"], **ask)  # the latest
    intention_record(person_id=c, decision="does_not_intend", **ask)
    intention_record(person_id=d, decision="intends", horizon="5_years", together="own", conditions=["security"],
                     **ask)  # fmt: skip
    intention_withdraw(actor=staff, person_id=d, channel="phone")
    intention_record(person_id=e, decision="intends", horizon="someday", together="community", **ask)
    snapshot = services.census_run(actor=SETUP)
    _, tables = services.internal_tables(snapshot.pk, ["intentions_condition_horizon", "intentions_district_horizon"])
    by_condition, by_district = ({k: v for k, v in t.cells() if v} for t in tables)
    # Withdrawn (d) is left out of the conditions; citing none (c, e) counts once as "none".
    assert {k: v for k, v in by_condition.items() if TOTAL not in k} == {
        ("security", "intends_12_months"): 1, ("housing", "intends_12_months"): 1,
        ("property", "undecided"): 1, ("documents", "undecided"): 1,
        ("none", "does_not_intend"): 1, ("none", "intends_someday"): 1,
    }  # fmt: skip
    assert by_condition[(TOTAL, TOTAL)] == 6
    assert {k[1]: v for k, v in by_district.items() if k[0] == TOTAL and k[1] not in (TOTAL, "none")} == {
        "intends_12_months": 1, "undecided": 1, "does_not_intend": 1, "withdrawn": 1, "intends_someday": 1,
    }  # fmt: skip


def test_restricted_persons_are_left_out_and_the_snapshot_changes() -> None:
    before = services.census_run(actor=SETUP)
    person = Person.objects.filter(merged_into__isnull=True).order_by("id").first()
    assert person is not None
    restrict(person.pk)
    after = services.census_run(actor=SETUP)
    assert (after.persons, after.excluded) == (before.persons - 1, before.excluded + 1)
    assert after.content_hash != before.content_hash


def test_linked_identities_against_the_truth(census_registry: dict[str, Any], record_property: Any) -> None:
    """The same table from the linked registry and from the true people: the difference is linkage error,
    reported; generation 0 (displaced themselves) is counted from the displacement records, so it is close."""
    snapshot = services.census_run(actor=SETUP)
    _, tables = services.internal_tables(snapshot.pk, ["members_district_generation_sex", "coverage_district"])
    linked = {code: dict(t.cells()) for code, t in zip(("members", "coverage"), tables, strict=True)}
    imported = set(SourceRecord.objects.values_list("external_id", flat=True))
    true_ids = {census_registry["truth"][r] for r in imported if r in census_registry["truth"]}
    people = [census_registry["people"][p] for p in true_ids]
    district = dict(Settlement.objects.values_list("gid", "historical_admin_unit__code"))
    true_members = sum(1 for p in people if p["alive"] == "1")
    true_displaced = Counter(district.get(p["origin_settlement"], UNKNOWN) for p in people if p["generation"] == "0")
    linked_members = linked["members"][(TOTAL, TOTAL, TOTAL)]
    record_property("members_linked_vs_true", f"{linked_members} / {true_members}")
    record_property("displaced_linked_vs_true", f"{linked['coverage'][(TOTAL,)]} / {sum(true_displaced.values())}")
    # Unmerged duplicates make more identities than people; never fewer by more than the merging error.
    assert 0.95 * true_members <= linked_members <= 1.25 * true_members
    assert abs(linked["coverage"][(TOTAL,)] - sum(true_displaced.values())) <= 0.25 * sum(true_displaced.values())


def test_cli_run_and_exports_public_and_internal(tmp_path: Path) -> None:
    output = io.StringIO()
    call_command("census", "run", "--reference-date", "2025-06-30", stdout=output)
    assert "public release" in output.getvalue()
    snapshot = CensusSnapshot.objects.get()
    assert str(snapshot.reference_date) == "2025-06-30"
    for run in ("a", "b"):
        call_command("census", "export", "--public", "--format", "csv", "--out", str(tmp_path / run),
                     stdout=io.StringIO())  # fmt: skip
    first = (tmp_path / "a" / "census-public.csv").read_bytes()
    assert first == (tmp_path / "b" / "census-public.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(first.decode())))
    assert {r["TABLE"] for r in rows} == set(services.public_tables("district"))
    assert not any(r["TABLE"].startswith(("members_settlement", "coverage_settlement")) for r in rows)
    assert {r["SNAPSHOT"] for r in rows} == {snapshot.content_hash}
    assert all(r["OBS_VALUE"] == "" or int(r["OBS_VALUE"]) % 5 == 0 for r in rows)
    # A snapshot is released once: the exports write the run's own release again.
    assert CensusRelease.objects.count() == 1
    call_command("census", "export", "--format", "json", "--out", str(tmp_path / "internal"), stdout=io.StringIO())
    assert (tmp_path / "internal" / "census-internal.json").exists()
    # Stricter rules need a snapshot of their own: two releases of one snapshot would give each other away.
    with pytest.raises(CommandError, match="already has public release"):
        call_command("census", "export", "--format", "xlsx", "--out", str(tmp_path / "x"), "--public",
                     "--threshold", "20", stdout=io.StringIO())  # fmt: skip
    call_command("census", "run", stdout=io.StringIO())
    # The new snapshot's own release is under the configured rules; a stricter one is then refused too.
    call_command("census", "export", "--format", "xlsx", "--out", str(tmp_path / "x"), "--public",
                 stdout=io.StringIO())  # fmt: skip
    assert (tmp_path / "x" / "census-public.xlsx").exists()
    assert CensusRelease.objects.count() == 2
    assert AuditEvent.objects.filter(action="census.exported").count() == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--public", "--format", "csv", "--out", "X", "--threshold", "ten"], "threshold: not a whole"),
        (["export", "--public", "--format", "csv", "--out", "X", "--rounding", "0"], "rounding"),
        (["export", "--public", "--format", "csv", "--out", "X", "--geography", "village"], "geography"),
        (["export", "--public", "--format", "csv", "--out", "X", "--threshold", "5"], "at least those configured"),
        (["export", "--public", "--format", "csv", "--out", "X", "--geography", "settlement"], "finer than"),
        (["export", "--format", "csv", "--out", "X", "--threshold", "20"], "public releases only"),
        (["run", "--reference-date", "2999-01-01"], "in the future"),
        (["run", "--reference-date", "31.12.2024"], "not a date"),
        (["export", "--format", "csv", "--out", "X", "--snapshot", "999999"], "not found"),
    ],
)  # fmt: skip
def test_cli_refuses_bad_values_and_writes_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    services.census_run(actor=SETUP)
    releases = CensusRelease.objects.count()
    args = [str(tmp_path / "out") if a == "X" else a for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("census", *args, stdout=io.StringIO())
    assert CensusRelease.objects.count() == releases
    assert not (tmp_path / "out").exists()


def test_an_altered_snapshot_file_is_refused() -> None:
    snapshot = services.census_run(actor=SETUP)
    path = _root() / snapshot.stored_file
    Person.objects.filter(pk=Person.objects.order_by("id").values("id")[:1]).update(sex="X")
    changed = services.census_run(actor=SETUP)
    # Properly encrypted, but another registry state than the one frozen.
    path.write_bytes((_root() / changed.stored_file).read_bytes())
    with pytest.raises(ValidationError, match="does not match its content hash"):
        services.load_snapshot(snapshot)


def test_a_release_warns_when_counts_moved_by_fewer_people_than_the_threshold(settings: Any) -> None:
    settings.HOMEWARD_CENSUS = {"threshold": 10, "rounding": 1, "geography": "district"}
    first = services.census_run(actor=SETUP)
    services.census_release(actor=SETUP, snapshot_id=first.pk, rounding=1)
    for person in Person.objects.filter(merged_into__isnull=True, generation=1).order_by("id")[:3]:
        restrict(person.pk)
    second = services.census_run(actor=SETUP)
    release = services.census_release(actor=SETUP, snapshot_id=second.pk, rounding=1).release
    assert any(w.startswith("members_district_generation_sex") for w in release.warnings)
    assert any(w.endswith(f"-> {int(w.split(': ')[1].split(' -> ')[0]) - 3}") for w in release.warnings)


def test_a_recorded_release_reproduces_its_bytes() -> None:
    snapshot = services.census_run(actor=SETUP)
    result = services.census_release(actor=SETUP, snapshot_id=snapshot.pk)
    name, data = services.census_download(actor=SETUP, fmt="csv", release_id=result.release.pk)
    assert name.endswith(".csv")
    assert data.decode().startswith("TABLE,UNIVERSE,REF_DATE")
    outputs, _meta = services.release_outputs(result.release)
    assert [o.table.code for o in outputs] == list(result.release.cells)
    assert AuditEvent.objects.filter(action="census.downloaded").count() == 1
