"""Census pages: the index, a public release with its withheld counts, a snapshot's exact tables, the charts,
the downloads, running the census from the page, and who may see what.

A synthetic community is imported, a census run and a public release made through the services once for the
module; each test runs in a transaction rolled back after it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import product
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from django.test import override_settings
from django.utils import translation

from homeward.access.roles import MATRIX, Cap, Role
from homeward.audit.models import AuditEvent
from homeward.census.charts import (
    GENERATION_COLOURS,
    INTENTION_COLOURS,
    INTENTION_ORDER,
    MEN,
    WOMEN,
    cube_of_release,
    intentions_of,
    intentions_svg,
    pyramid_of,
    pyramid_svg,
)
from homeward.census.engine.tables import AGE_GROUPS, TABLE_BY_CODE, TOTAL
from homeward.census.models import CensusRelease, CensusSnapshot
from homeward.census.services import census_release, census_run, internal_tables
from homeward.core.models import Job
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.formats import write_lpf
from homeward.gazetteer.models import Settlement
from homeward.gazetteer.services import gazetteer_import
from homeward.registry.services.imports import registry_import
from homeward.registry.services.persons import eligibility_recompute, event_save, source_save
from homeward.synth.community import WAVES, write_source_extracts
from homeward.synth.gazetteer import generate
from tests.conftest import SETUP
from tests.linkage.conftest import SOURCE_KINDS, flush_database

# Large enough that the district tables keep published counts beside withheld ones.
RECORDS = 10_000
SVG = "{http://www.w3.org/2000/svg}"
EXACT = sorted(MATRIX[Cap.CENSUS_EXACT])
NOT_EXACT = sorted(set(Role) - MATRIX[Cap.CENSUS_EXACT])
NOT_RUNNERS = sorted(set(Role) - MATRIX[Cap.CENSUS_RUN])


@dataclass
class Census:
    var: Path
    snapshot: CensusSnapshot
    release: CensusRelease


def build_registry(folder: Path, *, records: int = RECORDS) -> None:
    """The synthetic community imported source by source (no linkage run: every record is a person), with its
    gazetteer, displacement waves and generations."""
    gazetteer_import(actor=SETUP, raw=write_lpf(generate(settlements=300)).encode(), filename="synthetic.lpf.json")
    for code, (start, end) in WAVES.items():
        event_save(actor=SETUP, code=code, label=code, start=PartialDate(start), end=PartialDate(end), qualifies=True)
    for code, kind in SOURCE_KINDS.items():
        source_save(actor=SETUP, code=code, name=code, kind=kind, country="", trust=3)
    for code, path in write_source_extracts(folder, records=records, seed=5).items():
        assert registry_import(actor=SETUP, source_code=code, path=path).state == "done"
    eligibility_recompute(actor=SETUP)


def build_census(folder: Path, *, records: int = RECORDS) -> tuple[CensusSnapshot, CensusRelease]:
    """The registry above, a census run and a public release under the default rules."""
    build_registry(folder, records=records)
    snapshot = census_run(actor=SETUP)
    return snapshot, census_release(actor=SETUP, snapshot_id=snapshot.pk).release


@pytest.fixture(scope="module")
def census(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Census]:
    var = tmp_path_factory.mktemp("census-var")
    try:
        with django_db_blocker.unblock(), override_settings(VAR_DIR=var):
            snapshot, release = build_census(tmp_path_factory.mktemp("community"))
        yield Census(var, snapshot, release)
    finally:
        with django_db_blocker.unblock():
            flush_database()


@pytest.fixture(autouse=True)
def _census_files(settings: Any, census: Census, db: None) -> None:
    """The snapshot's stored file lives in the module's data folder, not in each test's own."""
    settings.VAR_DIR = census.var


