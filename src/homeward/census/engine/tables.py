"""The census tables: definitions, and their computation from a snapshot with DuckDB over Arrow. No Django.

A snapshot is four Arrow tables (see ``snapshot.SCHEMAS``): persons, households, household members and
settlements, holding no names, only the attributes the tables count. Every table is a complete cube: each
dimension has a fixed list of categories (with ``_U`` for unknown, so no record is silently left out)
and a total ``_T``, and every combination is present, zeros included. Codes follow SDMX: ``_T`` total,
``_U`` unknown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product

import duckdb
import numpy as np
import pyarrow as pa

TOTAL = "_T"
UNKNOWN = "_U"
OTHER = "_O"  # categories too rare to name in a public release, together


def gettext_noop(message: str) -> str:
    """Marks a label for the translation catalogue (translated where it is shown)."""
    return message


@dataclass(frozen=True)
class Universe:
    code: str
    title: str
    definition: str


UNIVERSES = {
    u.code: u
    for u in (
        Universe(
            "members",
            gettext_noop("Registered members living on the reference date"),
            gettext_noop(
                "Persons (identities after record linkage) born on or before the reference date, or with no "
                "known birth date, and not known to have died by then. Persons whose processing is "
                "restricted at their request are not counted."
            ),
        ),
        Universe(
            "displaced",
            gettext_noop("Registered persons displaced themselves (generation 0), living or not"),
            gettext_noop(
                "Persons of generation 0, whether living or dead on the reference date: the registered part "
                "of the population that lived in the settlement before the displacement."
            ),
        ),
        Universe(
            "households",
            gettext_noop("Households with at least one registered member living on the reference date"),
            gettext_noop(
                "Households as the sources record them; size and composition count the members in the "
                "universe of living registered members."
            ),
        ),
        Universe(
            "adults",
            gettext_noop("Eligible registered adults living on the reference date"),
            gettext_noop(
                "Living registered members eligible for return, aged 18 or over on the reference date (or of "
                "unknown age): those who decide on their own return. Each is counted by their latest recorded "
                "return intention; withdrawn and never recorded intentions are their own categories."
            ),
        ),
        Universe(
            "intending",
            gettext_noop("Eligible registered adults who intend to return"),
            gettext_noop("Of the eligible adults above, those whose latest recorded intention is to return."),
        ),
        Universe(
            "conditions",
            gettext_noop("Conditions for return cited by eligible registered adults"),
            gettext_noop(
                "Of the eligible adults above, those whose latest recorded intention is to return, undecided or "
                "not to return: each is counted once for every condition for return they cite, and once as "
                "citing none if they cite none. A person citing several conditions is counted under each, so the "
                "totals count citations, not persons."
            ),
        ),
        Universe(
            "registrations",
            gettext_noop("Persons registered, by the month their first record arrived"),
            gettext_noop(
                "Every person in the snapshot, counted once, in the month the first of their source records "
                "was imported, and under that record's kind of source."
            ),
        ),
    )
}


@dataclass(frozen=True)
class Dimension:
    code: str
    title: str
    # The categories in order (without total and unknown), from the snapshot.
    categories: Callable[[Snapshot], list[str]]
    labels: Callable[[Snapshot], dict[str, str]] = lambda snapshot: {}
    unknown: bool = True


AGE_GROUPS = [f"{a}-{a + 4}" for a in range(0, 85, 5)] + ["85+"]
GENERATIONS = ["0", "1", "2", "3", "4+"]
SIZES = ["1", "2", "3", "4", "5", "6+"]
SOURCE_KINDS = ["registry", "archive", "survey", "portal", "other"]
INTENTIONS = ["intends_12_months", "intends_5_years", "intends_someday", "undecided", "does_not_intend", "withdrawn",
              "none"]  # fmt: skip
TOGETHER = ["community", "own", "elsewhere"]
# The conditions for return a person may cite (the registry's list), and "none" for a person citing none.
CONDITIONS = ["security", "housing", "services", "livelihoods", "property", "documents", "none"]


def _districts(s: Snapshot) -> list[str]:
    return sorted({d for d in s.settlements.column("district").to_pylist() if d})


def _district_labels(s: Snapshot) -> dict[str, str]:
    return {
        d: n
        for d, n in zip(
            s.settlements.column("district").to_pylist(), s.settlements.column("district_name").to_pylist(), strict=True
        )
        if d
    }


def _settlements(s: Snapshot) -> list[str]:
    return sorted(s.settlements.column("gid").to_pylist())


def _settlement_labels(s: Snapshot) -> dict[str, str]:
    return dict(zip(s.settlements.column("gid").to_pylist(), s.settlements.column("title").to_pylist(), strict=True))


def _countries(s: Snapshot) -> list[str]:
    return sorted({c for c in s.persons.column("country").to_pylist() if c})


def _months(s: Snapshot) -> list[str]:
    months = sorted({m for m in s.persons.column("registered").to_pylist() if m})
    if not months:
        return []
    year, month = int(months[0][:4]), int(months[0][5:7])
    out = []
    while (last := f"{year:04d}-{month:02d}") <= months[-1]:
        out.append(last)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _fixed(values: list[str]) -> Callable[[Snapshot], list[str]]:
    return lambda snapshot: list(values)


YES_NO = ["yes", "no"]
FOLDABLE = frozenset({"country"})
DIMENSIONS = {
    d.code: d
    for d in (
        Dimension("district", gettext_noop("Origin district"), _districts, _district_labels),
        Dimension("settlement", gettext_noop("Origin settlement"), _settlements, _settlement_labels),
        Dimension("generation", gettext_noop("Generation"), _fixed(GENERATIONS)),
        Dimension("sex", gettext_noop("Sex"), _fixed(["F", "M", "X"])),
        Dimension("age", gettext_noop("Age group"), _fixed(AGE_GROUPS)),
        Dimension("country", gettext_noop("Country of residence"), _countries),
        Dimension("eligible", gettext_noop("Eligible for return"), _fixed(YES_NO), unknown=False),
        Dimension("size", gettext_noop("Household size"), _fixed(SIZES), unknown=False),
        Dimension("head_sex", gettext_noop("Sex of the household head"), _fixed(["F", "M", "X"])),
        Dimension("with_under5", gettext_noop("With a child under 5"), _fixed(YES_NO), unknown=False),
        Dimension("with_65plus", gettext_noop("With a person aged 65 or over"), _fixed(YES_NO), unknown=False),
        Dimension("month", gettext_noop("Month of registration"), _months),
        Dimension("source_kind", gettext_noop("Kind of source"), _fixed(SOURCE_KINDS)),
        Dimension("intention", gettext_noop("Return intention and horizon"), _fixed(INTENTIONS)),
        Dimension("together", gettext_noop("Returning with"), _fixed(TOGETHER)),
        Dimension("condition", gettext_noop("Condition for return cited"), _fixed(CONDITIONS)),
    )
}


@dataclass(frozen=True)
class TableDef:
    code: str
    title: str
    universe: str
    dims: tuple[str, ...]
    # The finest geography the table shows: a public release leaves out tables below the allowed level.
    geography: str = ""
    # Gazetteer population figures shown beside the counts (coverage).
    with_population: bool = False


TABLES = [
    TableDef("members_district_generation_sex",
             gettext_noop("Registered members by origin district, generation and sex"),
             "members", ("district", "generation", "sex"), geography="district"),
    TableDef("members_district_age_sex",
             gettext_noop("Registered members by origin district, age group and sex"),
             "members", ("district", "age", "sex"), geography="district"),
    TableDef("members_settlement_generation_sex",
             gettext_noop("Registered members by origin settlement, generation and sex"),
             "members", ("settlement", "generation", "sex"), geography="settlement"),
    TableDef("members_settlement_age",
             gettext_noop("Registered members by origin settlement and age group"),
             "members", ("settlement", "age"), geography="settlement"),
    TableDef("members_age_sex_generation",
             gettext_noop("Registered members by age group, sex and generation"),
             "members", ("age", "sex", "generation")),
    TableDef("members_country_generation",
             gettext_noop("Registered members by country of residence and generation"),
             "members", ("country", "generation")),
    TableDef("members_eligibility_generation",
             gettext_noop("Registered members by eligibility for return and generation"),
             "members", ("eligible", "generation")),
    TableDef("households_size_head_sex",
             gettext_noop("Households by size and sex of the head"),
             "households", ("size", "head_sex")),
    TableDef("households_composition",
             gettext_noop("Households by composition: female head, children under 5, persons aged 65 or over"),
             "households", ("head_sex", "with_under5", "with_65plus")),
    TableDef("coverage_district",
             gettext_noop(
                 "Coverage: registered displaced persons against the pre-displacement population, by district"
             ),
             "displaced", ("district",), geography="district", with_population=True),
    TableDef("coverage_settlement",
             gettext_noop(
                 "Coverage: registered displaced persons against the pre-displacement population, by settlement"
             ),
             "displaced", ("settlement",), geography="settlement", with_population=True),
    TableDef("intentions_district_horizon",
             gettext_noop("Return intentions of eligible adults by origin district and horizon"),
             "adults", ("district", "intention"), geography="district"),
    TableDef("intentions_generation",
             gettext_noop("Return intentions of eligible adults by generation"),
             "adults", ("intention", "generation")),
    TableDef("intentions_district_together",
             gettext_noop("Eligible adults who intend to return, by origin district and with whom"),
             "intending", ("district", "together"), geography="district"),
    TableDef("intentions_district_condition",
             gettext_noop("Conditions for return cited by eligible adults, by origin district"),
             "conditions", ("district", "condition"), geography="district"),
    TableDef("intentions_condition_horizon",
             gettext_noop("Conditions for return cited by eligible adults, by return intention and horizon"),
             "conditions", ("condition", "intention")),
    TableDef("registrations_month_source",
             gettext_noop("Registrations by month and kind of source"),
             "registrations", ("month", "source_kind")),
]  # fmt: skip
TABLE_BY_CODE = {t.code: t for t in TABLES}
GEOGRAPHY_LEVELS = ("district", "settlement")


class UnknownTableError(ValueError):
    pass


@dataclass
class Snapshot:
    persons: pa.Table
    households: pa.Table
    members: pa.Table
    settlements: pa.Table
    reference_date: dt.date


@dataclass
class CountTable:
    """A complete cube of counts: ``values`` has one axis per dimension, the total last on each."""

    definition: TableDef
    categories: list[list[str]]  # per dimension, without the total
    values: np.ndarray
    labels: list[dict[str, str]] = field(default_factory=list)
    population: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    # For a table that counts citations (a person counted once per condition cited): the distinct persons
    # behind each cell, so disclosure control can withhold a cell that stands for too few people.
    persons: np.ndarray | None = None

    @property
    def code(self) -> str:
        return self.definition.code

    def axis(self, i: int) -> list[str]:
        return [*self.categories[i], TOTAL]

    def cells(self) -> list[tuple[tuple[str, ...], int]]:
        """Every cell as (categories, count), in a fixed order: categories as listed, the total last."""
        axes = [self.axis(i) for i in range(len(self.categories))]
        return [(key, int(v)) for key, v in zip(product(*axes), self.values.ravel().tolist(), strict=True)]


def _person_view(con: duckdb.DuckDBPyConnection, ref: dt.date) -> None:
    """Derived columns for every person (living on the reference date, age group, generation, origin), worked
    out once into a table that every cube then reads."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE p AS
        WITH base AS (
            SELECT pr.*,
                   TRY_CAST(substr(pr.birth, 1, 4) AS INTEGER) AS b_y,
                   CASE WHEN length(pr.birth) >= 7 THEN CAST(substr(pr.birth, 6, 2) AS INTEGER) END AS b_m,
                   CASE WHEN length(pr.birth) >= 10 THEN CAST(substr(pr.birth, 9, 2) AS INTEGER) END AS b_d,
                   -- The last day the recorded death can be: a death known to the year is dated 31 December.
                   CASE WHEN pr.death IS NULL THEN NULL
                        WHEN length(pr.death) = 4 THEN pr.death || '-12-31'
                        WHEN length(pr.death) = 7 THEN strftime(last_day(CAST(pr.death || '-01' AS DATE)), '%Y-%m-%d')
                        ELSE pr.death END AS death_latest,
                   CASE WHEN pr.birth IS NULL THEN NULL
                        ELSE pr.birth || substr('-01-01', length(pr.birth) - 3) END AS birth_earliest,
                   s.gid AS settlement_gid, s.district AS district_code
            FROM persons pr LEFT JOIN settlements s ON s.sid = pr.settlement
        ), aged AS (
            SELECT *,
                   -- Born by the reference date (a partial date's earliest day) is at least 0 years old.
                   CASE WHEN b_y IS NULL THEN NULL
                        WHEN birth_earliest <= '{ref.isoformat()}' THEN greatest(0, {ref.year} - b_y
                             - CASE WHEN (COALESCE(b_m, 7), COALESCE(b_d, 1)) > ({ref.month}, {ref.day})
                                    THEN 1 ELSE 0 END)
                        ELSE {ref.year} - b_y
                             - CASE WHEN (COALESCE(b_m, 7), COALESCE(b_d, 1)) > ({ref.month}, {ref.day})
                                    THEN 1 ELSE 0 END
                   END AS age_years
            FROM base
        )
        SELECT pid,
               (birth_earliest IS NULL OR birth_earliest <= '{ref.isoformat()}')
               AND (death_latest IS NULL OR death_latest > '{ref.isoformat()}') AS living,
               age_years,
               CASE WHEN age_years IS NULL OR age_years < 0 THEN '{UNKNOWN}'
                    WHEN age_years >= 85 THEN '85+'
                    ELSE CAST(age_years // 5 * 5 AS VARCHAR) || '-' || CAST(age_years // 5 * 5 + 4 AS VARCHAR)
               END AS age,
               CASE WHEN generation IS NULL OR generation < 0 THEN '{UNKNOWN}'
                    WHEN generation >= 4 THEN '4+' ELSE CAST(generation AS VARCHAR) END AS generation,
               generation AS generation_number,
               CASE WHEN sex IN ('F', 'M', 'X') THEN sex ELSE '{UNKNOWN}' END AS sex,
               COALESCE(district_code, '{UNKNOWN}') AS district,
               COALESCE(settlement_gid, '{UNKNOWN}') AS settlement,
               CASE WHEN country IS NULL OR country = '' THEN '{UNKNOWN}' ELSE country END AS country,
               CASE WHEN eligible THEN 'yes' ELSE 'no' END AS eligible,
               COALESCE(registered, '{UNKNOWN}') AS month,
               CASE WHEN source_kind IN ({", ".join(f"'{k}'" for k in SOURCE_KINDS)}) THEN source_kind
                    ELSE 'other' END AS source_kind,
               CASE WHEN intention IS NULL THEN 'none'
                    WHEN intention = 'intends' AND horizon IN ('12_months', '5_years', 'someday')
                         THEN 'intends_' || horizon
                    WHEN intention IN ('undecided', 'does_not_intend', 'withdrawn') THEN intention
                    ELSE '{UNKNOWN}' END AS intention,
               CASE WHEN together IN ('community', 'own', 'elsewhere') THEN together ELSE '{UNKNOWN}' END AS together,
               conditions
        FROM aged
        """  # noqa: S608 (numbers and fixed codes only)
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE h AS
        WITH m AS (
            SELECT hm.hid, p.pid, p.age_years FROM household_members hm JOIN p ON p.pid = hm.pid WHERE p.living
        ), agg AS (
            SELECT hid, count(*) AS n,
                   bool_or(age_years IS NOT NULL AND age_years BETWEEN 0 AND 4) AS under5,
                   bool_or(age_years IS NOT NULL AND age_years >= 65) AS over65
            FROM m GROUP BY hid
        )
        SELECT agg.hid,
               CASE WHEN n >= 6 THEN '6+' ELSE CAST(n AS VARCHAR) END AS size,
               CASE WHEN head.living AND head.sex <> '{UNKNOWN}' THEN head.sex ELSE '{UNKNOWN}' END AS head_sex,
               CASE WHEN under5 THEN 'yes' ELSE 'no' END AS with_under5,
               CASE WHEN over65 THEN 'yes' ELSE 'no' END AS with_65plus
        FROM agg JOIN households hh ON hh.hid = agg.hid
        LEFT JOIN p AS head ON head.pid = hh.head
        """  # noqa: S608
    )


UNIVERSE_SQL = {
    "members": "SELECT * FROM p WHERE living",
    "displaced": "SELECT * FROM p WHERE generation_number = 0",
    "households": "SELECT * FROM h",
    "registrations": "SELECT * FROM p",
    # One row per condition cited (a code outside the list counts as unknown), or one "none" row.
    # Null conditions: not known (a snapshot from before conditions were kept), counted as unknown.
    "conditions": "SELECT * EXCLUDE (conditions), unnest(CASE WHEN conditions IS NULL THEN ['_U'] "
    "WHEN trim(conditions) = '' THEN ['none'] ELSE string_split(conditions, ',') END) AS condition "
    "FROM p WHERE living AND eligible = 'yes' "
    "AND (age_years IS NULL OR age_years >= 18) "
    "AND intention NOT IN ('none', 'withdrawn')",
    "adults": "SELECT * FROM p WHERE living AND eligible = 'yes' AND (age_years IS NULL OR age_years >= 18)",
    "intending": "SELECT * FROM p WHERE living AND eligible = 'yes' AND (age_years IS NULL OR age_years >= 18) "
    "AND intention LIKE 'intends_%'",
}


# Universes that count citations, not persons: each cell also knows its distinct persons.
CITATION_UNIVERSES = frozenset({"conditions"})


def _with_intentions(persons: pa.Table) -> pa.Table:
    """The persons table with the intention columns, null where a snapshot predates them."""
    for column in ("intention", "horizon", "together", "conditions"):
        if column not in persons.column_names:
            persons = persons.append_column(column, pa.nulls(persons.num_rows, pa.string()))
    return persons


def compute_tables(
    snapshot: Snapshot, codes: Sequence[str] | None = None, *, threads: int | None = None, fold_below: int | None = None
) -> list[CountTable]:
    """Every table (or those named), each a complete cube, from one snapshot. With ``fold_below``, the
    categories that come from the data (countries of residence) are named only when at least that many
    persons have them; the others count together as ``_O``, so a public code list does not tell that a
    handful of members live in some country."""
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.register("persons", _with_intentions(snapshot.persons))
        con.register("households", snapshot.households)
        con.register("household_members", snapshot.members)
        con.register("settlements", snapshot.settlements)
        _person_view(con, snapshot.reference_date)
        unknown = [c for c in codes or () if c not in TABLE_BY_CODE]
        if unknown:
            raise UnknownTableError(f"no such census table: {', '.join(unknown)} (tables: {', '.join(TABLE_BY_CODE)})")
        wanted = [TABLE_BY_CODE[c] for c in codes] if codes else TABLES
        return [_cube(con, snapshot, t, fold_below) for t in wanted]
    finally:
        con.close()


def _cube(con: duckdb.DuckDBPyConnection, snapshot: Snapshot, table: TableDef, fold_below: int | None) -> CountTable:
    dims = [DIMENSIONS[d] for d in table.dims]
    categories = []
    for d in dims:
        named = d.categories(snapshot)
        if fold_below and d.code in FOLDABLE:
            counts = Counter(snapshot.persons.column(d.code).to_pylist())
            named = [c for c in named if counts[c] >= fold_below] + [OTHER]
        categories.append([*named, *([UNKNOWN] if d.unknown else [])])
    index = [{c: i for i, c in enumerate(cats)} for cats in categories]
    shape = tuple(len(c) + 1 for c in categories)
    values = np.zeros(shape, dtype=np.int64)
    cols = ", ".join(table.dims)
    groupings = ", ".join(f"GROUPING({d})" for d in table.dims)
    citations = table.universe in CITATION_UNIVERSES
    persons = np.zeros(shape, dtype=np.int64) if citations else None
    rows = con.execute(
        f"SELECT {cols}, {groupings}, count(*){', count(DISTINCT pid)' if citations else ''} "  # noqa: S608
        f"FROM ({UNIVERSE_SQL[table.universe]}) GROUP BY CUBE ({cols})"
    ).fetchall()
    k = len(table.dims)
    for found in rows:
        row, distinct = (found[:-1], found[-1]) if persons is not None else (found, 0)
        where = []
        for i in range(k):
            if row[k + i]:
                where.append(shape[i] - 1)
            else:
                position = index[i].get(row[i])
                if position is None:  # a folded category, or a value outside the list: counted, never lost
                    position = index[i].get(OTHER, index[i].get(UNKNOWN))
                if position is None:
                    raise ValueError(f"{table.code}: {table.dims[i]} {row[i]!r} is not one of its categories")
                where.append(position)
        values[tuple(where)] += row[-1]
        if persons is not None:
            persons[tuple(where)] += distinct
    labels = [d.labels(snapshot) for d in dims]
    population: dict[str, tuple[int | None, int | None]] = {}
    if table.with_population:
        population = _population(snapshot, table.dims[0], categories[0])
    return CountTable(table, categories, values, labels, population, persons)


def _population(snapshot: Snapshot, dim: str, categories: list[str]) -> dict[str, tuple[int | None, int | None]]:
    """The gazetteer's pre-displacement population per category (and the latest year it refers to). A
    district's (and the total's) is the sum over its settlements only when every one of them has a figure:
    otherwise there is none, as the registered count covers all of them."""
    s = snapshot.settlements
    gids, districts = s.column("gid").to_pylist(), s.column("district").to_pylist()
    pops, years = s.column("population").to_pylist(), s.column("population_year").to_pylist()
    groups: dict[str, list[tuple[int | None, int | None]]] = {}
    for gid, district, pop, year in zip(gids, districts, pops, years, strict=True):
        key = gid if dim == "settlement" else (district or UNKNOWN)
        groups.setdefault(key, []).append((pop, year))
        groups.setdefault(TOTAL, []).append((pop, year))

    def summed(figures: list[tuple[int | None, int | None]]) -> tuple[int | None, int | None]:
        if not figures or any(pop is None for pop, _ in figures):
            return (None, None)
        return (sum(pop or 0 for pop, _ in figures), max(year or 0 for _, year in figures) or None)

    return {c: summed(groups.get(c, [])) for c in [*categories, TOTAL]}
