"""Cohorts and a plan instance derived from a census snapshot: pure Python, no Django.

A snapshot holds the registry's identities after linkage, pseudonymous and frozen. From it, each origin
settlement's community becomes one cohort: the households with an eligible living member from there, with
every living member of the household (a household moves together), counted by household size. Nothing
here reads a name, and nothing leaves but counts per settlement.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from homeward.planning.solver.files import INSTANCE_FORMAT, MAX_HOUSEHOLD_SIZE, VERSION
from homeward.planning.solver.model import Standards

# Specific needs that put a household first (UNHCR's age groups with specific needs): young children and older
# persons. The registry holds no disability data yet.
CHILD_UNDER = 5
OLDER_FROM = 60


ADULT_AGE = 18
KINDS = ("community", "own", "elsewhere")  # a household's choice, in the order ties are settled
BASES = ("eligible", "intentions")


@dataclass
class Community:
    """Households that return together: to ``settlement``, from ``origin``, as ``kind`` (with their
    community, on their own, or elsewhere); {household size: count} and the vulnerable persons."""

    settlement: int  # the snapshot's settlement id
    kind: str = "community"
    origin: int = 0
    sizes: Counter[int] = field(default_factory=Counter)
    vulnerable: int = 0

    @property
    def persons(self) -> int:
        return sum(size * n for size, n in self.sizes.items())

    @property
    def households(self) -> int:
        return sum(self.sizes.values())


@dataclass
class Derived:
    communities: dict[tuple[int, str, int], Community]
    persons: int = 0
    households: int = 0
    eligible_without_origin: int = 0  # eligible living persons whose origin settlement is unknown
    households_too_large: int = 0  # more members than one household can have in a plan
    decisions: Counter[str] = field(default_factory=Counter)  # eligible living adults by latest intention
    children_alone: int = 0  # intending nobody: minors of no household with an adult who returns


def _year(value: Any) -> int | None:
    try:
        return int(str(value)[:4]) if value else None
    except ValueError:
        return None


def _age(birth: Any, on: dt.date) -> int | None:
    """Completed years on ``on`` from a partial date: the day and month count when known; a date known only
    to the year counts as if the birthday has passed."""
    year = _year(birth)
    if year is None:
        return None
    text = str(birth)
    try:
        month = int(text[5:7]) if len(text) >= 7 else None
        day = int(text[8:10]) if len(text) >= 10 else None
    except ValueError:
        month = day = None
    before_birthday = month is not None and (on.month, on.day) < (month, day or 1)
    return on.year - year - (1 if before_birthday else 0)


def _column(table: Any, name: str) -> list[Any]:
    return table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows


def _most_common(values: list[Any], order: tuple[Any, ...] = ()) -> Any:
    counts = Counter(values)
    rank = {v: i for i, v in enumerate(order)}
    return min(counts, key=lambda v: (-counts[v], rank.get(v, len(rank)), str(v)))


def communities_from(persons: Any, members: Any, households: Any, *, on: dt.date, basis: str = "eligible") -> Derived:
    """The returning households from a snapshot's persons, members and households tables (pyarrow), on
    ``basis``. ``on`` is the day ages are counted at (the plan's start).

    ``eligible``: every household with an eligible living member of known origin returns whole, with its
    community. ``intentions``: a household returns when one of its eligible adults of known origin intends
    to; it takes its adults who intend to return and its children, and goes the way most of those adults
    chose (with the community, on their own, or to another settlement)."""
    if basis not in BASES:
        raise ValueError(f"basis: one of {', '.join(BASES)}")
    pid = persons.column("pid").to_pylist()
    eligible = persons.column("eligible").to_pylist()
    death = persons.column("death").to_pylist()
    origin = persons.column("settlement").to_pylist()
    birth = persons.column("birth").to_pylist()
    decision = _column(persons, "intention")
    together = _column(persons, "together")
    destination = _column(persons, "destination")
    row = {p: i for i, p in enumerate(pid)}
    living = [d is None for d in death]
    ages = [_age(b, on) for b in birth]

    def vulnerable(i: int) -> bool:
        age = ages[i]
        return age is not None and (0 <= age < CHILD_UNDER or age >= OLDER_FROM)

    def adult(i: int) -> bool:
        return ages[i] is None or ages[i] >= ADULT_AGE  # type: ignore[operator]

    def intends(i: int) -> bool:
        return adult(i) and decision[i] == "intends"

    def deciding(i: int) -> bool:  # whose choice can take a household back
        if not (eligible[i] and origin[i] is not None):
            return False
        return basis == "eligible" or intends(i)

    heads = dict(zip(households.column("hid").to_pylist(), households.column("head").to_pylist(), strict=True))
    living_in: dict[int, list[int]] = {}
    for hid, p in sorted(zip(members.column("hid").to_pylist(), members.column("pid").to_pylist(), strict=True)):
        i = row.get(p)
        if i is not None and living[i] and i not in living_in.get(hid, []):
            living_in.setdefault(hid, []).append(i)
    # A person in more than one household is counted once: in the first that returns, or else in the first.
    returning = {hid for hid, people in living_in.items() if any(deciding(i) for i in people)}
    members_of: dict[int, list[int]] = {}
    placed: set[int] = set()
    for wanted in (True, False):
        for hid, people in sorted(living_in.items()):
            if (hid in returning) != wanted:
                continue
            for i in people:
                if i not in placed:
                    placed.add(i)
                    members_of.setdefault(hid, []).append(i)
    derived = Derived(communities={})
    for i in range(len(pid)):
        if living[i] and eligible[i] and adult(i):
            derived.decisions[decision[i] or "none"] += 1

    def add(people: list[int], deciders: list[int], head: int | None) -> None:
        if len(people) > MAX_HOUSEHOLD_SIZE:
            derived.households_too_large += 1
            return
        home = origin[head] if head is not None and head in deciders else _most_common([origin[i] for i in deciders])
        kind = "community"
        settlement = home
        if basis == "intentions":
            kind = _most_common([together[i] or "community" for i in people if intends(i)], KINDS)
            if kind == "elsewhere":
                settlement = _most_common([destination[i] for i in people if intends(i) and destination[i]])
        key = (settlement, kind, home)
        community = derived.communities.setdefault(key, Community(settlement, kind, home))
        community.sizes[len(people)] += 1
        community.vulnerable += sum(1 for i in people if vulnerable(i))
        derived.persons += len(people)
        derived.households += 1

    for hid, people in sorted(members_of.items()):
        deciders = [i for i in people if deciding(i)]
        if not deciders:
            derived.eligible_without_origin += sum(1 for i in people if eligible[i] and origin[i] is None)
            continue
        going = people if basis == "eligible" else [i for i in people if intends(i) or not adult(i)]
        add(going, deciders, row.get(heads.get(hid)))
    for i in range(len(pid)):
        if i in placed or not living[i] or not eligible[i]:
            continue
        if origin[i] is None:
            derived.eligible_without_origin += 1
        elif deciding(i):
            add([i], [i], i)  # a person of no recorded household returns as a household of one
        elif basis == "intentions" and not adult(i):
            derived.children_alone += 1
    return derived


@dataclass(frozen=True)
class Parameters:
    """What a planner sets when a scenario is made; the rest comes from the registry and the gazetteer."""

    name: str
    start_date: dt.date
    phase_days: int
    phases: int
    seats_per_route: int = 2000
    budget_per_phase: float = 0.0
    housing_start_percent: float = 20.0  # of the pre-displacement population, housed by the end of phase 1
    housing_step_percent: float = 10.0  # more each phase, up to the whole pre-displacement population
    vulnerability_weight: float = 1.0
    split_penalty: float = 1.0
    standards: Standards = field(default_factory=Standards)


@dataclass(frozen=True)
class Place:
    """A settlement of the gazetteer as the plan needs it."""

    gid: str
    name: str
    district: str
    district_name: str
    population: int | None
    safe_from: dt.date | None
    gate_note: str


def housing_schedule(population: int | None, p: Parameters) -> list[int]:
    """Places ready by the end of each phase: a share of the pre-displacement population that grows each phase
    as reconstruction proceeds, never above the whole. No figure: no places known (the planner sets them)."""
    if not population:
        return [0] * p.phases
    out = []
    for phase in range(p.phases):
        share = min(100.0, max(0.0, p.housing_start_percent + p.housing_step_percent * phase))
        out.append(int(population * share // 100))
    return out


NO_DISTRICT = "_none"


def _cohort_id(gid: str, kind: str, origin_gid: str) -> str:
    return f"{gid}/{kind}" if kind != "elsewhere" else f"{gid}/from/{origin_gid}"


def instance_from(derived: Derived, places: dict[int, Place], p: Parameters) -> tuple[dict[str, Any], list[str]]:
    """The plan instance (the file format of docs/planning.md): a settlement for every destination and origin
    of a returning household, a cohort for each way households return, and the names of the settlements
    without a population figure (no housing is known there)."""
    cohorts: list[dict[str, Any]] = []
    used: set[int] = set()
    for key in sorted(derived.communities, key=lambda k: (places[k[0]].gid if k[0] in places else "", k[1],
                                                          places[k[2]].gid if k[2] in places else "")):  # fmt: skip
        community = derived.communities[key]
        place, home = places.get(community.settlement), places.get(community.origin)
        if place is None or home is None:
            continue
        used |= {community.settlement, community.origin}
        cohort: dict[str, Any] = {
            "id": _cohort_id(place.gid, community.kind, home.gid), "settlement": place.gid, "kind": community.kind,
            "households": {str(size): n for size, n in sorted(community.sizes.items())},
            "vulnerable_persons": community.vulnerable,
        }  # fmt: skip
        if community.kind == "elsewhere":
            cohort["origin"] = home.gid
        cohorts.append(cohort)
    settlements: list[dict[str, Any]] = []
    routes: dict[str, str] = {}
    no_figure: list[str] = []
    for sid in sorted(used, key=lambda s: places[s].gid):
        place = places[sid]
        route = place.district or NO_DISTRICT
        routes.setdefault(route, place.district_name or place.district or "—")
        if not place.population:
            no_figure.append(place.name)
        settlements.append({
            "id": place.gid, "name": place.name, "district": place.district or NO_DISTRICT, "route": route,
            "safe_from": place.safe_from.isoformat() if place.safe_from else None, "gate_note": place.gate_note,
            "housing": housing_schedule(place.population, p),
        })  # fmt: skip
    instance = {
        "format": INSTANCE_FORMAT, "version": VERSION, "name": p.name, "start_date": p.start_date.isoformat(),
        "phase_days": p.phase_days, "phases": p.phases,
        "weights": {"vulnerability": p.vulnerability_weight, "split_penalty": p.split_penalty},
        "standards": {k: getattr(p.standards, k) for k in Standards.__dataclass_fields__},
        "budget": [p.budget_per_phase] * p.phases,
        "routes": [{"id": rid, "name": name, "seats": [p.seats_per_route] * p.phases}
                   for rid, name in sorted(routes.items())],
        "settlements": settlements,
        "cohorts": cohorts,
    }  # fmt: skip
    return instance, sorted(no_figure)