class _Tables(HTMLParser):
    """The census tables of a page: per table code, its body rows as (row headers, cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[list[str], list[str]]]] = {}
        self.opened: list[str] = []
        self.code = ""
        self.in_body = False
        self.cell: list[str] | None = None
        self.kind = ""
        self.row: tuple[list[str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "details" and (a.get("id") or "").startswith("table-"):
            self.code = (a["id"] or "")[6:]
            self.tables[self.code] = []
            if "open" in a:
                self.opened.append(self.code)
        elif tag == "tbody" and self.code:
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.row = ([], [])
        elif tag in ("th", "td") and self.row is not None:
            self.cell, self.kind = [], tag

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.cell is not None and self.row is not None:
            self.row[0 if self.kind == "th" else 1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.code].append(self.row)
            self.row = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "details":
            self.code = ""


def _page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.content.decode())


def _tables(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def _cell_texts(parsed: _Tables, code: str) -> list[str]:
    """The table's counts in the order of its cells (categories as listed, the total last on each axis)."""
    return [text for _heads, cells in parsed.tables[code] for text in cells[: _width(code, parsed)]]


def _width(code: str, parsed: _Tables) -> int:
    return 1 if len(TABLE_BY_CODE[code].dims) == 1 else len(parsed.tables[code][0][1])


def _inline_svgs(page: str) -> dict[str, Element]:
    return {
        m.group(1): fromstring(m.group(0))
        for m in re.finditer(r'<svg xmlns="http://www.w3.org/2000/svg".*?aria-labelledby="([\w-]+)-title.*?</svg>',
                             page, re.S)
    }  # fmt: skip


def _bars(svg: Element, colour: str) -> dict[str, int]:
    """Bars of one colour by their tooltip's label (``<age group>, <sex>``) and the count they show."""
    found = {}
    for rect in svg.iter(f"{SVG}rect"):
        if rect.get("fill") == colour:
            title = rect.find(f"{SVG}title")
            if title is None and rect.get("width") == "12":
                continue  # a legend's swatch
            assert title is not None
            assert title.text
            label, _sep, count = title.text.rpartition(": ")
            found[label] = int(count.replace("\u202f", ""))
    return found


# --- Who may see what ---------------------------------------------------------------------------------------


def test_an_auditor_sees_the_releases_but_not_the_exact_tables(client_for: Any, census: Census) -> None:
    client = client_for(Role.AUDITOR)
    release, snapshot = census.release.pk, census.snapshot.pk
    index = _page(client, "/census/")
    assert f'href="/census/releases/{release}/"' in index
    assert f"/census/snapshots/{snapshot}/" not in index
    assert "Run the census" not in index
    assert "<h1>Census release" in _page(client, f"/census/releases/{release}/")
    for url in (
        f"/census/snapshots/{snapshot}/",
        f"/census/snapshots/{snapshot}/download/csv/",
        f"/census/snapshots/{snapshot}/charts/pyramid.svg",
        f"/census/snapshots/{snapshot}/charts/origins.png",
    ):
        assert client.get(url).status_code == 403, url  # fmt: skip


@pytest.mark.parametrize("role", NOT_EXACT, ids=str)
def test_roles_without_exact_counts_get_403_on_the_snapshot(client_for: Any, census: Census, role: Role) -> None:
    client = client_for(role)
    assert client.get(f"/census/snapshots/{census.snapshot.pk}/").status_code == 403
    assert client.get(f"/census/releases/{census.release.pk}/download/csv/").status_code == 200


@pytest.mark.parametrize("role", EXACT, ids=str)
def test_roles_with_exact_counts_open_the_snapshot(client_for: Any, census: Census, role: Role) -> None:
    client = client_for(role)
    index = _page(client, "/census/")
    assert f'href="/census/snapshots/{census.snapshot.pk}/"' in index
    assert ("Run the census" in index) == (role in MATRIX[Cap.CENSUS_RUN])
    assert f"Census snapshot {census.snapshot.pk}" in _page(client, f"/census/snapshots/{census.snapshot.pk}/")
    # Exact counts can point at a family: every view of them, page or chart, is recorded under the reader.
    assert client.get(f"/census/snapshots/{census.snapshot.pk}/charts/coverage.png").status_code == 200
    reads = AuditEvent.objects.filter(action="census.snapshot.viewed", target_id=str(census.snapshot.pk),
                                      actor_id=client.user.pk)  # type: ignore[attr-defined]  # fmt: skip
    assert sorted(e.data["purpose"] for e in reads) == ["chart coverage", "page"]
    assert not AuditEvent.objects.filter(action="census.snapshot.viewed", target_id="999999").exists()
    assert client.get("/census/snapshots/999999/").status_code == 404


