"""Find a return plan: a greedy plan at once, then the LP bound, LP-guided plans and local improvement, and on
small instances the exact MILP. Every plan reported is feasible; the bound is proven (LP or MILP dual bound)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from homeward.planning.solver import heuristic, programs
from homeward.planning.solver.arrays import Problem
from homeward.planning.solver.model import Instance, Move, Plan, TracePoint, Unplaced, _, plan_value

# MILP is tried when the model has at most this many integer columns (cohorts x phases x household sizes)
EXACT_LIMIT = 40_000
METHODS = ("auto", "heuristic", "exact")

Step = Callable[[str, float], None]


def _moves(pb: Problem, state_parts: dict[int, list[heuristic.Part]]) -> list[Move]:
    return [
        Move(pb.cohorts[c].id, p, households) for c, parts in sorted(state_parts.items()) for p, households in parts
    ]


def _integer_columns(pb: Problem) -> int:
    total = 0
    for c, cohort in enumerate(pb.cohorts):
        open_phases = max(0, pb.phases - int(pb.c_gate[c]))
        total += open_phases * (2 + len(cohort.households))
    return total


def explain(pb: Problem, state: heuristic.State) -> list[Unplaced]:
    """Why each cohort left out could not be placed: the constraint that blocks it alone, or the competition."""
    out: list[Unplaced] = []
    inst = pb.instance
    P = pb.phases
    for c, cohort in enumerate(pb.cohorts):
        if c in state.parts:
            continue
        s, r = int(pb.c_settlement[c]), int(pb.c_route[c])
        settlement = inst.settlements[s]
        route = inst.routes[r]
        n = int(pb.c_persons[c])
        gate = int(pb.c_gate[c])
        detail: dict[str, object] = {"settlement": settlement.id, "route": route.id}
        if gate >= P:
            reason = "gate"
            if settlement.safe_from is None:
                message = _("%(settlement)s is not assessed safe, so it receives no one in this plan") % {
                    "settlement": settlement.name
                }
            else:
                message = _("%(settlement)s is assessed safe only from %(date)s, after the plan's last phase") % {
                    "settlement": settlement.name,
                    "date": settlement.safe_from.isoformat(),
                }
                detail["safe_from"] = settlement.safe_from.isoformat()
        elif n > pb.cap[s, -1]:
            reason = "housing"
            detail["places"] = int(pb.cap[s, -1])
            message = _(
                "the cohort has %(persons)d persons and %(settlement)s will have only %(places)d places by the end "
                "of the plan"
            ) % {"persons": n, "settlement": settlement.name, "places": int(pb.cap[s, -1])}
        elif (
            max(
                [pb.seats[r, p] for p in range(gate, P)]
                + [pb.seats[r, p] + pb.seats[r, p + 1] for p in range(gate, P - 1)]
            )
            < n
        ):
            reason = "transport"
            seats = int(max(pb.seats[r, gate:]))
            detail["seats"] = seats
            message = _(
                "the cohort has %(persons)d persons and %(route)s has at most %(seats)d seats in a phase; even split "
                "over two phases it does not fit"
            ) % {"persons": n, "route": route.name, "seats": seats}
        elif (
            max([pb.budget[p] for p in range(gate, P)] + [pb.budget[p] + pb.budget[p + 1] for p in range(gate, P - 1)])
            + pb.money_eps
            < pb.c_cost[c]
        ):
            reason = "budget"
            detail["cost"] = round(float(pb.c_cost[c]), 2)
            message = _("moving the cohort costs %(cost).2f %(currency)s, more than the budget of any two phases") % {
                "cost": float(pb.c_cost[c]),
                "currency": inst.standards.currency,
            }
        else:
            reason = "competition"
            short = {"housing": 0, "transport": 0, "budget": 0}
            slack = pb.cap[s] - state.used[s]
            suffix = np.minimum.accumulate(slack[::-1])[::-1]
            for p in range(gate, P):
                if suffix[p] < n:
                    short["housing"] += 1
                if pb.seats[r, p] - state.seats_used[r, p] < n:
                    short["transport"] += 1
                if pb.budget[p] - state.spent[p] + pb.money_eps < pb.c_cost[c]:
                    short["budget"] += 1
            detail.update({f"phases_short_of_{k}": v for k, v in short.items()})
            message = _(
                "room for it is taken by cohorts of higher priority: of the %(open)d phases open to it, housing at "
                "%(settlement)s is short in %(housing)d, seats on %(route)s in %(transport)d and the budget in "
                "%(budget)d"
            ) % {"open": P - gate, "settlement": settlement.name, "route": route.name, **short}
        out.append(Unplaced(cohort.id, n, reason, message, detail))
    return out


def solve(
    instance: Instance, *, time_limit: float = 60.0, method: str = "auto", target_gap: float = 1e-6,
    step: Step | None = None,
) -> Plan:  # fmt: skip
    """The best plan found within the time limit, with its proven bound and every cohort left out explained."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    started = time.perf_counter()
    deadline = started + max(0.1, time_limit)
    report = step or (lambda _message, _done: None)
    trace: list[TracePoint] = []
    warnings = list(instance.warnings)

    def elapsed() -> float:
        return time.perf_counter() - started

    pb = Problem(instance)
    if not instance.cohorts or pb.c_persons.sum() == 0:
        warnings.append(_("there is no one to plan for: no eligible person intends to return in this instance"))
        return Plan([], 0.0, 0.0, "empty", method, elapsed(), [], [], warnings)

    report(_("first plan"), 0.02)
    priority = heuristic.priority_order(pb)
    best = heuristic.greedy(pb, priority)
    used_method = "greedy"
    trace.append(TracePoint(elapsed(), best.value, None, "greedy"))
    phase_by_phase = heuristic.sweep(pb, priority)
    if phase_by_phase.value > best.value + 1e-9:
        best, used_method = phase_by_phase, "sweep"
    trace.append(TracePoint(elapsed(), best.value, None, "sweep"))
    bound = float((pb.c_weight * pb.c_persons).sum())  # everyone in phase 1: a trivial bound
    status = "feasible"

    def consider(candidate: heuristic.State, event: str) -> None:
        nonlocal best, used_method
        if candidate.value > best.value + 1e-9:
            best = candidate
            used_method = event
        trace.append(TracePoint(elapsed(), best.value, bound, event))

    if method in ("auto", "heuristic") and time.perf_counter() < deadline:
        report(_("bound from the LP relaxation"), 0.1)
        relaxed = programs.relaxation(pb, deadline - time.perf_counter())
        if relaxed is not None:
            bound = min(bound, relaxed.bound)
            trace.append(TracePoint(elapsed(), best.value, bound, "lp bound"))
            report(_("plans guided by the LP"), 0.5)
            reached = np.cumsum(relaxed.x, axis=1) >= 0.3
            first = np.where(reached, np.arange(pb.phases)[None, :], pb.phases).min(axis=1)
            order = np.lexsort((-pb.c_weight, first))
            for name, build in (("lp-guided sweep", heuristic.sweep), ("lp-guided greedy", heuristic.greedy)):
                if time.perf_counter() >= deadline:
                    break
                consider(build(pb, order), name)
        if time.perf_counter() < deadline and best.value < bound * (1 - target_gap):
            report(_("improving the plan"), 0.7)
            candidate = heuristic.improve(best.copy(), priority, deadline=deadline)
            consider(candidate, "local search")

    gap = (bound - best.value) / bound if bound > 0 else 0.0
    if method == "exact" or (
        method == "auto" and gap > target_gap and time.perf_counter() < deadline and _integer_columns(pb) <= EXACT_LIMIT
    ):
        report(_("exact MILP"), 0.8)
        result = programs.exact(pb, deadline - time.perf_counter(), start=best.parts)
        if result is not None:
            candidate = heuristic.State(pb)
            for c, parts in result.parts.items():
                candidate.place(c, parts)
            bound = min(bound, result.bound)
            consider(candidate, "milp")
            if result.optimal and best.value >= bound - 1e-6 * max(1.0, abs(bound)):
                status = "optimal"
    if best.value >= bound - 1e-9 * max(1.0, abs(bound)):
        status = "optimal"
        bound = max(bound, best.value)
    report(_("explaining who could not be placed"), 0.95)
    moves = _moves(pb, best.parts)
    objective = plan_value(instance, moves)
    unplaced = explain(pb, best)
    report(_("done"), 1.0)
    return Plan(moves, objective, max(bound, objective), status, used_method, elapsed(), unplaced, trace, warnings)
