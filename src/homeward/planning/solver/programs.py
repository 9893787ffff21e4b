"""The LP relaxation (the proven bound) and the exact MILP, solved with HiGHS (highspy)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from homeward.planning.solver.arrays import Problem
from homeward.planning.solver.heuristic import Part

_quiet = False


def _highs(time_limit: float) -> highspy.Highs:
    """A silent HiGHS. Its first instance prints a banner on the C standard output, which is kept off ours."""
    global _quiet
    if not _quiet:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _quiet = True
    else:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.1, float(time_limit)))
    h.setOptionValue("threads", 2)
    return h


class Builder:
    """Columns and rows of a model, passed to HiGHS in one go (column-wise)."""

    def __init__(self) -> None:
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.n = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []

    def columns(
        self, cost: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float, integer: bool = False
    ) -> np.ndarray:
        k = len(cost)
        self.cost.append(np.asarray(cost, dtype=np.float64))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (k,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (k,)).copy())
        self.integer.append(np.full(k, integer))
        first = self.n
        self.n += k
        return np.arange(first, first + k)

    def row_block(self, count: int, lower: np.ndarray | float, upper: np.ndarray | float) -> int:
        first = len(self.row_lower)
        self.row_lower.extend(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)).tolist())
        self.row_upper.extend(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)).tolist())
        return first

    def entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.rows.append(rows)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).copy())

    def solve(
        self,
        time_limit: float,
        *,
        start: np.ndarray | None = None,
        options: dict[str, float | str | bool] | None = None,
    ) -> highspy.Highs:
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = len(self.row_lower)
        lp.col_cost_ = np.concatenate(self.cost) if self.cost else np.zeros(0)
        lp.col_lower_ = np.concatenate(self.lower) if self.lower else np.zeros(0)
        lp.col_upper_ = np.concatenate(self.upper) if self.upper else np.zeros(0)
        lp.row_lower_ = np.array(self.row_lower)
        lp.row_upper_ = np.array(self.row_upper)
        lp.sense_ = highspy.ObjSense.kMaximize
        matrix = sparse.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(lp.num_row_, lp.num_col_),
        )
        matrix.sum_duplicates()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        integer = np.concatenate(self.integer) if self.integer else np.zeros(0, bool)
        if integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer
            ]
        h = _highs(time_limit)
        for key, value in (options or {}).items():
            h.setOptionValue(key, value)
        h.passModel(lp)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = list(start)
            solution.value_valid = True
            h.setSolution(solution)
        h.run()
        return h


@dataclass
class Relaxation:
    bound: float
    x: np.ndarray  # cohorts x phases: the share of each cohort moving in each phase
    seconds: float
    seat_price: np.ndarray  # the duals of the seat rows (routes x phases) and of the budget rows (phases)
    money_price: np.ndarray


def possible_moves(pb: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ways each cohort can move, judged on the cohort alone, as (cohort, phase, first part, persons later).

    A whole move in phase p needs the places, seats and budget of phase p. A split over (p, p + 1) moves a
    first part in p and the rest in p + 1; every such split lies between the one with the largest first part
    the cohort alone could have and the one with the smallest, so those two patterns span all of them.
    """
    P = pb.phases
    C = len(pb.cohorts)
    n = pb.c_persons[:, None]
    phase = np.arange(P)[None, :]
    cap = pb.cap[pb.c_settlement]
    seats = pb.seats[pb.c_route]
    money = np.broadcast_to(pb.budget[None, :] + pb.money_eps, (C, P))
    # Without costs the budget limits nothing (the money is not even divided then: it may be huge).
    afford = money / pb.cp if pb.cp > 0 else np.full((C, P), np.inf)
    open_ = phase >= pb.c_gate[:, None]
    whole = open_ & (cap >= n) & (seats >= n) & (afford >= n)
    smallest = np.array([c.households[0][0] for c in pb.cohorts], dtype=np.float64)[:, None]
    many = (pb.c_households >= 2)[:, None]
    nxt = np.minimum(np.arange(P) + 1, P - 1)
    hi = np.minimum.reduce([np.broadcast_to(n - smallest, (C, P)), cap, seats, np.floor(afford)])
    lo = np.maximum.reduce([np.broadcast_to(smallest, (C, P)), n - seats[:, nxt], n - np.floor(afford[:, nxt])])
    split = open_ & many & (phase < P - 1) & (cap[:, nxt] >= n) & (lo <= hi)
    return whole, split, hi, lo


def pattern_lists(pb: Problem) -> tuple[np.ndarray, ...]:
    whole, split, hi, lo = possible_moves(pb)
    wc, wp = np.nonzero(whole)
    sc, sp = np.nonzero(split)
    return wc, wp, sc, sp, hi[sc, sp], lo[sc, sp]