def test_missing_things_are_not_found(client_for: Any, census: Census) -> None:
    client = client_for(Role.ANALYST)
    release, snapshot = census.release.pk, census.snapshot.pk
    for url in (
        "/census/releases/999999/",
        "/census/snapshots/999999/",
        "/census/releases/999999/download/csv/",
        f"/census/releases/{release}/download/pdf/",
        f"/census/snapshots/{snapshot}/download/exe/",
        f"/census/releases/{release}/charts/households.svg",
        f"/census/snapshots/{snapshot}/charts/x.png",
        f"/census/releases/{release}/charts/origins.svg",
    ):  # a district release has no settlement counts
        assert client.get(url).status_code == 404, url  # fmt: skip


# --- The release page ---------------------------------------------------------------------------------------


def test_the_release_page_shows_the_published_counts_and_a_star_for_every_withheld_one(
    client_for: Any, census: Census
) -> None:
    release = census.release
    _snapshot, exact = internal_tables(release.snapshot_id, list(release.cells))
    exact_values = {t.code: dict(t.cells()) for t in exact}
    page = _page(client_for(Role.AUDITOR), f"/census/releases/{release.pk}/")
    parsed = _tables(page)
    assert list(parsed.tables) == [t.code for t in exact]
    assert parsed.opened == [exact[0].code]  # the first table open, the others collapsed
    withheld_seen = 0
    for code, cells in release.cells.items():
        texts = _cell_texts(parsed, code)
        assert len(texts) == len(cells), code
        for text, cell in zip(texts, cells, strict=True):
            *key, value, status = cell
            if value is None:
                withheld_seen += 1
                assert status == "C"  # small or withheld to protect one: the page and the files do not say which
                assert text == "*", (code, key, text, exact_values[code][tuple(key)])
            else:
                assert int(text.replace(",", "")) == value, (code, key)
    assert withheld_seen == release.suppressed > 0
    # A small count withheld: its exact value is nowhere in its row.
    code, key, exact_value = next(
        (code, tuple(c[:-2]), exact_values[code][tuple(c[:-2])])
        for code, cells in release.cells.items() for c in cells
        if c[-2] is None and 0 < exact_values[code][tuple(c[:-2])] < release.threshold
    )  # fmt: skip
    dims = TABLE_BY_CODE[code].dims
    axes = [t.axis(i) for t in exact if t.code == code for i in range(len(dims))]
    row = list(product(*axes[:-1])).index(key[:-1]) if len(dims) > 1 else axes[0].index(key[0])
    _heads, row_cells = parsed.tables[code][row]
    assert row_cells[axes[-1].index(key[-1]) if len(dims) > 1 else 0] == "*"
    assert 0 < exact_value < release.threshold
    assert "withheld: a count below the threshold" in page
    # Titles, dimensions and categories are labelled, not shown as codes.
    assert "Registered members by origin district, age group and sex" in page
    assert "Age group" in page
    assert "Female" in page
    assert ">Total<" in page
    assert "_T" not in re.sub(r"<[^>]*>", "", page)


def test_the_release_page_lists_its_warnings(client_for: Any, census: Census, settings: Any) -> None:
    # A new snapshot released with rounding to 1 after rounding to 5: many counts move by less than the threshold.
    settings.HOMEWARD_CENSUS = {"threshold": 10, "rounding": 1, "geography": "district"}
    second = census_release(actor=SETUP, snapshot_id=census_run(actor=SETUP).pk).release
    assert second.warnings
    page = _page(client_for(Role.PLANNER), f"/census/releases/{second.pk}/")
    assert "changed by less than the threshold" in page
    assert second.warnings[0].replace(">", "&gt;") in page
    index = _page(client_for(Role.PLANNER), "/census/")
    assert f"<td>{len(second.warnings)}</td>" in index


