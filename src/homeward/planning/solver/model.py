"""The return-plan instance and the plan, as plain dataclasses.

Phases are numbered from 1 in files and messages and from 0 inside the solver. Phase ``p`` (0-based)
starts on ``start_date + p * phase_days``. Housing capacity is cumulative: ``housing[p]`` is the number
of persons a settlement can house by the end of phase ``p`` (it grows as reconstruction proceeds), so
every return uses a place for good. Seats are per route and phase, the budget per phase.

The value of a plan is the number of persons who return, each weighted by how early (a person moving
in phase ``p`` of ``P`` counts ``(P - p) / P``) and by the cohort's vulnerability (``1 + vulnerability
weight * share of vulnerable persons``), less ``split_penalty`` for every cohort split across two phases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def _(text: str) -> str:
    """Marks a message for translation; the interfaces translate it."""
    return text


COHORT_KINDS = ("community", "own", "elsewhere")

Households = tuple[tuple[int, int], ...]  # (household size, number of households), sizes ascending


def persons_in(households: Households) -> int:
    return sum(size * count for size, count in households)


def households_in(households: Households) -> int:
    return sum(count for _size, count in households)


class _HouseholdCounts:
    households: Households

    @property
    def persons(self) -> int:
        return persons_in(self.households)

    @property
    def household_count(self) -> int:
        return households_in(self.households)


@dataclass(frozen=True)
class Standards:
    """Per-person planning quantities (Sphere 2018 minimums by default) and unit costs."""

    shelter_m2_per_person: float = 3.5
    water_litres_per_person_day: float = 15.0
    food_kcal_per_person_day: float = 2100.0
    support_days: int = 180
    persons_per_toilet: int = 20
    persons_per_tap: int = 250
    nfi_kits_per_household: float = 1.0
    # What the budget pays, per person who returns: the seat, the return package and the cash grant.
    transport_cost_per_person: float = 0.0
    package_cost_per_person: float = 0.0
    cash_grant_per_person: float = 0.0
    currency: str = "USD"

    @property
    def cost_per_person(self) -> float:
        """Costs not given are 0: an instance without costs is not limited by its budget."""
        return self.transport_cost_per_person + self.package_cost_per_person + self.cash_grant_per_person


@dataclass(frozen=True)
class Route:
    id: str
    name: str
    seats: tuple[int, ...]


@dataclass(frozen=True)
class Settlement:
    id: str
    name: str
    district: str
    route: str
    safe_from: dt.date | None
    housing: tuple[int, ...]
    gate_note: str = ""


@dataclass(frozen=True)
class Cohort(_HouseholdCounts):
    """People who return together: a settlement's community, or households that chose their own way."""

    id: str
    settlement: str
    kind: str
    households: tuple[tuple[int, int], ...]  # (household size, number of households), sizes ascending
    vulnerable_persons: int = 0
    origin: str = ""


@dataclass(frozen=True)
class Instance:
    name: str
    start_date: dt.date
    phase_days: int
    phases: int
    routes: tuple[Route, ...]
    settlements: tuple[Settlement, ...]
    budget: tuple[float, ...]
    cohorts: tuple[Cohort, ...]
    standards: Standards = field(default_factory=Standards)
    vulnerability_weight: float = 1.0
    split_penalty: float = 1.0
    warnings: tuple[str, ...] = ()

    def phase_start(self, phase: int) -> dt.date:
        return self.start_date + dt.timedelta(days=self.phase_days * phase)

    def gate_phase(self, settlement: Settlement) -> int | None:
        """The first phase (0-based) in which the settlement may receive anyone; None if never in the plan."""
        if settlement.safe_from is None:
            return None
        for p in range(self.phases):
            if self.phase_start(p) >= settlement.safe_from:
                return p
        return None

    def earliness(self, phase: int) -> float:
        return (self.phases - phase) / self.phases

    def cohort_weight(self, cohort: Cohort) -> float:
        persons = cohort.persons
        share = cohort.vulnerable_persons / persons if persons else 0.0
        return 1.0 + self.vulnerability_weight * share

    def cost(self, persons: int) -> float:
        return persons * self.standards.cost_per_person


@dataclass(frozen=True)
class Move(_HouseholdCounts):
    """Part or all of a cohort moving in one phase."""

    cohort: str
    phase: int  # 0-based
    households: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Unplaced:
    cohort: str
    persons: int
    reason: str  # gate | housing | transport | budget | competition
    message: str  # in English; an interface translates ``template`` and fills in ``params``
    detail: dict[str, object] = field(default_factory=dict)
    template: str = ""
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class TracePoint:
    seconds: float
    objective: float
    bound: float | None
    event: str


@dataclass
class Plan:
    moves: list[Move]
    objective: float
    bound: float
    status: str  # optimal | feasible | empty
    method: str
    seconds: float
    unplaced: list[Unplaced] = field(default_factory=list)
    trace: list[TracePoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.objective) / abs(self.bound))


def plan_value(instance: Instance, moves: list[Move]) -> float:
    """The objective of a list of moves (the checker computes it again on its own)."""
    by_id = {c.id: c for c in instance.cohorts}
    total = 0.0
    parts: dict[str, int] = {}
    for move in moves:
        cohort = by_id[move.cohort]
        total += instance.cohort_weight(cohort) * instance.earliness(move.phase) * move.persons
        parts[move.cohort] = parts.get(move.cohort, 0) + 1
    splits = sum(1 for n in parts.values() if n > 1)
    return total - instance.split_penalty * splits