def relaxation(pb: Problem, time_limit: float) -> Relaxation | None:
    """The LP over every cohort's possible moves: an upper bound on every plan's value. None if out of time."""
    import time

    started = time.perf_counter()
    C, P = len(pb.cohorts), pb.phases
    S, R = pb.cap.shape[0], pb.seats.shape[0]
    wc, wp, sc, sp, hi, lo = pattern_lists(pb)
    if len(wc) + len(sc) == 0:
        return Relaxation(0.0, np.zeros((C, P)), time.perf_counter() - started, np.zeros((R, P)), np.zeros(P))
    b = Builder()
    v, e, n = pb.c_weight, pb.earliness, pb.c_persons
    whole = b.columns(v[wc] * e[wp] * n[wc], 0.0, 1.0)
    # (column, cohort, phase, persons in p, persons in p + 1)
    groups = [(whole, wc, wp, n[wc], np.zeros(len(wc)))]
    for first in (hi, lo):
        later = n[sc] - first
        value = v[sc] * (e[sp] * first + e[np.minimum(sp + 1, P - 1)] * later) - pb.penalty
        groups.append((b.columns(value, 0.0, 1.0), sc, sp, first, later))
    stock = b.columns(np.zeros(S * P), 0.0, pb.cap.reshape(-1))
    once = b.row_block(C, -np.inf, 1.0)
    stock_row = b.row_block(S * P, 0.0, 0.0)
    sp_all = np.arange(S * P)
    b.entries(stock_row + sp_all, stock, 1.0)
    later_rows = sp_all[(sp_all % P) > 0]
    b.entries(stock_row + later_rows, stock[later_rows - 1], -1.0)
    seat_row = b.row_block(R * P, -np.inf, pb.seats.reshape(-1))
    money_row = b.row_block(P, -np.inf, pb.budget + pb.money_eps)
    x = np.zeros((C, P))
    for cols, cc, pp, now, nxt in groups:
        b.entries(once + cc, cols, 1.0)
        s_, r_ = pb.c_settlement[cc], pb.c_route[cc]
        b.entries(stock_row + s_ * P + pp, cols, -now)
        b.entries(seat_row + r_ * P + pp, cols, now)
        b.entries(money_row + pp, cols, now * pb.cp)
        has = nxt > 0
        b.entries(stock_row + s_[has] * P + pp[has] + 1, cols[has], -nxt[has])
        b.entries(seat_row + r_[has] * P + pp[has] + 1, cols[has], nxt[has])
        b.entries(money_row + pp[has] + 1, cols[has], nxt[has] * pb.cp)
    highs = b.solve(time_limit)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    values = np.asarray(highs.getSolution().col_value)
    for cols, cc, pp, now, nxt in groups:
        share = values[cols]
        np.add.at(x, (cc, pp), share * now / n[cc])
        has = nxt > 0
        np.add.at(x, (cc[has], pp[has] + 1), share[has] * nxt[has] / n[cc[has]])
    bound = float(highs.getInfo().objective_function_value)
    duals = np.abs(np.asarray(highs.getSolution().row_dual))
    seat_price = duals[seat_row : seat_row + R * P].reshape(R, P)
    money_price = duals[money_row : money_row + P]
    return Relaxation(bound, x, time.perf_counter() - started, seat_price, money_price)


@dataclass
class Exact:
    parts: dict[int, list[Part]]
    objective: float
    bound: float
    optimal: bool


