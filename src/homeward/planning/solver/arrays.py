"""The instance as arrays, shared by the heuristic and the mathematical programs."""

from __future__ import annotations

import numpy as np

from homeward.planning.solver.model import Instance


class Problem:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        P = self.phases = instance.phases
        self.settlement_index = {s.id: i for i, s in enumerate(instance.settlements)}
        self.route_index = {r.id: i for i, r in enumerate(instance.routes)}
        self.cap = np.array([s.housing for s in instance.settlements], dtype=np.float64).reshape(-1, P)
        self.seats = np.array([r.seats for r in instance.routes], dtype=np.float64).reshape(-1, P)
        self.budget = np.array(instance.budget, dtype=np.float64)
        self.settlement_route = np.array([self.route_index[s.route] for s in instance.settlements], dtype=np.int64)
        gates = [instance.gate_phase(s) for s in instance.settlements]
        self.settlement_gate = np.array([P if g is None else g for g in gates], dtype=np.int64)
        cohorts = instance.cohorts
        self.cohorts = cohorts
        self.c_settlement = np.array([self.settlement_index[c.settlement] for c in cohorts], dtype=np.int64)
        self.c_route = self.settlement_route[self.c_settlement] if len(cohorts) else np.zeros(0, np.int64)
        self.c_gate = self.settlement_gate[self.c_settlement] if len(cohorts) else np.zeros(0, np.int64)
        self.c_persons = np.array([c.persons for c in cohorts], dtype=np.float64)
        self.c_households = np.array([c.household_count for c in cohorts], dtype=np.float64)
        self.c_weight = np.array([instance.cohort_weight(c) for c in cohorts], dtype=np.float64)
        self.cp = instance.standards.cost_per_person
        self.c_cost = self.c_persons * self.cp
        self.earliness = (P - np.arange(P)) / P
        self.penalty = instance.split_penalty
        # A little room for rounding in money, per phase and ten times stricter than the check's (places and
        # seats are whole numbers).
        self.money_eps = 1e-7 * np.maximum(1.0, self.budget)


def restricted(
    pb: Problem, cohorts: list[int], used: np.ndarray, seats_used: np.ndarray, spent: np.ndarray
) -> tuple[Problem, np.ndarray]:
    """The problem of placing only ``cohorts`` in what the rest of a plan leaves (its housing, seats, money).

    Returns the smaller problem and, for each of its settlements, the index of that settlement in ``pb``.
    """
    sub = Problem.__new__(Problem)
    sub.instance = pb.instance
    sub.phases = pb.phases
    sub.route_index = pb.route_index
    index = np.array(cohorts, dtype=np.int64)
    settlements = np.unique(pb.c_settlement[index])
    local = {int(s): i for i, s in enumerate(settlements)}
    sub.settlement_index = {pb.instance.settlements[int(s)].id: i for i, s in enumerate(settlements)}
    sub.cap = np.maximum(pb.cap[settlements] - used[settlements], 0.0)
    sub.seats = np.maximum(pb.seats - seats_used, 0.0)
    sub.budget = np.maximum(pb.budget - spent, 0.0)
    sub.settlement_route = pb.settlement_route[settlements]
    sub.settlement_gate = pb.settlement_gate[settlements]
    sub.cohorts = tuple(pb.cohorts[c] for c in cohorts)
    sub.c_settlement = np.array([local[int(pb.c_settlement[c])] for c in cohorts], dtype=np.int64)
    sub.c_route = pb.c_route[index]
    sub.c_gate = pb.c_gate[index]
    sub.c_persons = pb.c_persons[index]
    sub.c_households = pb.c_households[index]
    sub.c_weight = pb.c_weight[index]
    sub.cp = pb.cp
    sub.c_cost = pb.c_cost[index]
    sub.earliness = pb.earliness
    sub.penalty = pb.penalty
    sub.money_eps = pb.money_eps
    return sub, settlements
