"""Synthetic return-plan instances: settlements, districts, routes, gates, growing housing, seats and budgets.

The same arguments give the same instance. Sizes and shapes are chosen so that capacity binds (not everyone
can return in phase 1), some settlements open late or not at all, some communities are larger than their
settlement's housing, and a few households chose to go alone or elsewhere.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from homeward.planning.solver.model import Cohort, Instance, Route, Settlement, Standards

HOUSEHOLD_SIZES = np.arange(1, 9)
HOUSEHOLD_SHARES = np.array([0.08, 0.14, 0.18, 0.22, 0.18, 0.11, 0.06, 0.03])


def _households(rng: np.random.Generator, persons: int) -> tuple[tuple[int, int], ...]:
    """Households whose sizes add up to exactly ``persons``."""
    mean = float((HOUSEHOLD_SIZES * HOUSEHOLD_SHARES).sum())
    n = max(1, int(persons / mean))
    sizes = rng.choice(HOUSEHOLD_SIZES, size=n, p=HOUSEHOLD_SHARES)
    total = int(sizes.sum())
    while total > persons and len(sizes) > 1:  # drop households until at or under, then top up with one
        total -= int(sizes[-1])
        sizes = sizes[:-1]
    if total > persons:
        sizes = np.array([persons])
    elif total < persons:
        rest = persons - total
        while rest > 8:
            sizes = np.append(sizes, 8)
            rest -= 8
        if rest:
            sizes = np.append(sizes, rest)
    counts = np.bincount(sizes, minlength=41)
    return tuple((int(s), int(counts[s])) for s in range(1, 41) if counts[s])


def generate(
    *,
    settlements: int,
    persons: int,
    phases: int,
    seed: int,
    routes: int = 10,
    phase_days: int = 90,
    start_date: dt.date = dt.date(2027, 4, 1),
) -> Instance:
    if settlements < 1 or persons < 0 or phases < 1 or routes < 1 or phase_days < 1:
        raise ValueError("settlements, phases, routes and phase length must be at least 1, persons at least 0")
    rng = np.random.default_rng(seed)
    routes = min(routes, settlements)
    districts = max(1, -(-settlements // 25))
    district_route = [d % routes for d in range(districts)]
    weights = rng.lognormal(0.0, 1.0, settlements)
    demand = np.floor(weights / weights.sum() * persons).astype(np.int64)
    demand[: persons - int(demand.sum())] += 1
    settlement_district = np.sort(rng.integers(0, districts, settlements))

    cohorts: list[Cohort] = []
    destination_demand = np.zeros(settlements, dtype=np.int64)
    for s in range(settlements):
        total = int(demand[s])
        if total == 0:
            continue
        own = []
        if total > 40:
            for _k in range(int(rng.integers(0, 3))):
                own.append(int(rng.integers(1, 4)) * 4)
            if rng.random() < 0.2:
                own.append(-int(rng.integers(1, 5)) * 4)  # negative: goes elsewhere
        community = total - sum(abs(x) for x in own)
        parts = [("community", community, s), *(("own" if x > 0 else "elsewhere", abs(x), s) for x in own)]
        for n, (kind, size, origin) in enumerate(parts):
            if size <= 0:
                continue
            dest = origin
            if kind == "elsewhere":
                same = np.flatnonzero(settlement_district == settlement_district[origin])
                dest = int(rng.choice(same)) if len(same) > 1 else origin
            share = float(rng.uniform(0.08, 0.3))
            cohorts.append(
                Cohort(
                    id=f"C{s + 1:05d}-{n}",
                    settlement=f"S{dest + 1:05d}",
                    kind=kind,
                    households=_households(rng, size),
                    vulnerable_persons=int(rng.binomial(size, share)),
                    origin=f"S{origin + 1:05d}" if dest != origin else "",
                )
            )
            destination_demand[dest] += size

    start = start_date
    out_settlements: list[Settlement] = []
    for s in range(settlements):
        roll = rng.random()
        if roll < 0.6:
            safe_from: dt.date | None = start
        elif roll < 0.92:
            opening = int(rng.integers(1, max(2, phases // 2 + 1)))
            safe_from = start + dt.timedelta(days=phase_days * opening)
        else:
            safe_from = None
        d = int(destination_demand[s])
        first = rng.uniform(0.1, 0.4) * d
        # most settlements will house everyone who wants to return there; a few will not (reconstruction lags)
        last = (rng.uniform(1.0, 1.4) if rng.random() < 0.92 else rng.uniform(0.6, 0.95)) * d
        grow = np.linspace(first, last, phases) if phases > 1 else np.array([last])
        housing = tuple(int(x) for x in np.maximum.accumulate(np.floor(grow)))
        district = int(settlement_district[s])
        out_settlements.append(
            Settlement(
                id=f"S{s + 1:05d}",
                name=f"Settlement {s + 1}",
                district=f"D{district + 1:03d}",
                route=f"R{district_route[district] + 1:02d}",
                safe_from=safe_from,
                housing=housing,
                gate_note="" if safe_from is not None else "not yet assessed safe",
            )
        )

    route_demand = np.zeros(routes)
    for s, settlement in enumerate(out_settlements):
        route_demand[int(settlement.route[1:]) - 1] += destination_demand[s]
    ramp = np.minimum(1.0, 0.4 + np.arange(phases) / max(1, phases / 4))
    out_routes = []
    for r in range(routes):
        per_phase = route_demand[r] / phases * rng.uniform(1.0, 1.5)
        out_routes.append(
            Route(id=f"R{r + 1:02d}", name=f"Route {r + 1}", seats=tuple(int(x) for x in per_phase * ramp))
        )

    standards = Standards(transport_cost_per_person=60.0, package_cost_per_person=240.0, cash_grant_per_person=150.0)
    total_cost = persons * standards.cost_per_person
    budget = tuple(round(float(total_cost / phases * 1.1 * x), 2) for x in ramp)
    return Instance(
        name=f"synthetic: {settlements} settlements, {persons} persons, {phases} phases, seed {seed}",
        start_date=start,
        phase_days=phase_days,
        phases=phases,
        routes=tuple(out_routes),
        settlements=tuple(out_settlements),
        budget=budget,
        cohorts=tuple(cohorts),
        standards=standards,
    )
