"""Find a return plan: a greedy plan at once, then the LP bound, LP-guided plans and local improvement, and on
small instances the exact MILP. Every plan reported is feasible; the bound is proven (LP or MILP dual bound)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np

from homeward.planning.solver import heuristic, lagrange, programs
from homeward.planning.solver.arrays import Problem
from homeward.planning.solver.model import Instance, Move, Plan, TracePoint, Unplaced, _, plan_value

# MILP is tried when the model has at most this many integer columns (cohorts x phases x household sizes)
EXACT_LIMIT = 3_000
METHODS = ("auto", "heuristic", "exact")

Step = Callable[[str, float], None]


def _moves(pb: Problem, state_parts: dict[int, list[heuristic.Part]]) -> list[Move]:
    return [
        Move(pb.cohorts[c].id, p, households) for c, parts in sorted(state_parts.items()) for p, households in parts
    ]


def _schedule(pb: Problem, state: heuristic.State) -> tuple[np.ndarray, np.ndarray]:
    """A plan as each cohort's first phase and the persons moving in it, to offer to the master as columns."""
    phase = np.full(len(pb.cohorts), pb.phases, dtype=np.int64)
    first = np.zeros(len(pb.cohorts))
    for c, parts in state.parts.items():
        phase[c] = parts[0][0]
        first[c] = sum(size * n for size, n in parts[0][1])
    return phase, first


def _integer_columns(pb: Problem) -> int:
    """The integer columns of the exact MILP: a start and a split per possible move, and households per size."""
    whole, split, _hi, _lo = programs.possible_moves(pb)
    sizes = np.array([len(c.households) for c in pb.cohorts])
    return int((whole | split).sum() + (split.sum(axis=1) * (1 + sizes)).sum())


def explain(pb: Problem, state: heuristic.State) -> list[Unplaced]:
    """Why each cohort left out could not be placed: the constraint that blocks it alone, or the competition."""
    out: list[Unplaced] = []
    inst = pb.instance
    P = pb.phases
    # the moves each cohort could make on its own (whole households, at most two adjacent phases), and the
    # same with money to spare: with neither it is blocked by seats, with only the second by the budget
    whole, split, _hi, _lo = programs.possible_moves(pb)
    alone = whole | split
    rich = copy.copy(pb)
    rich.budget = np.full(P, 1e300)
    rich.money_eps = np.zeros(P)
    whole, split, _hi, _lo = programs.possible_moves(rich)
    alone_with_money = whole | split
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
                template = _("%(settlement)s is not assessed safe, so it receives no one in this plan")
                params: dict[str, object] = {"settlement": settlement.name}
            else:
                template = _("%(settlement)s is assessed safe only from %(date)s, after the plan's last phase")
                params = {"settlement": settlement.name, "date": settlement.safe_from.isoformat()}
                detail["safe_from"] = settlement.safe_from.isoformat()
        elif n > pb.cap[s, -1]:
            reason = "housing"
            detail["places"] = int(pb.cap[s, -1])
            template = _(
                "the cohort has %(persons)d persons and %(settlement)s will have only %(places)d places by the end "
                "of the plan"
            )
            params = {"persons": n, "settlement": settlement.name, "places": int(pb.cap[s, -1])}
        elif not alone[c].any() and not alone_with_money[c].any():
            reason = "transport"
            seats = int(max(pb.seats[r, gate:]))
            detail["seats"] = seats
            template = _(
                "the cohort has %(persons)d persons and %(route)s has at most %(seats)d seats in a phase; even split "
                "over two phases it does not fit"
            )
            params = {"persons": n, "route": route.name, "seats": seats}
        elif not alone[c].any():
            reason = "budget"
            detail["cost"] = round(float(pb.c_cost[c]), 2)
            template = _("moving the cohort costs %(cost).2f %(currency)s, more than the budget of any two phases")
            params = {
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
                if pb.budget[p] - state.spent[p] + pb.money_eps[p] < pb.c_cost[c]:
                    short["budget"] += 1
            detail.update({f"phases_short_of_{k}": v for k, v in short.items()})
            template = _(
                "room for it is taken by cohorts of higher priority: of the %(open)d phases open to it, housing at "
                "%(settlement)s is short in %(housing)d, seats on %(route)s in %(transport)d and the budget in "
                "%(budget)d"
            )
            params = {"open": P - gate, "settlement": settlement.name, "route": route.name, **short}
        out.append(Unplaced(cohort.id, n, reason, template % params, detail, template, params))
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
    bound = float((pb.c_weight * pb.c_persons).sum())  # everyone in phase 1: a trivial bound
    status = "feasible"

    def consider(candidate: heuristic.State, event: str) -> None:
        nonlocal best, used_method
        if candidate.value > best.value + 1e-9:
            best = candidate
            used_method = event
        trace.append(TracePoint(elapsed(), best.value, bound if bound_known else None, event))

    def close_enough() -> bool:
        return best.value >= bound - target_gap * abs(bound)

    bound_known = False
    exact_next = method == "exact" or (method == "auto" and _integer_columns(pb) <= EXACT_LIMIT)
    final_deadline = deadline
    if exact_next:  # leave most of the time to the MILP
        deadline = min(deadline, started + 0.25 * time_limit)
    consider(heuristic.sweep(pb, priority), "sweep")
    if method in ("auto", "heuristic") and time.perf_counter() < deadline:
        # Column generation over settlement schedules: the master LP mixes schedules within seats and budget,
        # its prices ask each settlement for its best schedule (an exact dynamic programme), and every round
        # gives a proven bound and a schedule for the plan to follow.
        report(_("bound from each settlement's own schedule"), 0.1)
        master = lagrange.Master(pb)
        master.add(*_schedule(pb, best))
        dual = lagrange.evaluate(pb, np.zeros_like(pb.seats), np.zeros(pb.phases))
        bound, bound_known = min(bound, dual.bound), True
        master.add(dual.phase, dual.first_part)
        trace.append(TracePoint(elapsed(), best.value, bound, "bound"))
        rounds = 0
        while time.perf_counter() < deadline and not close_enough() and rounds < 100:
            rounds += 1
            report(_("tightening the bound and following it"), min(0.85, 0.15 + rounds / 20))
            solved = master.solve(deadline - time.perf_counter())
            if solved is None:
                break
            _value, seat_price, money_price, weights = solved
            dual = lagrange.evaluate(pb, seat_price, money_price)
            if dual.bound < bound - 1e-9:
                bound = dual.bound
                trace.append(TracePoint(elapsed(), best.value, bound, "bound"))
            new = master.add(dual.phase, dual.first_part)
            if rounds == 1 or new == 0 or rounds % 2 == 0:
                candidate = heuristic.polish(heuristic.follow(pb, master.targets(weights)), priority, deadline=deadline)
                consider(candidate, "column generation + local search")
                master.add(*_schedule(pb, candidate))
            if new == 0:
                break
        if time.perf_counter() < deadline and not close_enough():
            consider(heuristic.polish(best.copy(), priority, deadline=deadline), "local search")
        if time.perf_counter() < deadline - 1.0 and not close_enough() and not exact_next:
            report(_("improving parts of the plan exactly"), 0.9)
            searched = heuristic.neighbourhood_search(
                best.copy(), deadline=deadline, on_better=lambda s: trace.append(
                    TracePoint(elapsed(), s.value, bound, "neighbourhood search")
                ),
            )  # fmt: skip
            consider(searched, "neighbourhood search")

    deadline = final_deadline
    if exact_next and not close_enough() and time.perf_counter() < deadline:
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
    return Plan(moves, objective, bound, status, used_method, elapsed(), unplaced, trace, warnings)