def test_release_downloads_are_the_public_files(client_for: Any, census: Census) -> None:
    client = client_for(Role.REVIEWER)
    before = AuditEvent.objects.filter(action="census.downloaded").count()
    response = client.get(f"/census/releases/{census.release.pk}/download/csv/")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = response.content.decode()
    assert text.splitlines()[0].startswith("TABLE,UNIVERSE,REF_DATE,")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["OBS_STATUS"] for r in rows} == {"A", "C"}
    assert all(r["OBS_VALUE"] == "" for r in rows if r["OBS_STATUS"] != "A")
    doc = json.loads(client.get(f"/census/releases/{census.release.pk}/download/json/").content)
    assert doc["public"] is True
    assert doc["disclosure_control"]["threshold"] == census.release.threshold
    xlsx = client.get(f"/census/releases/{census.release.pk}/download/xlsx/")
    assert xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx.content[:2] == b"PK"
    assert AuditEvent.objects.filter(action="census.downloaded").count() == before + 3


def test_snapshot_downloads_hold_the_exact_counts(client_for: Any, census: Census) -> None:
    response = client_for(Role.REGISTRAR).get(f"/census/snapshots/{census.snapshot.pk}/download/csv/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows
    assert {r["OBS_STATUS"] for r in rows} == {"A"}
    small = [r for r in rows if r["OBS_VALUE"] and 0 < int(r["OBS_VALUE"]) < 10]
    assert small  # exact: small counts are there
    response = client_for(Role.ANALYST).get(f"/census/snapshots/{census.snapshot.pk}/download/json/")
    assert json.loads(response.content)["public"] is False


# --- Running the census -------------------------------------------------------------------------------------


def test_an_analyst_runs_the_census_from_the_page(client_for: Any, census: Census) -> None:
    client = client_for(Role.ANALYST)
    response = client.post("/census/run/", {"note": "quarterly"})
    job = Job.objects.get(kind="census.run", created_by=client.user)
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.params == {"note": "quarterly"}
    assert AuditEvent.objects.filter(action="census.run.queued", target_id=str(job.pk)).exists()
    assert client.get("/census/run/").status_code == 405


@pytest.mark.parametrize("role", NOT_RUNNERS, ids=str)
def test_roles_that_may_not_run_the_census_get_403(client_for: Any, census: Census, role: Role) -> None:
    assert client_for(role).post("/census/run/").status_code == 403
    assert not Job.objects.filter(kind="census.run").exists()


# --- Charts -------------------------------------------------------------------------------------------------


def test_the_pyramid_svg_parses_and_has_bars_for_both_sexes(client_for: Any, census: Census) -> None:
    _s, (table,) = internal_tables(census.snapshot.pk, ["members_district_age_sex"])
    exact = dict(table.cells())
    client = client_for(Role.ANALYST)
    response = client.get(f"/census/snapshots/{census.snapshot.pk}/charts/pyramid.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == f'attachment; filename="census-snapshot-{census.snapshot.pk}-pyramid.svg"'
    svg = fromstring(response.content)
    assert svg.tag == f"{SVG}svg"
    title = svg.find(f"{SVG}title")
    assert title is not None
    assert title.text == "Registered members by age group, sex and generation"
    _s, (by_generation,) = internal_tables(census.snapshot.pk, ["members_age_sex_generation"])
    parts = dict(by_generation.cells())
    for colour, sex, word in ((MEN, "M", "Men"), (WOMEN, "F", "Women")):
        bars = _bars(svg, colour)
        expected = {f"{age}, {word}": exact[(TOTAL, age, sex)] for age in AGE_GROUPS}
        assert bars == {label: n for label, n in expected.items() if n}, word
        assert len(bars) > 10
        # Inside each bar, a part per generation, drawn with its own shade.
        for generation, shade in GENERATION_COLOURS.items():
            label = (
                "0 (displaced themselves)"
                if generation == "0"
                else "none or unknown"
                if generation == "_U"
                else generation
            )
            drawn = {k.rsplit(", ", 1)[0]: n for k, n in _bars(svg, shade).items() if k.split(", ")[1] == word}
            wanted = {f"{age}, {word}": parts[(age, sex, generation)] for age in AGE_GROUPS}
            assert drawn == {k: n for k, n in wanted.items() if n}, (word, generation)
            assert all(k.endswith(label) for k in _bars(svg, shade))
    png = client.get(f"/census/snapshots/{census.snapshot.pk}/charts/pyramid.png")
    assert png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_release_chart_draws_only_published_counts(client_for: Any, census: Census) -> None:
    release = census.release
    response = client_for(Role.AUDITOR).get(f"/census/releases/{release.pk}/charts/pyramid.svg")
    assert response.status_code == 200
    svg = fromstring(response.content)
    published = {(c[1], c[2]): c[3] for c in release.cells["members_district_age_sex"] if c[0] == TOTAL}
    for colour, sex, word in ((MEN, "M", "Men"), (WOMEN, "F", "Women")):
        expected = {f"{age}, {word}": published[(age, sex)] for age in AGE_GROUPS}
        assert _bars(svg, colour) == {label: n for label, n in expected.items() if n}
    stars = [t for t in svg.iter(f"{SVG}text") if t.text == "*"]
    assert len(stars) == sum(
        1 for (age, sex), v in published.items() if v is None and sex in "MF" and age in AGE_GROUPS
    )


def test_the_pyramid_of_published_counts_skips_the_withheld_ones() -> None:
    """From release cells (no recomputed table at hand): a withheld count draws no bar but a star."""
    ages, sexes = [*AGE_GROUPS, "_U", TOTAL], ["F", "M", "X", "_U", TOTAL]
    withheld = {("0-4", "M"), ("85+", "F")}
    cells = [
        [district, age, sex, None if (age, sex) in withheld else 10 * (i + 1), "C" if (age, sex) in withheld else "A"]
        for district in ("d1", TOTAL) for i, age in enumerate(ages) for sex in sexes
    ]  # fmt: skip
    cube = cube_of_release("members_district_age_sex", ("district", "age", "sex"), cells, None)
    with translation.override("en"):
        svg = fromstring(pyramid_svg(pyramid_of(cube), "t"))
    men, women = _bars(svg, MEN), _bars(svg, WOMEN)
    assert "0-4, Men" not in men
    assert men["5-9, Men"] == 20
    assert len(men) == len(AGE_GROUPS) - 1
    assert "85+, Women" not in women
    assert women["0-4, Women"] == 10
    assert len(women) == len(AGE_GROUPS) - 1
    assert [t.text for t in svg.iter(f"{SVG}text")].count("*") == 2


def test_the_intentions_chart_splits_each_district_and_marks_withheld_counts() -> None:
    """From release cells: each district's bar in shares of its adults, a part per intention, the withheld part
    left out and starred, and all districts together last."""
    intentions = [*INTENTION_ORDER[:-1], "_U", TOTAL]
    counts = {"d1": [40, 30, 20, 15, None, 0, 60, 0], "d2": [0, 10, 0, 25, 20, 0, 45, 0],
              TOTAL: [40, 40, 20, 40, 25, 0, 105, 0]}  # fmt: skip
    totals = {"d1": 170, "d2": 100, TOTAL: 270}
    cells = [
        [d, i, totals[d] if i == TOTAL else counts[d][k], "A" if i == TOTAL or counts[d][k] is not None else "C"]
        for d in ("d1", "d2", TOTAL) for k, i in enumerate(intentions)
    ]  # fmt: skip
    cube = cube_of_release("intentions_district_horizon", ("district", "intention"), cells, None)
    chart = intentions_of(cube)
    assert [r.label for r in chart.rows] == ["d1", "d2", "All districts"]
    with translation.override("en"):
        svg = fromstring(intentions_svg(chart, "t"))
    for code, colour in INTENTION_COLOURS.items():
        drawn = {}
        for rect in svg.iter(f"{SVG}rect"):
            tip = rect.find(f"{SVG}title")
            if rect.get("fill") == colour and tip is not None and tip.text:
                where, _sep, rest = tip.text.partition(", ")
                number, _sep, share = rest.rpartition(": ")[2].partition(" ")
                drawn[where] = (int(number.replace("\u202f", "")), float(rect.get("width") or 0), share)
        k = INTENTION_ORDER.index(code)
        wanted = {d if d != TOTAL else "All districts": counts[d][k] for d in counts if counts[d][k]}
        assert {w: n for w, (n, _w, _s) in drawn.items()} == wanted, code
        for where, (n, width, share) in drawn.items():
            total = totals[TOTAL if where == "All districts" else where]
            assert width == pytest.approx(402 * n / total, abs=0.06)  # the bar is 402 wide
            assert share.strip("()").replace("\u00a0", " ").endswith("%")
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts.count("*") == 1  # d1's withheld undecided count
    assert {"170", "100", "270"} <= set(texts)
    assert "* count withheld: a white gap at the end of the bar." in texts
    # Nothing but zeros and withheld counts: nothing to draw.
    hidden = [[d, i, None if i != TOTAL else 0, "C"] for d in ("d1", TOTAL) for i in intentions]
    assert intentions_of(cube_of_release("intentions_district_horizon", ("district", "intention"), hidden, None)).empty


def test_the_snapshot_page_inlines_its_charts(client_for: Any, census: Census) -> None:
    snapshot = census.snapshot
    _s, tables = internal_tables(snapshot.pk, ["members_district_age_sex", "members_settlement_generation_sex"])
    ages, settlements = (dict(t.cells()) for t in tables)
    page = _page(client_for(Role.ANALYST), f"/census/snapshots/{snapshot.pk}/")
    svgs = _inline_svgs(page)
    assert set(svgs) == {f"snapshot-{snapshot.pk}-{kind}" for kind in ("pyramid", "origins", "coverage", "intentions")}
    for svg in svgs.values():
        assert svg.get("role") == "img"
        # The pages' content security policy forbids inline styles: the charts use none.
        assert not [e for e in svg.iter() if e.get("style") is not None or e.tag == f"{SVG}style"]
    men = _bars(svgs[f"snapshot-{snapshot.pk}-pyramid"], MEN)
    assert men["0-4, Men"] == ages[(TOTAL, "0-4", "M")]
    # The origin map: a circle per settlement the gazetteer places, the largest one the most members.
    circles = [
        c for c in svgs[f"snapshot-{snapshot.pk}-origins"].iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None
    ]
    placed = Settlement.objects.filter(latitude__isnull=False).count()
    assert len(circles) == placed
    counts = {gid: v for (gid, g, s), v in settlements.items() if g == s == TOTAL and gid not in (TOTAL, "_U")}
    top = max(counts, key=lambda gid: counts[gid])
    biggest = max(circles, key=lambda c: float(c.get("r") or 0))
    tip = biggest.find(f"{SVG}title")
    assert tip is not None
    assert tip.text == f"{Settlement.objects.get(gid=top).title}: {counts[top]:,}".replace(",", "\u202f")
    for kind in ("pyramid", "origins", "coverage", "intentions"):
        assert f'href="/census/snapshots/{snapshot.pk}/charts/{kind}.svg"' in page
        assert f'href="/census/snapshots/{snapshot.pk}/charts/{kind}.png"' in page


def test_the_release_page_draws_coverage_and_says_why_there_is_no_map(client_for: Any, census: Census) -> None:
    release = census.release
    page = _page(client_for(Role.CLAIMS_OFFICER), f"/census/releases/{release.pk}/")
    svgs = _inline_svgs(page)
    drawn = any(c[3] for c in release.cells["members_district_age_sex"] if c[0] == TOTAL and c[2] in "MF")
    intending = any(c[2] for c in release.cells["intentions_district_horizon"] if c[0] == TOTAL and c[1] != TOTAL)
    assert set(svgs) == {f"release-{release.pk}-coverage", *([f"release-{release.pk}-pyramid"] if drawn else []),
                         *([f"release-{release.pk}-intentions"] if intending else [])}  # fmt: skip
    if not drawn or not intending:
        assert "Nothing to draw: every count is zero or withheld." in page
    assert "This release publishes no table this chart is drawn from." in page  # settlements: not at district level
    coverage = svgs[f"release-{release.pk}-coverage"]
    registered = [
        r for r in coverage.iter(f"{SVG}rect") if r.get("fill") == "#1f5f99" and r.find(f"{SVG}title") is not None
    ]
    published = {c[0]: c[1] for c in release.cells["coverage_district"] if c[0] not in ("_T", "_U")}
    assert len(registered) == sum(1 for v in published.values() if v is not None)
