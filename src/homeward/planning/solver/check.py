"""An independent check of a plan against its instance: every cohort, every constraint, and the objective.

It shares no code with the solver beyond the instance and move dataclasses: capacities, gates and the value
are recomputed here from the instance's own fields, in plain Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from homeward.planning.solver.model import Instance, Move

RELATIVE_TOLERANCE = 1e-6


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    objective: float = 0.0
    persons: int = 0
    cohorts_moved: int = 0
    splits: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors


def check(instance: Instance, moves: list[Move], *, reported_objective: float | None = None) -> CheckResult:
    out = CheckResult()
    P = instance.phases
    cohorts = {c.id: c for c in instance.cohorts}
    settlements = {s.id: s for s in instance.settlements}
    routes = {r.id: r for r in instance.routes}
    by_cohort: dict[str, list[Move]] = defaultdict(list)
    for move in moves:
        by_cohort[move.cohort].append(move)

    arrivals: dict[str, list[int]] = defaultdict(lambda: [0] * P)
    seats: dict[str, list[int]] = defaultdict(lambda: [0] * P)
    spent = [0.0] * P
    value = 0.0
    for cid, parts in sorted(by_cohort.items()):
        cohort = cohorts.get(cid)
        if cohort is None:
            out.errors.append(f"cohort {cid}: not in the instance")
            continue
        settlement = settlements[cohort.settlement]
        parts.sort(key=lambda m: m.phase)
        phases = [m.phase for m in parts]
        if len(parts) > 2:
            out.errors.append(
                f"cohort {cid}: moves in {len(parts)} phases; a cohort moves in one phase or two adjacent ones"
            )
        elif len(parts) == 2 and phases[1] != phases[0] + 1:
            out.errors.append(
                f"cohort {cid}: split over phases {phases[0] + 1} and {phases[1] + 1}, which are not adjacent"
            )
        together: dict[int, int] = defaultdict(int)
        for move in parts:
            for size, n in move.households:
                together[size] += n
        expected = dict(cohort.households)
        if dict(together) != expected:
            out.errors.append(
                f"cohort {cid}: the households moved {dict(sorted(together.items()))} are not the cohort's "
                f"households {expected}; a cohort moves whole (households are never divided or left behind)"
            )
        for move in parts:
            if not 0 <= move.phase < P:
                out.errors.append(f"cohort {cid}: phase {move.phase + 1} is outside the plan (1 to {P})")
                continue
            start = instance.start_date + dt.timedelta(days=instance.phase_days * move.phase)
            if settlement.safe_from is None:
                out.errors.append(f"cohort {cid}: {settlement.id} is not assessed safe and may receive no one")
            elif start < settlement.safe_from:
                out.errors.append(
                    f"cohort {cid}: moves in phase {move.phase + 1} (from {start}) but {settlement.id} is assessed "
                    f"safe only from {settlement.safe_from}"
                )
            persons = sum(size * n for size, n in move.households)
            arrivals[settlement.id][move.phase] += persons
            seats[settlement.route][move.phase] += persons
            spent[move.phase] += persons * instance.standards.cost_per_person
            persons_total = sum(size * n for size, n in cohort.households)
            share = cohort.vulnerable_persons / persons_total if persons_total else 0.0
            value += (1 + instance.vulnerability_weight * share) * (P - move.phase) / P * persons
            out.persons += persons
        out.cohorts_moved += 1
        if len(parts) > 1:
            out.splits += 1
            value -= instance.split_penalty
    for sid, per_phase in sorted(arrivals.items()):
        housing = settlements[sid].housing
        total = 0
        for p in range(P):
            total += per_phase[p]
            if total > housing[p]:
                out.errors.append(
                    f"settlement {sid}: {total} persons housed by the end of phase {p + 1}, but it has only "
                    f"{housing[p]} places then"
                )
                break
    for rid, per_phase in sorted(seats.items()):
        for p in range(P):
            if per_phase[p] > routes[rid].seats[p]:
                out.errors.append(
                    f"route {rid}: {per_phase[p]} persons travel in phase {p + 1}, "
                    f"but it has {routes[rid].seats[p]} seats"
                )
    for p in range(P):
        if spent[p] > instance.budget[p] * (1 + RELATIVE_TOLERANCE) + RELATIVE_TOLERANCE:
            out.errors.append(
                f"budget: phase {p + 1} costs {spent[p]:.2f} {instance.standards.currency}, more than its budget "
                f"of {instance.budget[p]:.2f}"
            )
    out.objective = value
    if reported_objective is not None and abs(reported_objective - value) > RELATIVE_TOLERANCE * max(1.0, abs(value)):
        out.errors.append(f"objective: the solution reports {reported_objective:.6f}, the moves are worth {value:.6f}")
    return out
