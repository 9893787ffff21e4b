"""Greedy plans and their local improvement: every move keeps every constraint, so every plan is feasible."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from homeward.planning.solver.arrays import Problem
from homeward.planning.solver.model import Households, households_in, persons_in

Part = tuple[int, Households]  # (phase, households)
Order = Sequence[int] | np.ndarray[Any, Any]


_persons = persons_in
_count = households_in


def _pick(households: Households, persons_room: float, money_room: float, cp: float) -> Households:
    """As many persons as fit, largest households first, leaving at least one household for the later phase."""
    left_households = _count(households) - 1
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
        value = sum(pb.c_weight[c] * pb.earliness[p] * _persons(h) for p, h in parts)
        return float(value - (pb.penalty if len(parts) > 1 else 0.0))

    def _apply(self, c: int, parts: Sequence[Part], sign: int) -> None:
        pb = self.pb
        s, r = pb.c_settlement[c], pb.c_route[c]
        for p, h in parts:
            persons = _persons(h)
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
            later = _persons(second)
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
        later = _persons(second)
        if later > seats[p + 1] or later * pb.cp > money[p + 1]:
            return None
        return [(p, first), (p + 1, second)]


def sweep(problem: Problem, order: Order) -> State:
    """Phase by phase, fill each phase with the cohorts that can start then, in the given order."""
    state = State(problem)
    waiting = [int(c) for c in order if problem.c_gate[int(c)] < problem.phases]
    for p in range(problem.phases):
        money_left = problem.budget[p] - state.spent[p] + problem.money_eps
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
                money_left = problem.budget[p] - state.spent[p] + problem.money_eps
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
