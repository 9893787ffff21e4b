"""Shared data for the linkage tests: synthetic communities with their truth, and hand-made records."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from homeward.core.partialdate import PartialDate
from homeward.gazetteer.formats import write_lpf
from homeward.gazetteer.services import gazetteer_import
from homeward.linkage.engine.prepare import INPUT_FIELDS
from homeward.linkage.services import linkage_run
from homeward.registry.models import Kinship, SourceRecord
from homeward.registry.services.imports import registry_import
from homeward.registry.services.persons import event_save, source_save
from homeward.synth.community import WAVES, write_community, write_source_extracts
from homeward.synth.gazetteer import generate
from tests.conftest import SETUP, _audit_triggers

FIELDS = INPUT_FIELDS


@dataclass(frozen=True)
class Community:
    records: Path
    truth: Path
    persons: Path


def _community(factory: pytest.TempPathFactory, records: int, seed: int) -> Community:
    paths = write_community(factory.mktemp(f"community-{records}"), records=records, seed=seed)
    return Community(paths["records"], paths["truth"], paths["persons"])


@pytest.fixture(scope="session")
def community_10k(tmp_path_factory: pytest.TempPathFactory) -> Community:
    return _community(tmp_path_factory, 10_000, 17)


@pytest.fixture(scope="session")
def community_3k(tmp_path_factory: pytest.TempPathFactory) -> Community:
    return _community(tmp_path_factory, 3_000, 4)


def write_records(path: Path, rows: Iterable[Mapping[str, str]], fields: Iterable[str] = FIELDS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_clusters(path: Path) -> dict[str, str]:
    """``record_id -> cluster_id`` of a link-file output, checking its header and that no record comes twice."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["record_id", "cluster_id"]
        rows = list(reader)
    clusters = dict(rows)
    assert len(clusters) == len(rows), "a record appears twice in the output"
    return clusters