def exact(pb: Problem, time_limit: float, start: dict[int, list[Part]] | None = None) -> Exact | None:
    """The whole problem as a MILP (for small instances): whole or split moves with whole households."""
    C, P = len(pb.cohorts), pb.phases
    S, R = pb.cap.shape[0], pb.seats.shape[0]
    b = Builder()
    z: dict[tuple[int, int], int] = {}
    w: dict[tuple[int, int], int] = {}
    nvar: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # (c, p) -> [(size, count, column)]
    # only the moves a cohort could make on its own: this keeps the relaxation from spreading a community
    # over phases in which it could never move
    can_whole, can_split, _hi, _lo = possible_moves(pb)
    must_split: list[tuple[int, int]] = []
    for c in range(C):
        households = pb.cohorts[c].households
        v = pb.c_weight[c]
        for p in range(P):
            if can_whole[c, p] or can_split[c, p]:
                z[c, p] = int(b.columns(np.array([v * pb.earliness[p] * pb.c_persons[c]]), 0.0, 1.0, integer=True)[0])
                if not can_whole[c, p]:
                    must_split.append((c, p))
        if pb.c_households[c] < 2:
            continue
        for p in range(P - 1):
            if not can_split[c, p]:
                continue
            w[c, p] = int(b.columns(np.array([-pb.penalty]), 0.0, 1.0, integer=True)[0])
            cols = []
            for size, count in households:
                # a household moved from p to p + 1 loses one phase of earliness per person
                col = int(b.columns(np.array([-v * size / P]), 0.0, float(count), integer=True)[0])
                cols.append((size, count, col))
            nvar[c, p] = cols
    stock = b.columns(np.zeros(S * P), 0.0, pb.cap.reshape(-1))
    once = b.row_block(C, -np.inf, 1.0)
    for (c, _p), col in z.items():
        b.entries(np.array([once + c]), np.array([col]), 1.0)
    for c, p in must_split:  # z <= w where the cohort cannot move whole
        r = b.row_block(1, -np.inf, 0.0)
        b.entries(np.array([r, r]), np.array([z[c, p], w[c, p]]), np.array([1.0, -1.0]))
    for (c, p), wc in w.items():
        r = b.row_block(1, -np.inf, 0.0)  # w <= z
        b.entries(np.array([r, r]), np.array([wc, z[c, p]]), np.array([1.0, -1.0]))
        cols = nvar[c, p]
        for _size, count, col in cols:
            r = b.row_block(1, -np.inf, 0.0)  # n <= count * w
            b.entries(np.array([r, r]), np.array([col, wc]), np.array([1.0, -float(count)]))
        total = pb.c_households[c]
        r = b.row_block(1, 0.0, np.inf)  # at least one household later when split
        b.entries(
            np.full(len(cols) + 1, r),
            np.array([col for _s, _n, col in cols] + [wc]),
            np.array([1.0] * len(cols) + [-1.0]),
        )
        r = b.row_block(1, -np.inf, 0.0)  # at least one household first
        b.entries(
            np.full(len(cols) + 1, r),
            np.array([col for _s, _n, col in cols] + [wc]),
            np.array([1.0] * len(cols) + [-(total - 1)]),
        )

    # persons and households moving in (c, p) as (column, persons coefficient, households coefficient)
    def terms(c: int, p: int) -> list[tuple[int, float, float]]:
        out: list[tuple[int, float, float]] = []
        if (c, p) in z:
            out.append((z[c, p], pb.c_persons[c], pb.c_households[c]))
        for size, _n, col in nvar.get((c, p), []):
            out.append((col, -float(size), -1.0))
        for size, _n, col in nvar.get((c, p - 1), []):
            out.append((col, float(size), 1.0))
        return out

    stock_row = b.row_block(S * P, 0.0, 0.0)
    for s in range(S):
        for p in range(P):
            b.entries(np.array([stock_row + s * P + p]), np.array([stock[s * P + p]]), 1.0)
            if p:
                b.entries(np.array([stock_row + s * P + p]), np.array([stock[s * P + p - 1]]), -1.0)
    seat_row = b.row_block(R * P, -np.inf, pb.seats.reshape(-1))
    money_row = b.row_block(P, -np.inf, pb.budget + pb.money_eps)
    for c in range(C):
        s, r = int(pb.c_settlement[c]), int(pb.c_route[c])
        for p in range(P):
            for col, persons, _households in terms(c, p):
                rows = np.array([stock_row + s * P + p, seat_row + r * P + p, money_row + p])
                vals = np.array([-persons, persons, persons * pb.cp])
                b.entries(rows, np.full(3, col), vals)
    start_values = None
    if start is not None:
        start_values = np.zeros(b.n)
        used = np.zeros((S, P))
        for c, parts in start.items():
            begin = parts[0][0]
            start_values[z[c, begin]] = 1.0
            if len(parts) > 1:
                start_values[w[c, begin]] = 1.0
                tail = dict(parts[1][1])
                for size, _n, col in nvar[c, begin]:
                    start_values[col] = tail.get(size, 0)
            for p, hh in parts:
                used[pb.c_settlement[c], p:] += sum(sz * k for sz, k in hh)
        start_values[stock] = used.reshape(-1)
    highs = b.solve(time_limit, start=start_values, options={"mip_rel_gap": 1e-9, "mip_abs_gap": 1e-7})
    status = highs.getModelStatus()
    info = highs.getInfo()
    solution = highs.getSolution()
    if not solution.value_valid:
        return None
    values = np.rint(np.asarray(solution.col_value))
    parts_out: dict[int, list[Part]] = {}
    for (c, p), col in z.items():
        if values[col] < 0.5:
            continue
        whole = pb.cohorts[c].households
        if (c, p) in w and values[w[c, p]] > 0.5:
            moved_later = {size: int(values[col2]) for size, _n, col2 in nvar[c, p] if values[col2] > 0}
            head = tuple((s2, n2 - moved_later.get(s2, 0)) for s2, n2 in whole if n2 - moved_later.get(s2, 0) > 0)
            parts_out[c] = [(p, head), (p + 1, tuple(sorted(moved_later.items())))]
        else:
            parts_out[c] = [(p, whole)]
    optimal = status == highspy.HighsModelStatus.kOptimal
    bound = float(info.mip_dual_bound)
    return Exact(parts_out, float(info.objective_function_value), bound, optimal)
