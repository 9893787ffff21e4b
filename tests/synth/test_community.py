"""The synthetic displaced community: its family trees, its source records and their scripts and noise."""

from __future__ import annotations

import csv
import itertools
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from homeward.core.names import detect_script, surname_root
from homeward.core.partialdate import PartialDate
from homeward.synth.community import (
    PREFIXES,
    RECORD_FIELDS,
    RELATIONS,
    SOURCES,
    WAVES,
    Origin,
    generate_community,
    origins_from_gazetteer,
    write_community,
)
from homeward.synth.gazetteer import az_cyrillic, generate

RECORDS = 20_000
PREFIX = dict(zip(SOURCES, PREFIXES, strict=True))
COUNTRIES = {"AZ", "RU", "TR", "GE", "UA", "KZ", "DE", "US"}
AZ_ONLY_CYRILLIC = set("әғҝөүһҹјӘҒҜӨҮҺҸЈ")
NAME_FIELDS = ("given_name", "surname", "patronymic")
DATE_FIELDS = ("birth_date", "death_date", "displacement_date")


class Run:
    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self.records = self._read("records")
        self.truth = {row["record_id"]: row["person_id"] for row in self._read("truth")}
        self.persons = {row["person_id"]: row for row in self._read("persons")}
        self.by_id = {row["record_id"]: row for row in self.records}

    def _read(self, name: str) -> list[dict[str, str]]:
        with self.paths[name].open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    def person(self, record: dict[str, str]) -> dict[str, str]:
        return self.persons[self.truth[record["record_id"]]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One call writes the three files of a 20,000-record community."""
    return Run(write_community(tmp_path_factory.mktemp("community"), records=RECORDS, seed=11))


def test_one_call_writes_the_requested_number_of_records(run: Run) -> None:
    assert set(run.paths) == {"records", "truth", "persons"}
    assert all(path.is_file() for path in run.paths.values())
    with run.paths["records"].open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(RECORD_FIELDS)
    assert len(run.records) == RECORDS
    assert len(run.by_id) == RECORDS, "record ids are unique"
    assert set(run.truth) == set(run.by_id)


@pytest.mark.parametrize("records", [1, 2, 7, 333])
def test_small_runs_give_exactly_the_records_asked_for(records: int) -> None:
    rows = list(generate_community(records=records, seed=5))
    assert len(rows) == records
    ids = {row["record_id"] for row, _ in rows}
    for row, _ in rows:
        for link in ("father_record_id", "mother_record_id", "spouse_record_id"):
            assert not row[link] or row[link] in ids


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def start(self, total: int | None, message: str = "") -> None:
        self.calls.append(("start", total or 0))

    def advance(self, n: int = 1, message: str | None = None) -> None:
        self.calls.append(("advance", n))

    def finish(self) -> None:
        self.calls.append(("finish", 0))


def test_progress_is_reported(tmp_path: Path) -> None:
    progress = Recorder()
    write_community(tmp_path, records=25_000, seed=9, progress=progress)
    assert progress.calls[0] == ("start", 25_000)
    assert progress.calls[-1] == ("finish", 0)
    assert sum(n for kind, n in progress.calls if kind == "advance") == 25_000


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first = list(generate_community(records=3000, seed=3))
    again = list(generate_community(records=3000, seed=3))
    other = list(generate_community(records=3000, seed=4))
    assert first == again
    assert first != other
    assert {r["given_name"] for r, _ in first} != {r["given_name"] for r, _ in other}


def test_generation_streams() -> None:
    """The first rows of a run far too large to hold come out at once: nothing waits for the end."""
    head = list(itertools.islice(generate_community(records=100_000_000, seed=1), 10))
    assert len(head) == 10


def test_record_ids_and_households_carry_their_source(run: Run) -> None:
    for row in run.records:
        prefix = PREFIX[row["source"]]
        assert re.fullmatch(rf"{prefix}-\d{{7}}", row["record_id"])
        if row["household_id"]:
            assert re.fullmatch(rf"{prefix}-h\d{{6,}}", row["household_id"])
            assert row["relation_to_head"] in RELATIONS
        else:
            assert row["relation_to_head"] == ""
    assert {row["source"] for row in run.records} == set(SOURCES)
    assert set(Counter(row["relation_to_head"] for row in run.records)) == {*RELATIONS, ""}


def test_household_members_are_of_one_source_and_one_head_at_most(run: Run) -> None:
    heads: Counter[str] = Counter()
    for row in run.records:
        if row["relation_to_head"] == "head":
            heads[row["household_id"]] += 1
    assert heads
    assert max(heads.values()) == 1


def test_every_family_link_resolves_in_the_same_source_to_the_true_relative(run: Run) -> None:
    links = 0
    for row in run.records:
        person = run.person(row)
        for field, truth_field in (("father_record_id", "father_id"), ("mother_record_id", "mother_id")):
            if row[field]:
                target = run.by_id[row[field]]
                assert target["source"] == row["source"]
                assert run.truth[target["record_id"]] == person[truth_field]
                links += 1
        if row["spouse_record_id"]:
            spouse = run.by_id[row["spouse_record_id"]]
            assert spouse["source"] == row["source"]
            assert run.person(spouse)["sex"] != person["sex"]
            links += 1
    assert links > RECORDS // 2


def test_each_person_has_one_to_three_sources_each_at_most_once(run: Run) -> None:
    sources: defaultdict[str, list[str]] = defaultdict(list)
    for row in run.records:
        sources[run.truth[row["record_id"]]].append(row["source"])
    assert set(sources) <= set(run.persons)
    assert all(1 <= len(found) <= 3 and len(set(found)) == len(found) for found in sources.values())
    counts = Counter(len(found) for found in sources.values())
    assert counts[1]
    assert counts[2]
    assert counts[3]


def test_generations_follow_the_parents(run: Run) -> None:
    community = 0
    for person in run.persons.values():
        parents = [run.persons[pid] for pid in (person["father_id"], person["mother_id"]) if pid]
        members = [int(p["generation"]) for p in parents if p["generation"] != ""]
        if not person["generation"]:
            # An outsider: nobody of the community among the ancestors, no origin, not displaced.
            assert not parents
            assert not person["origin_settlement"]
            assert person["displaced"] == "0"
            continue
        community += 1
        generation = int(person["generation"])
        assert 0 <= generation <= 3
        assert (person["displaced"] == "1") == (generation == 0)
        if generation == 0:
            assert not parents
        else:
            assert members, "a descendant has a parent of the community"
            assert generation == min(members) + 1
    generations = Counter(p["generation"] for p in run.persons.values())
    assert {"0", "1", "2", "3", ""} <= set(generations)
    assert community > len(run.persons) / 2


def test_patronymic_is_the_fathers_given_name(run: Run) -> None:
    checked = same = 0
    for row in run.records:
        if row["source"] == "az-registry" and row["father_record_id"] and row["patronymic"]:
            father = run.by_id[row["father_record_id"]]
            marker = " qızı" if run.person(row)["sex"] == "F" else " oğlu"
            checked += 1
            same += row["patronymic"] == father["given_name"] + marker
    assert checked > 500
    assert same / checked > 0.9, "all but typos in the father's record"


def test_children_are_born_after_their_parents(run: Run) -> None:
    checked = 0
    for person in run.persons.values():
        for pid in (person["father_id"], person["mother_id"]):
            if pid:
                assert int(person["birth_year"]) >= int(run.persons[pid]["birth_year"]) + 15
                checked += 1
    assert checked


def test_truth_persons_are_consistent(run: Run) -> None:
    for person in run.persons.values():
        assert person["sex"] in ("F", "M")
        assert person["current_country"] in COUNTRIES
        assert person["alive"] in ("0", "1")
        if person["generation"] == "0":
            assert 1910 <= int(person["birth_year"]) <= 1975
        assert re.fullmatch(r"(hw:settlement:\d{5})?", person["origin_settlement"])
    countries = Counter(p["current_country"] for p in run.persons.values())
    assert countries.most_common(2)[0][0] == "AZ"
    assert countries.most_common(2)[1][0] == "RU"
    assert set(countries) == COUNTRIES
    assert 0 < sum(p["alive"] == "0" for p in run.persons.values()) < len(run.persons) / 2


def test_dates_are_partial_dates(run: Run) -> None:
    for row in run.records:
        for field in DATE_FIELDS:
            if row[field]:
                PartialDate.parse(row[field])
    written = [r["displacement_date"] for r in run.records if r["displacement_date"]]
    precisions = Counter(PartialDate.parse(text).precision for text in written)
    assert set(precisions) == {"year", "month", "day"}


def test_birth_dates_are_mostly_right(run: Run) -> None:
    dated = [row for row in run.records if row["birth_date"]]
    assert 0.8 < len(dated) / RECORDS < 0.95
    right = sum(PartialDate.parse(r["birth_date"]).year == int(run.person(r)["birth_year"]) for r in dated)
    assert 0.9 < right / len(dated) < 0.99, "a few dates are wrong, most are right"


def test_displacement_only_on_the_displaced(run: Run) -> None:
    displaced = [row for row in run.records if run.person(row)["generation"] == "0"]
    assert displaced
    for row in run.records:
        if run.person(row)["generation"] != "0":
            assert row["displacement_date"] == row["displacement_event"] == ""
        elif row["displacement_event"]:
            first, last = WAVES[row["displacement_event"]]
            if row["displacement_date"]:
                assert first - 1 <= PartialDate.parse(row["displacement_date"]).year <= last + 1
    missing = sum(not row["displacement_event"] for row in displaced) / len(displaced)
    assert 0.1 < missing < 0.3
    assert {row["displacement_event"] for row in displaced} == {"wave-1", "wave-2", ""}


def test_origin_settlements_are_written_as_each_source_writes_them() -> None:
    origins = origins_from_gazetteer(generate(settlements=300))
    assert origins[0].gid == "hw:settlement:00001"
    lang = {"az-registry": "az-Latn", "az-archive": "az-Cyrl", "ru-registry": "ru-Cyrl", "ru-passport": "ru-Latn",
            "intl-registry": "en", "portal": "en"}  # fmt: skip
    names = {source: {o.names[tag] for o in origins} for source, tag in lang.items()}
    gids = {o.gid for o in origins}
    by_gid = 0
    for row, _pid in generate_community(records=5000, seed=2, origins=origins):
        if row["origin_settlement"] in gids:
            by_gid += 1
        elif row["origin_settlement"]:
            assert row["origin_settlement"] in names[row["source"]], row
    assert by_gid


def test_custom_origins_are_used() -> None:
    origins = [Origin(gid="hw:settlement:90001", names={"az-Latn": "Qaraçinar"})]
    rows = list(generate_community(records=500, seed=8, origins=origins))
    written = {row["origin_settlement"] for row, _ in rows} - {""}
    assert written <= {"hw:settlement:90001", "Qaraçinar", "Гарачинар", "Карачинар", "Karachinar", "Garachinar"}
    assert "Гарачинар" in written or "Qaraçinar" in written


def test_scripts_per_source(run: Run) -> None:
    for row in run.records:
        names = [row[f] for f in NAME_FIELDS if row[f]]
        source = row["source"]
        if source in ("az-archive", "ru-registry"):
            assert all(detect_script(n) == "Cyrl" for n in names), row
        else:
            assert all(detect_script(n) == "Latn" for n in names), row
        if source == "ru-registry":
            assert not AZ_ONLY_CYRILLIC & set("".join(names)), row
        if source in ("portal", "ru-passport", "intl-registry"):
            assert all(n.isascii() for n in names), row
        if source == "portal":
            for field in ("birth_place", "origin_settlement", "current_city"):
                assert row[field].isascii(), row
    archive = "".join(row["given_name"] + row["surname"] for row in run.records if row["source"] == "az-archive")
    assert all(int(run.person(r)["birth_year"]) < 1991 for r in run.records if r["source"] == "az-archive")
    assert {"ә", "ҹ", "ј"} <= set(archive.lower())


def test_archive_and_registry_agree_letter_for_letter(run: Run) -> None:
    """Azerbaijani Cyrillic is the Latin letter for letter: ə is ә, c is ҹ, y is ј (but for typos and swaps)."""
    latin: dict[str, dict[str, str]] = {}
    for row in run.records:
        if row["source"] == "az-registry":
            latin[run.truth[row["record_id"]]] = row
    pairs = same = 0
    for row in run.records:
        registry = latin.get(run.truth[row["record_id"]])
        if row["source"] == "az-archive" and registry is not None:
            pairs += 1
            same += az_cyrillic(registry["given_name"]) == row["given_name"]
    assert pairs > 500
    assert 0.85 < same / pairs < 1


def test_married_women_change_surname_between_older_and_newer_sources(run: Run) -> None:
    rows: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for row in run.records:
        if row["source"] in ("az-archive", "az-registry"):
            rows[run.truth[row["record_id"]]][row["source"]] = row["surname"]
    changed: Counter[str] = Counter()
    both: Counter[str] = Counter()
    for pid, found in rows.items():
        if len(found) == 2:
            sex = run.persons[pid]["sex"]
            both[sex] += 1
            changed[sex] += surname_root(found["az-archive"]) != surname_root(found["az-registry"])
    assert changed["F"] / both["F"] > 2 * changed["M"] / both["M"]


def test_noise_is_there(run: Run) -> None:
    archive = [row for row in run.records if row["source"] == "az-archive"]
    swapped = sum(bool(re.search(r"(ов|ова|ев|ева)$", row["given_name"])) for row in archive)
    assert 0 < swapped < 0.06 * len(archive), "a few Soviet records put the surname first"
    for field in ("birth_place", "birth_date", "current_city", "household_id"):
        share = sum(not row[field] for row in run.records) / RECORDS
        assert 0.05 < share < 0.5, field
    portal = [row for row in run.records if row["source"] == "portal"]
    assert any(row["surname"].islower() for row in portal)
    assert any(row["surname"].isupper() for row in portal)
    assert any(row["patronymic"].endswith(("оглы", "кызы")) for row in run.records)
    assert any(row["patronymic"].endswith(("ович", "овна", "евич", "евна")) for row in run.records)


def test_russian_renderings() -> None:
    """The forms the shared reference lists turn up in the Russian and English-style sources."""
    seen: defaultdict[str, set[str]] = defaultdict(set)
    for row, _pid in generate_community(records=20_000, seed=11):
        seen[row["source"]].add(row["surname"])
    assert {"Мамедов", "Гусейнова", "Алиев", "Джафаров", "Гасанов"} <= seen["ru-registry"]
    assert {"Mamedov", "Guseynova", "Dzhafarov"} <= seen["ru-passport"]
    assert {"Mammadov", "Huseynova", "Jafarov", "Aliyev"} <= seen["intl-registry"]
    assert {"Məmmədov", "Hüseynova", "Əliyev"} <= seen["az-registry"]