def groups(clusters: Mapping[str, str]) -> list[set[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for record_id, cluster_id in clusters.items():
        members[cluster_id].add(record_id)
    return list(members.values())


def partition(clusters: Mapping[str, str]) -> set[frozenset[str]]:
    return {frozenset(group) for group in groups(clusters)}


# The same people as each kind of source writes them: Azerbaijani Latin, Azerbaijani Cyrillic, Russian
# Cyrillic, Russian-derived Latin, English-style Latin and lower-case ASCII typed on the web (see
# shared/reference/azerbaijani-names.md). Each person: sex, birth date, renderings of (given name, surname,
# patronymic, birth place). The grandfather and the grandson share every name and the birthplace's region.
RENDERING_SOURCES = ("az-registry", "az-archive", "ru-registry", "ru-passport", "intl-registry", "portal")
CROSS_SCRIPT = {
    "mammad-1931": (
        "M",
        "1931-03-14",
        [
            ("Məmməd", "Məmmədov", "Əli oğlu", "Bakı"),
            ("Мәммәд", "Мәммәдов", "Әли оғлу", "Бакы"),
            ("Мамед", "Мамедов", "Алиевич", "Баку"),
            ("Mamed", "Mamedov", "Alievich", "Baku"),
            ("Mammad", "Mammadov", "Ali oglu", "Baku"),
            ("memmed", "memmedov", "eli oglu", "baki"),
        ],
    ),
    "mammad-1987": (
        "M",
        "1987-08-02",
        [
            ("Məmməd", "Məmmədov", "Əli oğlu", "Bakı"),
            ("Мамед", "Мамедов", "Алиевич", "Баку"),
            ("Mammad", "Mammadov", "Ali oglu", "Baku"),
            ("memmed", "memmedov", "eli oglu", "baki"),
        ],
    ),
    "gulnara-1962": (
        "F",
        "1962-11-05",
        [
            ("Gülnarə", "Hüseynova", "Rauf qızı", "Sumqayıt"),
            ("Гүлнарә", "Һүсејнова", "Рауф гызы", "Сумгајыт"),
            ("Гюльнара", "Гусейнова", "Рауфовна", "Сумгаит"),
            ("Gyulnara", "Guseynova", "Raufovna", "Sumgait"),
            ("Gulnara", "Huseynova", "Rauf gizi", "Sumgayit"),
            ("gulnare", "huseynova", "rauf qizi", "sumqayit"),
        ],
    ),
    "ilham-1975": (
        "M",
        "1975-01-20",
        [
            ("İlham", "Cəfərov", "Vaqif oğlu", "Gəncə"),
            ("Илһам", "Ҹәфәров", "Вагиф оғлу", "Ҝәнҹә"),
            ("Ильхам", "Джафаров", "Вагифович", "Гянджа"),
            ("Ilkham", "Dzhafarov", "Vagifovich", "Gyandzha"),
            ("Ilham", "Jafarov", "Vagif oglu", "Ganja"),
            ("ilham", "cefarov", "vaqif oglu", "gence"),
        ],
    ),
    "hasan-1948": (
        "M",
        "1948-07-09",
        [
            ("Həsən", "Əliyev", "Şükür oğlu", "Şuşa"),
            ("Һәсән", "Әлијев", "Шүкүр оғлу", "Шуша"),
            ("Гасан", "Алиев", "Шукюрович", "Шуша"),
            ("Gasan", "Aliev", "Shukyurovich", "Shusha"),
            ("Hasan", "Aliyev", "Shukur oglu", "Shusha"),
            ("hesen", "eliyev", "sukur oglu", "susa"),
        ],
    ),
}


def cross_script_rows() -> tuple[list[dict[str, str]], dict[str, str]]:
    """The renderings above as records (ids ``x-<person>-<n>``) and ``record_id -> person``."""
    rows, truth = [], {}
    for person, (sex, birth_date, renderings) in CROSS_SCRIPT.items():
        for number, (given, surname, patronymic, place) in enumerate(renderings):
            record_id = f"x-{person}-{number}"
            rows.append(
                {
                    "record_id": record_id,
                    "source": RENDERING_SOURCES[number],
                    "given_name": given,
                    "surname": surname,
                    "patronymic": patronymic,
                    "sex": sex,
                    "birth_date": birth_date,
                    "birth_place": place,
                }
            )
            truth[record_id] = person
    return rows, truth


def import_renderings(folder: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The renderings above imported into the registry, one file per source; returns ``cross_script_rows()``."""
    rows, truth = cross_script_rows()
    by_source: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
    for source in RENDERING_SOURCES:
        path = write_records(folder / f"{source}.csv", by_source[source])
        assert registry_import(actor=SETUP, source_code=source, path=path).state == "done"
    return rows, truth


# --- A registry linked by a linkage run (database) ---------------------------------------------------------

# The synthetic community's extracts, each imported from its source with the registry's import service; the
# population registers hold each person at most once (kind "registry"), the others may hold one twice.
SOURCE_KINDS = {
    "az-registry": "registry", "az-archive": "archive", "ru-registry": "registry", "ru-passport": "other",
    "intl-registry": "registry", "portal": "portal",
}  # fmt: skip
# 3,000 records (seed 4): more than the 2,000 the engine needs to train a model on the registry's own records.
REGISTRY_RECORDS, REGISTRY_SEED = 3_000, 4


@dataclass
class LinkedRegistry:
    """What a test of a linked registry compares against: the truth, and the registry before the first run."""

    run_id: int
    truth: dict[str, str]  # record id (SourceRecord.external_id) -> true person
    links_before: set[tuple[str, int, int]]  # (kind, parent, child) between the persons the import made
    persons_before: dict[int, int]  # source record -> its person as imported


def build_linked_registry(
    folder: Path, *, records: int = REGISTRY_RECORDS, seed: int = REGISTRY_SEED
) -> LinkedRegistry:
    """Gazetteer, displacement waves and sources set up as an operator would; the community imported; one run."""
    gazetteer_import(actor=SETUP, raw=write_lpf(generate(settlements=300)).encode(), filename="synthetic.lpf.json")
    for code, (start, end) in WAVES.items():
        event_save(actor=SETUP, code=code, label=code, start=PartialDate(start), end=PartialDate(end), qualifies=True)
    for code, kind in SOURCE_KINDS.items():
        source_save(actor=SETUP, code=code, name=code, kind=kind, country="", trust=3)
    extracts = write_source_extracts(folder, records=records, seed=seed)
    for code, path in extracts.items():
        outcome = registry_import(actor=SETUP, source_code=code, path=path)
        assert outcome.state == "done", outcome
    with open(folder / "truth.csv", encoding="utf-8", newline="") as handle:
        truth = {row["record_id"]: row["person_id"] for row in csv.DictReader(handle)}
    links_before = set(Kinship.objects.values_list("kind", "parent_id", "child_id"))
    persons_before = dict(SourceRecord.objects.values_list("id", "person_id"))
    run = linkage_run(actor=SETUP)
    return LinkedRegistry(run.pk, truth, links_before, persons_before)


def flush_database() -> None:
    """Empty every table (the audit log's append-only triggers lifted for it), as a transactional test does."""
    _audit_triggers(enable=False)
    call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def linked_registry(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LinkedRegistry]:
    """The linked registry, committed once for the module: each test runs in a transaction rolled back after
    it, so every test starts from the registry as the first run left it. Emptied again after the module."""
    try:
        with django_db_blocker.unblock():
            linked = build_linked_registry(tmp_path_factory.mktemp("extracts"))
        yield linked
    finally:
        with django_db_blocker.unblock():
            flush_database()
