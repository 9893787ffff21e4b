"""What a plan needs, phase by phase and route by route, from the per-person standards; and its cohesion."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from homeward.planning.solver.model import Instance, Move


def resources(instance: Instance, moves: list[Move]) -> list[dict[str, Any]]:
    """One row per phase and route: people, households, seats, shelter, water, food, kits, toilets, taps, cost.

    Water and food cover the support period (``support_days``) after arrival. Costs are per person.
    """
    std = instance.standards
    cohorts = {c.id: c for c in instance.cohorts}
    route_of = {s.id: s.route for s in instance.settlements}
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for move in moves:
        route = route_of[cohorts[move.cohort].settlement]
        row = rows.setdefault(
            (move.phase, route),
            {
                "phase": move.phase + 1,
                "start": instance.phase_start(move.phase).isoformat(),
                "route": route,
                "persons": 0,
                "households": 0,
                "settlements": set(),
            },
        )
        row["persons"] += move.persons
        row["households"] += move.household_count
        row["settlements"].add(cohorts[move.cohort].settlement)
    out = []
    for key in sorted(rows):
        row = rows[key]
        persons, households = row["persons"], row["households"]
        out.append(
            {
                "phase": row["phase"],
                "start": row["start"],
                "route": row["route"],
                "settlements": len(row["settlements"]),
                "persons": persons,
                "households": households,
                "seats": persons,
                "shelter_m2": round(persons * std.shelter_m2_per_person, 1),
                "shelter_units": households,
                "water_litres": round(persons * std.water_litres_per_person_day * std.support_days),
                "food_kcal": round(persons * std.food_kcal_per_person_day * std.support_days),
                "nfi_kits": math.ceil(households * std.nfi_kits_per_household),
                "toilets": math.ceil(persons / std.persons_per_toilet),
                "water_taps": math.ceil(persons / std.persons_per_tap),
                "transport_cost": round(persons * std.transport_cost_per_person, 2),
                "package_cost": round(persons * std.package_cost_per_person, 2),
                "cash_grants": round(persons * std.cash_grant_per_person, 2),
                "cost": round(persons * std.cost_per_person, 2),
            }
        )
    return out


def cohesion(instance: Instance, moves: list[Move]) -> dict[str, Any]:
    """Per settlement, the share of its returning households that move in the same phase (the most common one)."""
    cohorts = {c.id: c for c in instance.cohorts}
    by_settlement: dict[str, Counter[int]] = defaultdict(Counter)
    for move in moves:
        by_settlement[cohorts[move.cohort].settlement][move.phase] += move.household_count
    together = 0
    total = 0
    settlements = {}
    for sid, phases in sorted(by_settlement.items()):
        most = max(phases.values())
        count = sum(phases.values())
        settlements[sid] = round(most / count, 4)
        together += most
        total += count
    return {"overall": round(together / total, 4) if total else None, "settlements": settlements}
