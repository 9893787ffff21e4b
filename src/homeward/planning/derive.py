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


@dataclass
class Community:
    """One origin settlement's returning households: {household size: count} and the vulnerable persons."""

    settlement: int  # the snapshot's settlement id
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
    communities: dict[int, Community]
    persons: int = 0
    households: int = 0
    eligible_without_origin: int = 0  # eligible living persons whose origin settlement is unknown
    households_too_large: int = 0  # more members than one household can have in a plan


def _year(value: Any) -> int | None:
    try:
        return int(str(value)[:4]) if value else None
    except ValueError:
        return None


def communities_from(persons: Any, members: Any, households: Any, *, on: dt.date) -> Derived:
    """The returning households of each origin settlement, from a snapshot's persons, members and households
    tables (pyarrow). ``on`` is the day ages are counted at (the plan's start)."""
    pid = persons.column("pid").to_pylist()
    eligible = persons.column("eligible").to_pylist()
    death = persons.column("death").to_pylist()
    origin = persons.column("settlement").to_pylist()
    birth = persons.column("birth").to_pylist()
    row = {p: i for i, p in enumerate(pid)}
    living = [d is None for d in death]

    def vulnerable(i: int) -> bool:
        year = _year(birth[i])
        return year is not None and (0 <= on.year - year < CHILD_UNDER or on.year - year >= OLDER_FROM)

    heads = dict(zip(households.column("hid").to_pylist(), households.column("head").to_pylist(), strict=True))
    members_of: dict[int, list[int]] = {}
    placed: set[int] = set()
    # A person in more than one household is counted once, in the first.
    for hid, p in sorted(zip(members.column("hid").to_pylist(), members.column("pid").to_pylist(), strict=True)):
        i = row.get(p)
        if i is None or i in placed or not living[i]:
            continue
        placed.add(i)
        members_of.setdefault(hid, []).append(i)
    derived = Derived(communities={})

    def add(settlement: int, people: list[int]) -> None:
        if len(people) > MAX_HOUSEHOLD_SIZE:
            derived.households_too_large += 1
            return
        community = derived.communities.setdefault(settlement, Community(settlement))
        community.sizes[len(people)] += 1
        community.vulnerable += sum(1 for i in people if vulnerable(i))
        derived.persons += len(people)
        derived.households += 1

    for hid, people in sorted(members_of.items()):
        from_here = [origin[i] for i in people if eligible[i] and origin[i] is not None]
        if not from_here:
            derived.eligible_without_origin += sum(1 for i in people if eligible[i])
            continue
        head = row.get(heads.get(hid))
        if head is not None and head in people and eligible[head] and origin[head] is not None:
            settlement = origin[head]
        else:
            counts = Counter(from_here)
            settlement = min(counts, key=lambda s: (-counts[s], s))
        add(settlement, people)
    for i in range(len(pid)):
        if i in placed or not living[i] or not eligible[i]:
            continue
        if origin[i] is None:
            derived.eligible_without_origin += 1
            continue
        add(origin[i], [i])  # a person of no recorded household returns as a household of one
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


def instance_from(derived: Derived, places: dict[int, Place], p: Parameters) -> tuple[dict[str, Any], list[str]]:
    """The plan instance (the file format of docs/planning.md) for every origin settlement with a returning
    community, and the names of those without a population figure (no housing is known there)."""
    settlements: list[dict[str, Any]] = []
    cohorts: list[dict[str, Any]] = []
    routes: dict[str, str] = {}
    no_figure: list[str] = []
    for sid in sorted(derived.communities, key=lambda s: places[s].gid if s in places else str(s)):
        community = derived.communities[sid]
        place = places.get(sid)
        if place is None:
            continue
        route = place.district or NO_DISTRICT
        routes.setdefault(route, place.district_name or place.district or "—")
        if not place.population:
            no_figure.append(place.name)
        settlements.append({
            "id": place.gid, "name": place.name, "district": place.district or NO_DISTRICT, "route": route,
            "safe_from": place.safe_from.isoformat() if place.safe_from else None, "gate_note": place.gate_note,
            "housing": housing_schedule(place.population, p),
        })  # fmt: skip
        cohorts.append({
            "id": f"{place.gid}/community", "settlement": place.gid, "kind": "community",
            "households": {str(size): n for size, n in sorted(community.sizes.items())},
            "vulnerable_persons": community.vulnerable,
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
