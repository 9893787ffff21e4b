"""The census engine on its own: tables against counts made independently from a synthetic community's truth,
snapshots and outputs byte for byte, and disclosure control attacked by linear programming."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
from collections import Counter
from itertools import product
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pytest

from homeward.census.engine import outputs as out
from homeward.census.engine import snapshot as snap
from homeward.census.engine.disclosure import PRIMARY, PUBLISHED, SECONDARY, Protected, Rules, RulesError, protect
from homeward.census.engine.tables import (
    GENERATIONS,
    TABLE_BY_CODE,
    TOTAL,
    UNKNOWN,
    CountTable,
    Snapshot,
    compute_tables,
)
from homeward.synth.community import write_community
from homeward.synth.gazetteer import generate
from tests.census.attack import recover

pytestmark = pytest.mark.database_free

REFERENCE = dt.date(2024, 1, 1)
GAZETTEER = generate(settlements=300)
DISTRICT = {p.gid: p.historical_admin_unit or p.admin_unit for p in GAZETTEER.places}


def settlements_table() -> pa.Table:
    places = sorted(GAZETTEER.places, key=lambda p: p.gid)
    return pa.table({
        "sid": list(range(1, len(places) + 1)),
        "gid": [p.gid for p in places],
        "title": [p.title for p in places],
        "district": [DISTRICT[p.gid] for p in places],
        "district_name": [DISTRICT[p.gid] for p in places],
        "population": [100 + 7 * i for i in range(len(places))],
        "population_year": [1987] * len(places),
    })  # fmt: skip


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    paths = write_community(tmp_path_factory.mktemp("census-community"), records=6_000, seed=8)
    with open(paths["persons"], encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def snapshot_of(people: list[dict[str, str]]) -> Snapshot:
    """The true people as a snapshot: the dead are given a death year before the reference date."""
    sid = {gid: i for i, gid in enumerate(sorted(DISTRICT), start=1)}
    return Snapshot(
        persons=pa.table(
            {
                "pid": list(range(1, len(people) + 1)),
                "sex": [p["sex"] or None for p in people],
                "birth": [p["birth_year"] or None for p in people],
                "death": [None if p["alive"] == "1" else "2000" for p in people],
                "generation": [int(p["generation"]) if p["generation"] else None for p in people],
                "eligible": [p["generation"] != "" for p in people],
                "settlement": [sid.get(p["origin_settlement"]) for p in people],
                "country": [p["current_country"] or None for p in people],
                "registered": ["2025-03"] * len(people),
                "source_kind": ["registry"] * len(people),
            }
        ),
        households=pa.table({"hid": pa.array([], pa.int64()), "head": pa.array([], pa.int64())}),
        members=pa.table({"hid": pa.array([], pa.int64()), "pid": pa.array([], pa.int64())}),
        settlements=settlements_table(),
        reference_date=REFERENCE,
    )


def age_group(birth_year: str) -> str:
    """Independently of the engine: a year-only birth date counts as 1 July of that year."""
    if not birth_year:
        return UNKNOWN
    if int(birth_year) > REFERENCE.year:
        return UNKNOWN
    # Born by the reference date: at least 0 years old.
    age = max(0, REFERENCE.year - int(birth_year) - (1 if (REFERENCE.month, REFERENCE.day) < (7, 1) else 0))
    return "85+" if age >= 85 else f"{age // 5 * 5}-{age // 5 * 5 + 4}"


def generation(p: dict[str, str]) -> str:
    g = p["generation"]
    return UNKNOWN if g == "" else "4+" if int(g) >= 4 else g


def cube(table, counts: Counter) -> dict[tuple[str, ...], int]:
    """The expected value of every cell, totals included, from counts of the innermost cells."""
    axes = [table.axis(i) for i in range(len(table.categories))]
    expected = {}
    for key in product(*axes):
        expected[key] = sum(
            n for inner, n in counts.items() if all(k in (TOTAL, v) for k, v in zip(key, inner, strict=True))
        )
    return expected


def test_tables_match_counts_made_from_the_truth(truth: list[dict[str, str]]) -> None:
    tables = {t.code: t for t in compute_tables(snapshot_of(truth))}
    living = [p for p in truth if p["alive"] == "1"]
    origin = {p["person_id"]: p["origin_settlement"] for p in truth}
    district = {pid: DISTRICT.get(gid, UNKNOWN) if gid else UNKNOWN for pid, gid in origin.items()}
    expectations = {
        "members_district_generation_sex": Counter(
            (district[p["person_id"]], generation(p), p["sex"] or UNKNOWN) for p in living
        ),
        "members_district_age_sex": Counter(
            (district[p["person_id"]], age_group(p["birth_year"]), p["sex"] or UNKNOWN) for p in living
        ),
        "members_settlement_age": Counter(
            (p["origin_settlement"] or UNKNOWN, age_group(p["birth_year"])) for p in living
        ),
        "members_country_generation": Counter((p["current_country"] or UNKNOWN, generation(p)) for p in living),
        "members_age_sex_generation": Counter(
            (age_group(p["birth_year"]), p["sex"] or UNKNOWN, generation(p)) for p in living
        ),
        "coverage_settlement": Counter((p["origin_settlement"],) for p in truth if p["generation"] == "0"),
    }
    for code, counts in expectations.items():
        table = tables[code]
        got = dict(table.cells())
        assert got == cube(table, counts), code
    # Everyone living is counted once, whatever is unknown about them.
    assert tables["members_district_age_sex"].values.ravel()[-1] == len(living)
    assert tables["coverage_district"].values[-1] == sum(1 for p in truth if p["generation"] == "0")
    # The population beside the coverage counts: a district's is the sum of its settlements'.
    pops = tables["coverage_district"].population
    first = sorted(set(DISTRICT.values()))[0]
    settlements = settlements_table().to_pylist()
    assert pops[first][0] == sum(s["population"] for s in settlements if s["district"] == first)


def test_unknown_and_odd_values_are_counted_as_unknown_never_dropped() -> None:
    people = [
        {"sex": "", "birth_year": "", "alive": "1", "generation": "", "origin_settlement": "", "current_country": ""},
        {"sex": "M", "birth_year": "2030", "alive": "1", "generation": "7", "origin_settlement": "hw:settlement:00002",
         "current_country": "DE"},
        {"sex": "F", "birth_year": "1950", "alive": "0", "generation": "0", "origin_settlement": "hw:settlement:00002",
         "current_country": "AZ"},
    ]  # fmt: skip
    state = snapshot_of(people)
    persons = state.persons.to_pydict()
    persons["sex"][1] = "Q"  # not a code the census knows
    persons["birth"][1] = None
    state.persons = pa.table(persons, schema=state.persons.schema)
    tables = {t.code: t for t in compute_tables(state)}
    members = tables["members_district_generation_sex"]
    cells = dict(members.cells())
    assert cells[(TOTAL, TOTAL, TOTAL)] == 2  # the dead are not members on the reference date
    assert cells[(UNKNOWN, UNKNOWN, UNKNOWN)] == 1
    assert cells[(DISTRICT["hw:settlement:00002"], "4+", UNKNOWN)] == 1
    assert dict(tables["coverage_district"].cells())[(TOTAL,)] == 1  # the displaced count living or dead


def test_empty_snapshot_gives_complete_tables_of_zeros() -> None:
    tables = compute_tables(snapshot_of([]))
    assert all(int(t.values.sum()) == 0 for t in tables)
    assert all(t.values.size > 1 for t in tables if t.code != "registrations_month_source")
    protected, _ = protect(tables, Rules())
    assert all((p.status == PUBLISHED).all() for p in protected)


def test_snapshot_bytes_depend_only_on_the_content(truth: list[dict[str, str]]) -> None:
    state = snapshot_of(truth)
    raw = snap.to_bytes(state)
    shuffled = list(range(state.persons.num_rows))
    random.Random(3).shuffle(shuffled)
    again = Snapshot(state.persons.take(shuffled), state.households, state.members, state.settlements,
                     state.reference_date)  # fmt: skip
    assert snap.to_bytes(again) == raw
    back = snap.from_bytes(raw)
    assert back.reference_date == REFERENCE
    assert back.persons.equals(snap.normalise("persons", state.persons))
    other = snapshot_of(truth[:-1])
    assert snap.content_hash(snap.to_bytes(other)) != snap.content_hash(raw)
    with pytest.raises(snap.SnapshotError):
        snap.from_bytes(b"\x00\x00\x00\x02{}")
    with pytest.raises(snap.SnapshotError):
        snap.from_bytes(raw[: len(raw) // 2])


def test_outputs_are_byte_identical_on_every_run(truth: list[dict[str, str]], tmp_path: Path) -> None:
    meta = out.Meta("ab" * 32, REFERENCE.isoformat(), True, 10, 5)
    written = {}
    for run in ("one", "two"):
        tables = compute_tables(snapshot_of(truth))
        protected, _ = protect(tables, Rules())
        outputs = [out.Output(p.table, p) for p in protected]
        for fmt in out.FORMATS:
            for path in out.write(outputs, meta, fmt, tmp_path / run):
                written.setdefault(path.name, []).append(path.read_bytes())
    assert set(written) == {"census-public.csv", "census-public-codelists.csv", "census-public.json",
                            "census-public.xlsx"}  # fmt: skip
    for name, (first, second) in written.items():
        assert first == second, name
    rows = list(csv.DictReader(io.StringIO(written["census-public.csv"][0].decode())))
    assert {r["OBS_STATUS"] for r in rows} >= {"A", "C"}
    assert all(r["OBS_VALUE"] == "" for r in rows if r["OBS_STATUS"] != "A")
    assert all(int(r["OBS_VALUE"]) % 5 == 0 for r in rows if r["OBS_VALUE"])
    doc = json.loads(written["census-public.json"][0])
    assert doc["disclosure_control"] == {"threshold": 10, "rounding": 5}
    book = openpyxl.load_workbook(io.BytesIO(written["census-public.xlsx"][0]))
    assert "members_district_age_sex" in book.sheetnames


def width(bounds: tuple[float, float]) -> int:
    """How many whole values the attacker cannot tell apart, less one."""
    return math.floor(bounds[1] + 1e-6) - math.ceil(bounds[0] - 1e-6)


def sparse_population(people: int, seed: int) -> Snapshot:
    """Persons spread thinly: many counts below 10 in the district tables."""
    rng = np.random.default_rng(seed)
    gids = sorted(DISTRICT)
    sid = {gid: i for i, gid in enumerate(gids, start=1)}
    return Snapshot(
        persons=pa.table(
            {
                "pid": np.arange(1, people + 1),
                "sex": rng.choice(["F", "M"], people),
                "birth": [str(y) for y in rng.integers(1925, 2023, people)],
                "death": [None] * people,
                "generation": rng.integers(0, 5, people).astype("int16"),
                "eligible": rng.random(people) < 0.7,
                "settlement": [sid[gids[i]] for i in rng.integers(0, len(gids), people)],
                "country": rng.choice(
                    ["AZ", "RU", "TR", "GE", "KZ", "US"], people, p=[0.5, 0.3, 0.1, 0.05, 0.03, 0.02]
                ),
                "registered": [f"2025-{m:02d}" for m in rng.integers(1, 13, people)],
                "source_kind": rng.choice(["registry", "portal"], people),
            }
        ),
        households=pa.table({"hid": np.arange(1, people // 4 + 1), "head": np.arange(1, people // 4 + 1) * 4}),
        members=pa.table({"hid": np.arange(people) // 4 + 1, "pid": np.arange(1, people + 1)}),
        settlements=settlements_table(),
        reference_date=REFERENCE,
    )


@pytest.mark.parametrize(("people", "seed"), [(2_500, 1), (3_500, 2)])
def test_withheld_counts_cannot_be_recovered_from_the_published_tables(people: int, seed: int) -> None:
    tables = compute_tables(sparse_population(people, seed))
    rules = Rules(threshold=10, rounding=5)
    protected, audit = protect(tables, rules)
    by_code = {p.table.code: p for p in protected}
    primary = sum(int((p.status == PRIMARY).sum()) for p in protected if not p.withheld)
    secondary = sum(int((p.status == SECONDARY).sum()) for p in protected if not p.withheld)
    assert primary > 10, "the population should need both kinds of suppression"
    assert secondary > 0
    for p in protected:
        small = (p.table.values > 0) & (p.table.values < 10)
        assert (p.published[small] == -1).all(), p.table.code  # no small count is published
        assert (p.published[p.table.values == 0] <= 0).all()  # zeros are shown (or withheld as partners)
        shown = p.published[p.published >= 0]
        assert (shown % 5 == 0).all()
    ranges = recover(protected)
    assert len(ranges) == primary
    assert {key: r for key, r in ranges.items() if width(r) < rules.threshold} == {}
    # The district tables are published, the thin settlement tables withheld whole.
    assert not by_code["members_district_generation_sex"].withheld
    assert audit.certified + audit.linear_programs > 0


def test_primary_suppression_alone_is_recovered_by_the_attack() -> None:
    """The attack finds a count when only the small ones are withheld: it is a real attack."""
    inner = np.array([[20, 3, 30, 15, 12, 11], [25, 40, 12, 18, 22, 30]])
    values = np.zeros((3, 7), dtype=np.int64)
    values[:2, :6] = inner
    values[2, :6] = inner.sum(axis=0)
    values[:, 6] = values[:, :6].sum(axis=1)
    t = CountTable(TABLE_BY_CODE["members_eligibility_generation"], [["yes", "no"], [*GENERATIONS, UNKNOWN]], values)
    small = (values > 0) & (values < 10)
    naive = Protected(t, np.where(small, -1, values), np.where(small, PRIMARY, PUBLISHED))
    assert recover([naive], rounding=1) == {("members_eligibility_generation", ("yes", "1")): (3.0, 3.0)}
    protected, _ = protect([t], Rules())
    assert width(recover(protected)[("members_eligibility_generation", ("yes", "1"))]) >= 10


def test_settlement_tables_published_with_districts_resist_recovery_across_the_hierarchy() -> None:
    """Settlement counts add up to their district's: the attack uses that, and still fails."""
    state = sparse_population(8_000, 5)
    tables = compute_tables(state, ["coverage_settlement", "coverage_district"])
    parents = {gid: DISTRICT[gid] for gid in DISTRICT}
    protected, _ = protect(tables, Rules(threshold=3, rounding=1), parents=parents)
    assert not any(p.withheld for p in protected)
    assert sum(int((p.status == PRIMARY).sum()) for p in protected) > 10
    ranges = recover(protected, parents, threshold=3, rounding=1)
    assert {k: r for k, r in ranges.items() if width(r) < 3} == {}
    # Without the district relation the attacker would know less: the same tables, attacked without it,
    # leave every range at least as wide.
    loose = recover(protected, None, threshold=3, rounding=1)
    assert all(width(loose[k]) >= width(r) for k, r in ranges.items())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"threshold": 0}, "threshold"), ({"rounding": -5}, "rounding"), ({"threshold": "ten"}, "threshold"),
     ({"threshold": True}, "threshold"), ({"protection": -1}, "protection")],
)  # fmt: skip
def test_rules_refuse_values_that_make_no_sense(kwargs: dict, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        Rules(**kwargs)


def test_a_table_mostly_of_small_counts_is_withheld_whole() -> None:
    tables = compute_tables(sparse_population(2_500, 1), ["members_settlement_age"])
    (p,), _ = protect(tables, Rules())
    assert p.withheld
    assert (p.published == -1).all()


def test_partial_dates_count_from_the_day_they_are_sure() -> None:
    """Ages and deaths at the reference date (1 January 2024) from partial dates."""
    people = [
        {"sex": "F", "birth_year": "", "alive": "1", "generation": "1", "origin_settlement": "", "current_country": ""}
        for _ in range(5)
    ]
    state = snapshot_of(people)
    persons = state.persons.to_pydict()
    persons["birth"] = ["2023-12-15", "2024", "1959-01-01", "1959-01-02", "1950"]
    persons["death"] = [None, None, None, "2024", "2023-12"]  # dead in 2024 may be after 1 January
    state.persons = snap.normalise("persons", pa.table(persons))
    cells = dict(compute_tables(state, ["members_district_age_sex"])[0].cells())
    age = {g: cells[(TOTAL, g, TOTAL)] for g in ("0-4", "60-64", "65-69", "70-74")}
    # Born in December 2023 and in 2024 (not after 1 January): both 0-4. Born 1 January 1959: 65 that day;
    # born 2 January 1959: still 64, and alive (a death in 2024 may come later). Died in December 2023: gone.
    assert age == {"0-4": 2, "60-64": 1, "65-69": 1, "70-74": 0}
    assert cells[(TOTAL, TOTAL, TOTAL)] == 4


def test_intention_tables_count_eligible_adults_by_their_latest_intention(truth: list[dict[str, str]]) -> None:
    state = snapshot_of(truth)
    persons = state.persons.to_pydict()
    n = len(persons["pid"])
    rng = random.Random(11)
    choices = [None, ("intends", "12_months", "community"), ("intends", "5_years", "own"),
               ("intends", "someday", "elsewhere"), ("undecided", None, None), ("does_not_intend", None, None),
               ("withdrawn", None, None)]  # fmt: skip
    given = [rng.choice(choices) for _ in range(n)]
    persons["intention"] = [g[0] if g else None for g in given]
    persons["horizon"] = [g[1] if g else None for g in given]
    persons["together"] = [g[2] if g else None for g in given]
    # Conditions cited: none, some from the list, or a code the list does not know (counted as unknown).
    listed = ["security", "housing", "services", "livelihoods", "property", "documents"]
    cited = [sorted(rng.sample(listed, rng.randint(0, 3))) + (["rumour"] if rng.random() < 0.02 else [])
             for _ in range(n)]  # fmt: skip
    persons["conditions"] = [",".join(c) for c in cited]  # "" for none cited
    state.persons = snap.normalise("persons", pa.table(persons))
    tables = {t.code: t for t in compute_tables(state, ["intentions_district_horizon", "intentions_district_together",
                                                        "intentions_generation", "intentions_district_condition",
                                                        "intentions_condition_horizon"])}  # fmt: skip
    # Independently: living, eligible, 18 or over on the reference date (a year-only birth counts as 1 July).
    before_july = (REFERENCE.month, REFERENCE.day) < (7, 1)
    adults = [
        i for i, p in enumerate(truth)
        if p["alive"] == "1" and p["generation"] != ""
        and (not p["birth_year"] or REFERENCE.year - int(p["birth_year"]) - before_july >= 18)
    ]  # fmt: skip

    def code(g: tuple[str, str | None, str | None] | None) -> str:
        return "none" if g is None else (f"intends_{g[1]}" if g[0] == "intends" else g[0])

    expected = Counter(code(given[i]) for i in adults)
    got = tables["intentions_district_horizon"]
    totals = {c: int(got.values[(-1, k)]) for k, c in enumerate(got.categories[1])}
    assert {c: v for c, v in totals.items() if v} == dict(expected)
    together = tables["intentions_district_together"]
    expected_together = Counter(given[i][2] for i in adults if given[i] and given[i][0] == "intends")
    assert {
        c: int(together.values[(-1, k)]) for k, c in enumerate(together.categories[1]) if together.values[(-1, k)]
    } == dict(expected_together)
    assert tables["intentions_generation"].values[-1, -1] == len(adults)
    # Conditions: every citation of an adult who gave a decision (withdrawn and none recorded left out).
    deciding = [i for i in adults if given[i] and given[i][0] != "withdrawn"]
    citations = Counter(
        (c if c in [*listed, "none"] else UNKNOWN, code(given[i])) for i in deciding for c in (cited[i] or ["none"])
    )
    by_horizon = tables["intentions_condition_horizon"]
    got_citations = {(c, h): int(by_horizon.values[(a, b)]) for a, c in enumerate(by_horizon.categories[0])
                     for b, h in enumerate(by_horizon.categories[1]) if by_horizon.values[(a, b)]}  # fmt: skip
    assert got_citations == dict(citations)
    assert citations[(UNKNOWN, "intends_12_months")] + citations[(UNKNOWN, "undecided")] > 0
    by_district = tables["intentions_district_condition"]
    assert by_district.values[-1, -1] == sum(citations.values()) > len(deciding)
    none = by_district.categories[1].index("none")
    assert by_district.values[-1, none] == sum(1 for i in deciding if not cited[i])
    # Each cell also knows the distinct persons behind its citations: all deciding adults in the total.
    assert by_district.persons is not None
    assert by_district.persons[-1, -1] == len(deciding)
    assert (by_district.persons <= by_district.values).all()
    security = by_district.categories[1].index("security")
    assert by_district.persons[-1, security] == by_district.values[-1, security]  # one citation per person
    assert tables["intentions_district_horizon"].persons is None  # a table of persons needs no second count
    # A snapshot from before conditions were kept (null): the deciding adults count as unknown, not "none".
    persons["conditions"] = [None] * n
    state.persons = snap.normalise("persons", pa.table(persons))
    (old,) = compute_tables(state, ["intentions_district_condition"])
    assert old.values[-1, old.categories[1].index(UNKNOWN)] == old.values[-1, -1] == len(deciding)


def test_a_citation_count_that_stands_for_too_few_persons_is_withheld() -> None:
    """Nine persons citing six conditions each make 54 citations: still nine persons, so withheld."""
    definition = TABLE_BY_CODE["intentions_district_condition"]
    conditions = ["security", "housing", "services", "livelihoods", "property", "documents", "none", UNKNOWN]
    values = np.zeros((3, len(conditions) + 1), dtype=np.int64)
    persons = np.zeros_like(values)
    values[0, :6] = persons[0, :6] = 9  # district d1: nine persons, each citing the six conditions
    values[0, -1], persons[0, -1] = 54, 9
    values[1, :6] = persons[1, :6] = 40  # district d2: forty persons, each citing the six conditions
    values[1, -1], persons[1, -1] = 240, 40
    values[2] = values[0] + values[1]
    persons[2] = persons[0] + persons[1]
    table = CountTable(definition, [["d1", "d2"], conditions], values, persons=persons)
    (plain,), _ = protect([CountTable(definition, [["d1", "d2"], conditions], values)], Rules())
    assert plain.status[0, -1] == PUBLISHED  # counted as citations alone, d1's 54 would be published
    (protected,), _ = protect([table], Rules())
    assert protected.status[0, -1] == PRIMARY
    assert protected.published[0, -1] == -1
    assert (protected.published[0][values[0] > 0] == -1).all()  # and every d1 count (zeros are shown)
    assert protected.status[1, 0] in (PUBLISHED, SECONDARY)
