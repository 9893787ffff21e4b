"""Greedy plans and their local improvement: every move keeps every constraint, so every plan is feasible."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from homeward.planning.solver.arrays import Problem
from homeward.planning.solver.model import Households, households_in, persons_in

Part = tuple[int, Households]  # (phase, households)
Order = Sequence[int] | np.ndarray[Any, Any]


def _pick(households: Households, persons_room: float, money_room: float, cp: float) -> Households:
    """As many persons as fit, largest households first, leaving at least one household for the later phase."""
    left_households = households_in(households) - 1
    taken: list[tuple[int, int]] = []
    persons = 0.0
    money = 0.0
    for size, n in sorted(households, reverse=True):
        if left_households <= 0:
            break
        unit = size * cp
        k = n
        k = min(k, int((persons_room - persons) // size))
        if unit > 0:
            k = min(k, int((money_room - money) // unit))
        k = min(k, left_households)
        if k > 0:
            taken.append((size, k))
            persons += k * size
            money += k * unit
            left_households -= k
    return tuple(sorted(taken))


def _minus(households: Households, taken: Households) -> Households:
    t = dict(taken)
    return tuple((s, n - t.get(s, 0)) for s, n in households if n - t.get(s, 0) > 0)


class State:
    """Capacities used so far, and the parts of each placed cohort."""

    def __init__(self, problem: Problem) -> None:
        self.pb = problem
        S, P = problem.cap.shape
        self.used = np.zeros((S, P))  # persons housed by the end of each phase (cumulative)
        self.seats_used = np.zeros_like(problem.seats)
        self.spent = np.zeros(P)
        self.parts: dict[int, list[Part]] = {}
        self.value = 0.0

    def copy(self) -> State:
        other = State.__new__(State)
        other.pb = self.pb
        other.used = self.used.copy()
        other.seats_used = self.seats_used.copy()
        other.spent = self.spent.copy()
        other.parts = {c: list(v) for c, v in self.parts.items()}
        other.value = self.value
        return other

    def part_value(self, c: int, parts: Sequence[Part]) -> float:
        pb = self.pb
        value = sum(pb.c_weight[c] * pb.earliness[p] * persons_in(h) for p, h in parts)
        return float(value - (pb.penalty if len(parts) > 1 else 0.0))

    def _apply(self, c: int, parts: Sequence[Part], sign: int) -> None:
        pb = self.pb
        s, r = pb.c_settlement[c], pb.c_route[c]
        for p, h in parts:
            persons = persons_in(h)
            self.used[s, p:] += sign * persons
            self.seats_used[r, p] += sign * persons
            self.spent[p] += sign * persons * pb.cp

    def place(self, c: int, parts: list[Part]) -> None:
        self._apply(c, parts, +1)
        self.parts[c] = parts
        self.value += self.part_value(c, parts)

    def remove(self, c: int) -> list[Part]:
        parts = self.parts.pop(c)
        self._apply(c, parts, -1)
        self.value -= self.part_value(c, parts)
        return parts

    def best(self, c: int, *, latest: int | None = None) -> tuple[float, list[Part]] | None:
        """The most valuable way to place cohort c now: whole in its earliest feasible phase, or split."""
        pb = self.pb
        P = pb.phases
        gate = int(pb.c_gate[c])
        if gate >= P:
            return None
        s, r = pb.c_settlement[c], pb.c_route[c]
        n = pb.c_persons[c]
        slack = pb.cap[s] - self.used[s]
        suffix = np.minimum.accumulate(slack[::-1])[::-1]
        seats = pb.seats[r] - self.seats_used[r]
        money = pb.budget - self.spent + pb.money_eps
        ok = (suffix >= n) & (seats >= n) & (money >= pb.c_cost[c])
        ok[:gate] = False
        hits = np.flatnonzero(ok)
        whole = int(hits[0]) if len(hits) else P
        households = pb.cohorts[c].households
        best: tuple[float, list[Part]] | None = None
        if whole < P:
            parts = [(whole, households)]
            best = (self.part_value(c, parts), parts)
        if len(households) == 1 and households[0][1] == 1:
            return best
        stop = min(whole, P - 1)
        # A split at (p, p + 1) needs room for everyone from p + 1 onwards.
        candidates = np.flatnonzero((suffix[1 : stop + 1] >= n) & (seats[1 : stop + 1] > 0))
        for index in candidates:
            p = int(index)
            if p < gate:
                continue
            room = min(slack[p], seats[p])
            if room <= 0 or money[p] <= 0:
                continue
            if best is not None and pb.c_weight[c] * (pb.earliness[p] - pb.earliness[whole]) * n <= pb.penalty:
                break  # no split this late can beat the whole move
            first = _pick(households, room, money[p], pb.cp)
            if not first:
                continue
            second = _minus(households, first)
            later = persons_in(second)
            if later > seats[p + 1] or later * pb.cp > money[p + 1]:
                continue
            parts = [(p, first), (p + 1, second)]
            value = self.part_value(c, parts)
            if best is None or value > best[0] + 1e-9:
                best = (value, parts)
            break  # the earliest feasible split is the most valuable split
        return best

    def at(self, c: int, p: int) -> list[Part] | None:
        """Cohort c starting to move in phase p: whole if it fits, else split over (p, p + 1); None if neither."""
        pb = self.pb
        if p < pb.c_gate[c]:
            return None
        s, r = pb.c_settlement[c], pb.c_route[c]
        n = pb.c_persons[c]
        seats = pb.seats[r] - self.seats_used[r]
        money = pb.budget - self.spent + pb.money_eps
        if seats[p] <= 0 or money[p] <= 0:
            return None
        slack = pb.cap[s, p:] - self.used[s, p:]
        households = pb.cohorts[c].households
        if slack.min() >= n and seats[p] >= n and money[p] >= pb.c_cost[c]:
            return [(p, households)]
        if p + 1 >= pb.phases or slack[1:].min() < n or slack[0] <= 0:
            return None
        if len(households) == 1 and households[0][1] == 1:
            return None
        first = _pick(households, min(slack[0], seats[p]), money[p], pb.cp)
        if not first:
            return None
        second = _minus(households, first)
        later = persons_in(second)
        if later > seats[p + 1] or later * pb.cp > money[p + 1]:
            return None
        return [(p, first), (p + 1, second)]


def sweep(problem: Problem, order: Order) -> State:
    """Phase by phase, fill each phase with the cohorts that can start then, in the given order."""
    state = State(problem)
    waiting = [int(c) for c in order if problem.c_gate[int(c)] < problem.phases]
    for p in range(problem.phases):
        money_left = problem.budget[p] - state.spent[p] + problem.money_eps[p]
        if not waiting:
            break
        rest = []
        for c in waiting:
            if problem.c_gate[c] > p or money_left <= 0:
                rest.append(c)
                continue
            parts = state.at(c, p)
            if parts is None:
                rest.append(c)
            else:
                state.place(c, parts)
                money_left = problem.budget[p] - state.spent[p] + problem.money_eps[p]
        waiting = rest
    return state


def greedy(problem: Problem, order: Order) -> State:
    state = State(problem)
    for c in order:
        option = state.best(int(c))
        if option is not None:
            state.place(int(c), option[1])
    return state


def improve(state: State, order: Order, *, rounds: int = 3, deadline: float | None = None) -> State:
    """Take each cohort out and put it back in its best place now; place those left out when room appears."""
    import time

    for _ in range(rounds):
        before = state.value
        for c in order:
            c = int(c)
            if deadline is not None and time.perf_counter() > deadline:
                return state
            if c in state.parts:
                old = state.remove(c)
                option = state.best(c)
                if option is None or option[0] < state.part_value(c, old) - 1e-9:
                    state.place(c, old)
                else:
                    state.place(c, option[1])
            else:
                option = state.best(c)
                if option is not None:
                    state.place(c, option[1])
        if state.value <= before + 1e-9:
            break
    return state


def priority_order(problem: Problem) -> np.ndarray:
    """Vulnerable cohorts first, then those whose settlement opens first, then the larger."""
    return np.lexsort((-problem.c_persons, problem.c_gate, -problem.c_weight))


def replan_settlements(state: State, *, deadline: float | None = None) -> State:
    """Re-plan the cohorts bound for each settlement together, trying the community first, the small groups
    first and the most vulnerable first: small groups placed early can keep a whole community waiting."""
    import time

    pb = state.pb
    members: dict[int, list[int]] = {}
    for c in range(len(pb.cohorts)):
        members.setdefault(int(pb.c_settlement[c]), []).append(c)
    for cohorts in members.values():
        if len(cohorts) < 2:
            continue
        if deadline is not None and time.perf_counter() > deadline:
            break
        before = {c: state.parts[c] for c in cohorts if c in state.parts}
        start_value = state.value
        orders = (
            sorted(cohorts, key=lambda c: -pb.c_persons[c]),
            sorted(cohorts, key=lambda c: pb.c_persons[c]),
            sorted(cohorts, key=lambda c: -pb.c_weight[c]),
        )
        best_value, best_parts = start_value, before
        for order in orders:
            for c in before:
                if c in state.parts:
                    state.remove(c)
            for c in cohorts:
                if c in state.parts:
                    state.remove(c)
            for c in order:
                option = state.best(c)
                if option is not None:
                    state.place(c, option[1])
            if state.value > best_value + 1e-9:
                best_value, best_parts = state.value, {c: state.parts[c] for c in cohorts if c in state.parts}
        for c in cohorts:
            if c in state.parts:
                state.remove(c)
        for c, parts in best_parts.items():
            state.place(c, parts)
    return state


def polish(state: State, order: Order, *, deadline: float | None = None) -> State:
    """Re-plan settlements and move cohorts earlier until neither gains any more (or time runs out)."""
    import time

    while deadline is None or time.perf_counter() < deadline:
        before = state.value
        replan_settlements(state, deadline=deadline)
        improve(state, order, rounds=1, deadline=deadline)
        if state.value <= before + 1e-9 * max(1.0, abs(before)):
            break
    return state


def follow(problem: Problem, target: np.ndarray) -> State:
    """Place each cohort in the phase a schedule asks for, or the next one that has room, or its best place."""
    state = State(problem)
    order = np.lexsort((-problem.c_weight, target))
    for c in order:
        c = int(c)
        placed = False
        for p in range(int(target[c]), problem.phases):
            parts = state.at(c, p)
            if parts is not None:
                state.place(c, parts)
                placed = True
                break
        if not placed:
            option = state.best(c)
            if option is not None:
                state.place(c, option[1])
    return state


def neighbourhood_search(
    state: State, *, deadline: float, size: int = 40, seed: int = 0, on_better: Callable[[State], None] | None = None
) -> State:
    """Free the cohorts of a few settlements on one route, solve their placement exactly (HiGHS MILP) in what
    the rest of the plan leaves, and keep the result when it is better; repeat until time runs out."""
    import time

    from homeward.planning.solver import programs
    from homeward.planning.solver.arrays import restricted

    pb = state.pb
    rng = np.random.default_rng(seed)
    by_route: dict[int, list[int]] = {}
    for s in range(pb.cap.shape[0]):
        by_route.setdefault(int(pb.settlement_route[s]), []).append(s)
    members: dict[int, list[int]] = {}
    for c in range(len(pb.cohorts)):
        if pb.c_gate[c] < pb.phases:
            members.setdefault(int(pb.c_settlement[c]), []).append(c)
    routes = [r for r, settlements in by_route.items() if any(s in members for s in settlements)]
    if not routes:
        return state
    failures = 0
    while time.perf_counter() < deadline - 0.5 and failures < 200:
        route = int(rng.choice(routes))
        settlements = [s for s in by_route[route] if s in members]
        rng.shuffle(settlements)
        free: list[int] = []
        for s in settlements:
            if len(free) + len(members[s]) > size and free:
                break
            free.extend(members[s])
        old = {c: state.parts[c] for c in free if c in state.parts}
        old_value = state.value
        for c in old:
            state.remove(c)
        sub, _settlements = restricted(pb, free, state.used, state.seats_used, state.spent)
        start = {i: old[c] for i, c in enumerate(free) if c in old}
        result = programs.exact(sub, min(5.0, deadline - time.perf_counter()), start=start)
        if result is not None:
            for i, parts in result.parts.items():
                state.place(free[i], parts)
        if result is None or state.value <= old_value + 1e-9 * max(1.0, abs(old_value)):
            for c in free:
                if c in state.parts:
                    state.remove(c)
            for c, parts in old.items():
                state.place(c, parts)
            failures += 1
        else:
            failures = 0
            if on_better is not None:
                on_better(state)
    return state
