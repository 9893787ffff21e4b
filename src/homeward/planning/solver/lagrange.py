"""A Lagrangian bound: seats and budget priced, each settlement's cohorts scheduled exactly against its housing.

The LP relaxation lets part of a community move early while small groups bound for the same settlement take
the places it would need; an exact schedule per settlement does not. With any prices ``mu >= 0`` on seats
(per route and phase) and money (per phase), the best value of every settlement's own schedule at those
prices, plus the priced capacities, bounds every plan's value from above. The schedule of each settlement is
found by dynamic programming over phases and the set of its cohorts already housed (exactly for up to
``EXACT_COHORTS`` cohorts; the rest of a larger settlement are priced alone, which only loosens the bound).
Where a cohort splits, the first part may use any room left in its phase; seats and money for the two
parts are priced, not limited, which again can only raise the bound.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from homeward.planning.solver.arrays import Problem

EXACT_COHORTS = 4
NEG = -1e18


@dataclass
class Dual:
    bound: float
    phase: np.ndarray  # cohort -> first phase it moves in the priced schedules (phases if it does not)
    first_part: np.ndarray  # cohort -> persons moving in that first phase (all of them unless split)
    seat_use: np.ndarray  # routes x phases, persons moving in the priced schedules
    money_use: np.ndarray  # phases


def _pairs(k: int) -> list[list[tuple[int, int]]]:
    """For each state (a bit mask of housed cohorts), the (whole, split) masks of cohorts that may start now."""
    out = []
    for state in range(1 << k):
        free = [i for i in range(k) if not state >> i & 1]
        pairs = []
        for labels in itertools.product((0, 1, 2), repeat=len(free)):
            whole = sum(1 << i for i, lab in zip(free, labels, strict=True) if lab == 1)
            split = sum(1 << i for i, lab in zip(free, labels, strict=True) if lab == 2)
            pairs.append((whole, split))
        out.append(pairs)
    return out


def evaluate(pb: Problem, seat_price: np.ndarray, money_price: np.ndarray) -> Dual:
    P = pb.phases
    C = len(pb.cohorts)
    rho = (
        pb.c_weight[:, None] * pb.earliness[None, :] - seat_price[pb.c_route] - pb.cp * money_price[None, :]
    )  # value per person moving in each phase, at these prices
    smallest = np.array([c.households[0][0] for c in pb.cohorts], dtype=np.float64)
    divisible = pb.c_households >= 2
    afford = np.floor((pb.budget + pb.money_eps) / pb.cp) if pb.cp > 0 else np.full(P, np.inf)
    first_phase = np.full(C, P, dtype=np.int64)
    first_part = np.zeros(C)  # persons in the first phase (all of them unless split)
    total = float((seat_price * pb.seats).sum() + (money_price * pb.budget).sum())

    by_settlement: dict[int, list[int]] = {}
    for c in np.argsort(-pb.c_persons, kind="stable"):
        by_settlement.setdefault(int(pb.c_settlement[c]), []).append(int(c))
    groups: dict[int, list[tuple[int, list[int]]]] = {}
    loose: list[int] = []
    for s, bound_there in by_settlement.items():
        groups.setdefault(min(len(bound_there), EXACT_COHORTS), []).append((s, bound_there[:EXACT_COHORTS]))
        loose.extend(bound_there[EXACT_COHORTS:])

    for k, items in groups.items():
        settlements = np.array([s for s, _m in items])
        members = np.array([m for _s, m in items])  # n x k
        n = len(items)
        N = pb.c_persons[members]
        small = smallest[members]
        can_split = divisible[members]
        r = rho[members]  # n x k x P
        seats = pb.seats[pb.c_route[members]]  # n x k x P: no plan moves more of one cohort than these
        cap = pb.cap[settlements]
        gate = pb.settlement_gate[settlements]
        masks = 1 << k
        bits = np.array([[m >> i & 1 for i in range(k)] for m in range(masks)], dtype=np.float64)  # masks x k
        mass = N @ bits.T  # n x masks
        pairs = _pairs(k)
        value_next = np.zeros((n, masks))
        choice: list[np.ndarray] = []
        firsts: list[np.ndarray] = []  # chosen first-part sizes for split cohorts, n x masks x k per phase
        for p in range(P - 1, -1, -1):
            value = np.full((n, masks), NEG)
            best_pair = np.zeros((n, masks), dtype=np.int64)
            first_at = np.zeros((n, masks, k))
            open_ = p >= gate
            for mask in range(masks):
                fits_state = mass[:, mask] <= cap[:, p]
                for index, (whole, split) in enumerate(pairs[mask]):
                    used = mass[:, mask] + mass[:, whole]
                    ok = fits_state & (used <= cap[:, p])
                    if whole or split:
                        ok &= open_
                    room = cap[:, p] - used
                    gain = np.zeros(n)
                    parts = np.zeros((n, k))
                    for i in range(k):
                        if whole >> i & 1:
                            ok &= (N[:, i] <= seats[:, i, p]) & (N[:, i] <= afford[p])
                            gain += N[:, i] * r[:, i, p]
                        elif split >> i & 1:
                            if p == P - 1:
                                ok &= False
                                continue
                            hi = np.minimum.reduce([N[:, i] - small[:, i], room, seats[:, i, p], np.full(n, afford[p])])
                            lo = np.maximum.reduce([small[:, i], N[:, i] - seats[:, i, p + 1], N[:, i] - afford[p + 1]])
                            ok &= can_split[:, i] & (hi >= lo)
                            a = np.where(r[:, i, p] > r[:, i, p + 1], hi, lo)
                            gain += a * r[:, i, p] + (N[:, i] - a) * r[:, i, p + 1] - pb.penalty
                            parts[:, i] = a
                    candidate = np.where(ok, gain + value_next[:, mask | whole | split], NEG)
                    better = candidate > value[:, mask]
                    if better.any():
                        value[:, mask] = np.where(better, candidate, value[:, mask])
                        best_pair[:, mask] = np.where(better, index, best_pair[:, mask])
                        first_at[:, mask] = np.where(better[:, None], parts, first_at[:, mask])
            choice.append(best_pair)
            firsts.append(first_at)
            value_next = value
        total += float(np.maximum(value_next[:, 0], 0.0).sum())
        # follow the best schedule of each settlement from the empty state
        choice.reverse()
        firsts.reverse()
        housed = np.zeros(n, dtype=np.int64)
        rows = np.arange(n)
        for p in range(P):
            chosen = choice[p][rows, housed]
            for j in range(n):
                whole, split = pairs[int(housed[j])][int(chosen[j])]
                for i in range(k):
                    c = int(members[j, i])
                    if whole >> i & 1:
                        first_phase[c], first_part[c] = p, N[j, i]
                    elif split >> i & 1:
                        first_phase[c], first_part[c] = p, firsts[p][j, int(housed[j]), i]
                housed[j] |= whole | split

    # cohorts beyond the exact ones: each alone, with its settlement's whole housing
    for c in loose:
        s = int(pb.c_settlement[c])
        best, at, part = 0.0, P, 0.0
        n_c = pb.c_persons[c]
        seat = pb.seats[pb.c_route[c]]
        for p in range(int(pb.c_gate[c]), P):
            if min(pb.cap[s, p], seat[p], afford[p]) >= n_c and n_c * rho[c, p] > best:
                best, at, part = n_c * rho[c, p], p, n_c
            if p + 1 < P and divisible[c] and pb.cap[s, p + 1] >= n_c:
                hi = min(n_c - smallest[c], pb.cap[s, p], seat[p], afford[p])
                lo = max(smallest[c], n_c - seat[p + 1], n_c - afford[p + 1])
                if hi >= lo:
                    a = hi if rho[c, p] > rho[c, p + 1] else lo
                    value = a * rho[c, p] + (n_c - a) * rho[c, p + 1] - pb.penalty
                    if value > best:
                        best, at, part = value, p, a
        total += best
        first_phase[c], first_part[c] = at, part

    seat_use = np.zeros_like(pb.seats)
    money_use = np.zeros(P)
    moved = first_phase < P
    cc = np.flatnonzero(moved)
    pp = first_phase[cc]
    np.add.at(seat_use, (pb.c_route[cc], pp), first_part[cc])
    rest = pb.c_persons[cc] - first_part[cc]
    later = rest > 0
    np.add.at(seat_use, (pb.c_route[cc[later]], pp[later] + 1), rest[later])
    money_use = seat_use.sum(axis=0) * pb.cp
    return Dual(total, first_phase, first_part, seat_use, money_use)


class Master:
    """Column generation over settlement schedules (Dantzig-Wolfe): the restricted master LP chooses a mix of
    schedules per settlement within seats and budget; its duals price the next round of exact schedules, and
    every round's Lagrangian value is a proven bound."""

    def __init__(self, pb: Problem) -> None:
        self.pb = pb
        self.values: list[float] = []
        self.settlement: list[int] = []
        self.use: list[np.ndarray] = []  # persons moving per phase (on the settlement's route)
        self.phases: list[dict[int, int]] = []  # cohort -> first phase
        self.seen: set[tuple[int, tuple[tuple[int, int, float], ...]]] = set()

    def add(self, phase: np.ndarray, first_part: np.ndarray) -> int:
        """Add each settlement's schedule from per-cohort first phases and first parts; returns how many were new."""
        pb = self.pb
        P = pb.phases
        added = 0
        by_settlement: dict[int, list[int]] = {}
        for c in range(len(pb.cohorts)):
            by_settlement.setdefault(int(pb.c_settlement[c]), []).append(c)
        for s, cohorts in by_settlement.items():
            key = tuple((c, int(phase[c]), round(float(first_part[c]), 3)) for c in cohorts if phase[c] < P)
            if not key or (s, key) in self.seen:
                continue
            self.seen.add((s, key))
            use = np.zeros(P)
            value = 0.0
            for c, p, a in key:
                n = pb.c_persons[c]
                use[p] += a
                value += pb.c_weight[c] * pb.earliness[p] * a
                if a < n:
                    use[p + 1] += n - a
                    value += pb.c_weight[c] * pb.earliness[p + 1] * (n - a) - pb.penalty
            self.values.append(value)
            self.settlement.append(s)
            self.use.append(use)
            self.phases.append({c: p for c, p, _a in key})
            added += 1
        return added

    def solve(self, time_limit: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
        """The master LP's value, seat and money prices, and each column's weight."""
        from homeward.planning.solver.programs import Builder

        pb = self.pb
        P = pb.phases
        S, R = pb.cap.shape[0], pb.seats.shape[0]
        J = len(self.values)
        if J == 0:
            return None
        b = Builder()
        cols = b.columns(np.array(self.values), 0.0, 1.0)
        once = b.row_block(S, -np.inf, 1.0)
        seat_row = b.row_block(R * P, -np.inf, pb.seats.reshape(-1))
        money_row = b.row_block(P, -np.inf, pb.budget + pb.money_eps)
        settlement = np.array(self.settlement)
        b.entries(once + settlement, cols, 1.0)
        use = np.array(self.use)  # J x P
        jj, pp = np.nonzero(use)
        route = pb.settlement_route[settlement]
        b.entries(seat_row + route[jj] * P + pp, cols[jj], use[jj, pp])
        b.entries(money_row + pp, cols[jj], use[jj, pp] * pb.cp)
        highs = b.solve(time_limit)
        import highspy

        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = highs.getSolution()
        duals = np.abs(np.asarray(solution.row_dual))
        weights = np.asarray(solution.col_value)[cols]
        return (
            float(highs.getInfo().objective_function_value),
            duals[seat_row : seat_row + R * P].reshape(R, P),
            duals[money_row : money_row + P],
            weights,
        )

    def targets(self, weights: np.ndarray) -> np.ndarray:
        """Each cohort's first phase in its settlement's heaviest schedule (phases if none is used)."""
        pb = self.pb
        target = np.full(len(pb.cohorts), pb.phases, dtype=np.int64)
        heaviest: dict[int, tuple[float, int]] = {}
        for j, s in enumerate(self.settlement[: len(weights)]):
            if weights[j] > 1e-6 and (s not in heaviest or weights[j] > heaviest[s][0]):
                heaviest[s] = (float(weights[j]), j)
        for _w, j in heaviest.values():
            for c, p in self.phases[j].items():
                target[c] = p
        return target
