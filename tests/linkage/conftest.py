"""Shared data for the linkage tests: synthetic communities with their truth, and hand-made records."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from homeward.synth.community import write_community

FIELDS = (
    "record_id", "source", "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place",
    "origin_settlement", "current_country",
)  # fmt: skip


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
