"""The return-plan solver on its own: files, bad input, plans checked independently, optimality on instances
small enough to enumerate every plan, splits only when they pay, and the reasons a cohort cannot go."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from homeward.cli import main
from homeward.planning.solver import lagrange, programs
from homeward.planning.solver.arrays import Problem
from homeward.planning.solver.check import check
from homeward.planning.solver.files import (
    PlanFileError,
    instance_to_dict,
    parse_instance,
    parse_moves,
    read_instance,
    solution_to_dict,
    write_json,
)
from homeward.planning.solver.generate import generate
from homeward.planning.solver.model import Move, plan_value
from homeward.planning.solver.resources import cohesion, resources
from homeward.planning.solver.solve import solve

pytestmark = pytest.mark.database_free

START = "2027-04-01"


def tiny(**changes: object) -> dict:
    """A hand-made instance: two settlements on two routes, three phases of 30 days."""
    data = {
        "format": "homeward.return-plan.instance", "version": 1, "name": "tiny",
        "start_date": START, "phase_days": 30, "phases": 3,
        "weights": {"vulnerability": 1.0, "split_penalty": 0.5},
        "standards": {"transport_cost_per_person": 10, "package_cost_per_person": 20},
        "budget": [1000, 1000, 1000],
        "routes": [{"id": "R1", "name": "North", "seats": [20, 20, 20]}, {"id": "R2", "seats": [20, 20, 20]}],
        "settlements": [
            {"id": "A", "name": "Alpha", "route": "R1", "safe_from": START, "housing": [8, 14, 30]},
            {"id": "B", "name": "Beta", "route": "R2", "safe_from": "2027-05-01", "housing": [30, 30, 30]},
        ],
        "cohorts": [
            {"id": "a1", "settlement": "A", "households": {"2": 2, "3": 2}, "vulnerable_persons": 2},
            {"id": "a2", "settlement": "A", "kind": "own", "households": {"4": 1}},
            {"id": "b1", "settlement": "B", "households": {"1": 1, "5": 2}, "vulnerable_persons": 0},
        ],
    }  # fmt: skip
    data.update(changes)
    return data


def test_generated_instances_repeat_exactly_and_round_trip_through_their_file(tmp_path: Path) -> None:
    one = generate(settlements=30, persons=5000, phases=6, seed=7)
    again = generate(settlements=30, persons=5000, phases=6, seed=7)
    other = generate(settlements=30, persons=5000, phases=6, seed=8)
    assert instance_to_dict(one) == instance_to_dict(again)
    assert instance_to_dict(one) != instance_to_dict(other)
    assert sum(c.persons for c in one.cohorts) == 5000
    assert all(list(s.housing) == sorted(s.housing) for s in one.settlements)
    write_json(tmp_path / "i.json", instance_to_dict(one))
    assert instance_to_dict(read_instance(tmp_path / "i.json")) == instance_to_dict(one)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["settlements"][0].__setitem__("housing", [8, -1, 30]),
            "settlements[0].housing[1]: must not be negative (-1)",
        ),
        (lambda d: d.__setitem__("phase_days", 0), "phase_days: must be at least 1, not 0"),
        (
            lambda d: d["routes"][1].__setitem__("seats", [5, 5]),
            "routes[1].seats: must have one value per phase (3), not 2",
        ),
        (
            lambda d: d["settlements"][0].__setitem__("housing", [8, 4, 30]),
            "settlements[0].housing[1]: housing is counted cumulatively",
        ),
        (lambda d: d["settlements"][1].__setitem__("route", "R9"), "settlements[1].route: no route 'R9' in routes"),
        (lambda d: d["cohorts"][2].__setitem__("settlement", "Z"), "cohorts[2].settlement: no settlement 'Z'"),
        (lambda d: d["cohorts"][0].__setitem__("households", {}), "cohorts[0].households: must be an object"),
        (
            lambda d: d["cohorts"][1].__setitem__("vulnerable_persons", 9),
            "cohorts[1].vulnerable_persons: 9 is more than",
        ),
        (lambda d: d.__setitem__("budget", [1000, "lots", 1000]), "budget[1]: must be a number"),
        (lambda d: d["cohorts"].append(dict(d["cohorts"][0])), "cohorts[3].id: 'a1' appears twice"),
        (lambda d: d["settlements"][0].__setitem__("safe_from", "soon"), "settlements[0].safe_from: must be a date"),
        (lambda d: d.__setitem__("format", "something else"), "format: must be 'homeward.return-plan.instance'"),
    ],
)
def test_bad_instances_are_refused_naming_the_field_and_the_reason(change, expected: str, tmp_path: Path) -> None:
    data = tiny()
    change(data)
    with pytest.raises(PlanFileError) as caught:
        parse_instance(data)
    assert any(expected in error for error in caught.value.errors), caught.value.errors
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "solution.json"
    assert main(["plan", "solve", str(path), "--out", str(out)]) == 2
    assert not out.exists()


def test_a_file_that_is_not_json_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "homeward.return-plan.instance",\n  "version": 1,,}')
    assert main(["plan", "solve", str(path), "--out", str(tmp_path / "s.json")]) == 2
    assert "not JSON (line 2" in capsys.readouterr().err


def test_plans_pass_the_independent_check_and_report_a_bound_no_lower_than_their_value() -> None:
    instance = generate(settlements=40, persons=12000, phases=8, seed=3)
    plan = solve(instance, time_limit=4, method="heuristic")
    result = check(instance, plan.moves, reported_objective=plan.objective)
    assert result.valid, result.errors[:5]
    assert result.objective == pytest.approx(plan.objective)
    assert plan.bound >= plan.objective - 1e-6
    assert 0 <= plan.gap < 1
    placed = {m.cohort for m in plan.moves}
    assert placed | {u.cohort for u in plan.unplaced} == {c.id for c in instance.cohorts}
    assert not placed & {u.cohort for u in plan.unplaced}
    assert [t.seconds for t in plan.trace] == sorted(t.seconds for t in plan.trace)


def _all_plans(instance):
    """Every plan of a tiny instance: each cohort stays, moves whole in a phase, or splits over two adjacent
    phases by any division of its households."""
    P = instance.phases
    options_per_cohort = []
    for cohort in instance.cohorts:
        options = [[]]
        for p in range(P):
            options.append([Move(cohort.id, p, cohort.households)])
        counts = [range(n + 1) for _size, n in cohort.households]
        for later in itertools.product(*counts):
            second = tuple((size, k) for (size, _n), k in zip(cohort.households, later, strict=True) if k)
            first = tuple((size, n - k) for (size, n), k in zip(cohort.households, later, strict=True) if n - k)
            if not first or not second:
                continue
            for p in range(P - 1):
                options.append([Move(cohort.id, p, first), Move(cohort.id, p + 1, second)])
        options_per_cohort.append(options)
    for combo in itertools.product(*options_per_cohort):
        yield [m for option in combo for m in option]


def test_on_a_tiny_instance_the_plan_is_the_best_of_every_possible_plan() -> None:
    instance = parse_instance(tiny())
    best = max(
        (plan_value(instance, moves) for moves in _all_plans(instance) if check(instance, moves).valid),
    )
    for method in ("auto", "exact"):
        plan = solve(instance, time_limit=20, method=method)
        assert check(instance, plan.moves).valid
        assert plan.objective == pytest.approx(best), method
        assert plan.status == "optimal"
        assert plan.bound == pytest.approx(best)


def test_exact_milp_confirms_the_heuristic_never_beats_the_optimum_on_small_generated_instances() -> None:
    for seed in (1, 2, 3):
        instance = generate(settlements=6, persons=900, phases=4, seed=seed)
        heuristic = solve(instance, time_limit=3, method="heuristic")
        exact = solve(instance, time_limit=60, method="exact")
        assert exact.status == "optimal"
        assert check(instance, exact.moves).valid
        assert heuristic.objective <= exact.objective + 1e-6
        assert heuristic.bound >= exact.objective - 1e-6  # the LP bound holds


def test_a_cohort_is_never_split_when_a_plan_of_equal_value_keeps_it_together() -> None:
    # Two cohorts of four share four seats a phase. Moving one in each phase is worth as much as splitting
    # both half and half, before the split penalty: the plan must keep both together.
    data = tiny(
        phases=2, budget=[1000, 1000], weights={"vulnerability": 0.0, "split_penalty": 0.001},
        routes=[{"id": "R1", "seats": [4, 4]}],
        settlements=[{"id": "A", "route": "R1", "safe_from": START, "housing": [8, 8]}],
        cohorts=[
            {"id": "x", "settlement": "A", "households": {"2": 2}},
            {"id": "y", "settlement": "A", "households": {"2": 2}},
        ],
    )  # fmt: skip
    instance = parse_instance(data)
    for method in ("auto", "heuristic", "exact"):
        plan = solve(instance, time_limit=10, method=method)
        assert len(plan.moves) == 2, method
        assert {m.phase for m in plan.moves} == {0, 1}
        assert plan.objective == pytest.approx(4 * 1 + 4 * 0.5)


def test_a_cohort_splits_over_two_adjacent_phases_when_capacity_forces_it_and_the_split_is_reported() -> None:
    data = tiny(
        phases=3, budget=[1000, 1000, 1000], weights={"vulnerability": 0.0, "split_penalty": 0.01},
        routes=[{"id": "R1", "seats": [6, 6, 6]}],
        settlements=[{"id": "A", "route": "R1", "safe_from": START, "housing": [10, 10, 10]}],
        cohorts=[{"id": "big", "settlement": "A", "households": {"2": 5}}],
    )  # fmt: skip
    instance = parse_instance(data)
    plan = solve(instance, time_limit=10)
    assert sorted((m.phase, m.persons) for m in plan.moves) == [(0, 6), (1, 4)]
    solution = solution_to_dict(instance, plan)
    assert solution["splits"] == [{"cohort": "big", "phases": [1, 2], "persons": [6, 4]}]
    assert check(instance, plan.moves).valid


def test_each_cohort_left_out_says_which_constraint_blocks_it() -> None:
    data = tiny(
        phases=2, budget=[300, 300], weights={"vulnerability": 0.0, "split_penalty": 0.5},
        routes=[{"id": "R1", "name": "North road", "seats": [20, 20]}, {"id": "R2", "seats": [3, 3]}],
        settlements=[
            {"id": "U", "name": "Unsafe", "route": "R1", "safe_from": None, "housing": [50, 50]},
            {"id": "S", "name": "Small", "route": "R1", "safe_from": START, "housing": [3, 3]},
            {"id": "F", "name": "Far", "route": "R2", "safe_from": START, "housing": [50, 50]},
            {"id": "L", "name": "Late", "route": "R1", "safe_from": "2030-01-01", "housing": [50, 50]},
            {"id": "O", "name": "Open", "route": "R1", "safe_from": START, "housing": [50, 50]},
        ],
        cohorts=[
            {"id": "gate", "settlement": "U", "households": {"2": 1}},
            {"id": "late", "settlement": "L", "households": {"2": 1}},
            {"id": "housing", "settlement": "S", "households": {"2": 2}},
            {"id": "transport", "settlement": "F", "households": {"4": 2}},
            {"id": "first", "settlement": "O", "households": {"5": 2}, "vulnerable_persons": 10},
            {"id": "second", "settlement": "O", "households": {"5": 2}},
            {"id": "third", "settlement": "O", "households": {"5": 2}},
            {"id": "budget", "settlement": "O", "households": {"7": 3}},
        ],
    )  # fmt: skip
    data["standards"] = {"package_cost_per_person": 30}
    instance = parse_instance(data)
    plan = solve(instance, time_limit=10)
    assert check(instance, plan.moves).valid
    reasons = {u.cohort: u for u in plan.unplaced}
    assert reasons["gate"].reason == "gate"
    assert "Unsafe is not assessed safe" in reasons["gate"].message
    assert reasons["late"].reason == "gate"
    assert "2030-01-01" in reasons["late"].message
    assert reasons["housing"].reason == "housing"
    assert "only 3 places" in reasons["housing"].message
    assert reasons["transport"].reason == "transport"
    assert reasons["budget"].reason == "budget"
    assert reasons["third"].reason == "competition"
    assert {m.cohort for m in plan.moves} == {"first", "second"}
    assert "North road" in reasons["third"].message


def test_no_one_to_plan_for_and_gates_before_the_start_are_said_plainly() -> None:
    data = tiny(cohorts=[])
    data["settlements"][1]["safe_from"] = "2020-01-01"
    instance = parse_instance(data)
    plan = solve(instance, time_limit=5)
    assert plan.status == "empty"
    assert plan.moves == []
    assert any("no one to plan for" in w for w in plan.warnings)
    assert any("assessed safe before the plan starts" in w for w in plan.warnings)


def test_the_check_finds_every_kind_of_broken_plan() -> None:
    instance = parse_instance(tiny())
    plan = solve(instance, time_limit=10)
    assert check(instance, plan.moves).valid
    a1 = next(c for c in instance.cohorts if c.id == "a1")
    b1 = next(c for c in instance.cohorts if c.id == "b1")
    cases = {
        "assessed safe only from 2027-05-01": [Move("b1", 0, b1.households)],
        "not adjacent": [Move("a1", 0, ((2, 1),)), Move("a1", 2, ((2, 1), (3, 2)))],
        "a cohort moves whole": [Move("a1", 2, ((2, 2), (3, 1)))],
        "but it has only 8 places then": [Move("a1", 0, a1.households)],
        "moves in 3 phases": [Move("a1", 0, ((2, 1),)), Move("a1", 1, ((2, 1),)), Move("a1", 2, ((3, 2),))],
    }
    for expected, moves in cases.items():
        errors = check(instance, moves).errors
        assert any(expected in e for e in errors), (expected, errors)
    over_seats = copy.deepcopy(tiny())
    over_seats["routes"][0]["seats"] = [20, 20, 5]
    tight = parse_instance(over_seats)
    assert any("seats" in e for e in check(tight, [Move("a1", 2, a1.households)]).errors)
    poor = copy.deepcopy(tiny())
    poor["budget"] = [1000, 1000, 100]
    assert any("more than its budget" in e for e in check(parse_instance(poor), [Move("a1", 2, a1.households)]).errors)
    assert any("objective" in e for e in check(instance, plan.moves, reported_objective=plan.objective + 1).errors)
    moves, errors = parse_moves(
        {"format": "homeward.return-plan.solution", "moves": [{"cohort": "zz", "phase": 9}]}, instance
    )
    assert moves == []
    assert any("no cohort 'zz'" in e for e in errors)


def test_resources_follow_the_standards_and_cohesion_counts_households_moving_together() -> None:
    instance = parse_instance(tiny())
    moves = [Move("a1", 2, ((2, 2), (3, 2))), Move("a2", 1, ((4, 1),)), Move("b1", 1, ((1, 1), (5, 2)))]
    rows = resources(instance, moves)
    assert [(r["phase"], r["route"], r["persons"], r["households"]) for r in rows] == [
        (2, "R1", 4, 1), (2, "R2", 11, 3), (3, "R1", 10, 4)
    ]  # fmt: skip
    row = rows[2]
    assert row["shelter_m2"] == 35.0
    assert row["water_litres"] == 10 * 15 * 180
    assert row["nfi_kits"] == 4
    assert row["toilets"] == 1
    assert row["cost"] == 10 * 30
    together = cohesion(instance, moves)
    assert together["settlements"] == {"A": 0.8, "B": 1.0}
    assert together["overall"] == round((4 + 3) / (5 + 3), 4)


def test_the_commands_generate_solve_and_check_files_without_a_database(tmp_path: Path, capsys) -> None:
    inst, sol = tmp_path / "instance.json", tmp_path / "solution.json"
    assert main(["plan", "generate", "--settlements", "20", "--persons", "3000", "--phases", "6", "--seed", "2",
                 "--out", str(inst)]) == 0  # fmt: skip
    assert main(["plan", "solve", str(inst), "--out", str(sol), "--time-limit", "10", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    solution = json.loads(sol.read_text())
    assert summary["objective"] == solution["objective"]
    assert summary["bound"] >= summary["objective"]
    assert solution["persons_placed"] == sum(m["persons"] for m in solution["moves"])
    assert solution["resources"]
    assert solution["cohesion"]["overall"] is not None
    assert main(["plan", "check", str(inst), str(sol)]) == 0
    assert "valid: objective" in capsys.readouterr().out
    solution["moves"][0]["phase"] = 1 if solution["moves"][0]["phase"] != 1 else 2
    sol.write_text(json.dumps(solution))
    assert main(["plan", "check", str(inst), str(sol)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_phase_dates_follow_the_start_and_the_phase_length() -> None:
    instance = parse_instance(tiny())
    assert instance.phase_start(2) == dt.date(2027, 5, 31)
    assert [instance.gate_phase(s) for s in instance.settlements] == [0, 1]


def test_the_settlement_schedule_bound_holds_at_any_prices() -> None:
    # A settlement with six cohorts (more than the exact schedule takes) and one with three.
    data = tiny(
        phases=4, budget=[300, 300, 300, 300], weights={"vulnerability": 0.5, "split_penalty": 0.2},
        standards={"package_cost_per_person": 10},
        routes=[{"id": "R1", "seats": [12, 12, 14, 14]}],
        settlements=[
            {"id": "A", "route": "R1", "safe_from": START, "housing": [6, 12, 20, 30]},
            {"id": "B", "route": "R1", "safe_from": "2027-05-01", "housing": [0, 9, 9, 14]},
        ],
        cohorts=[
            {"id": f"a{i}", "settlement": "A", "households": {str(1 + i % 3): 1, "2": 1}, "vulnerable_persons": i % 2}
            for i in range(6)
        ]
        + [
            {"id": "b1", "settlement": "B", "households": {"3": 2}},
            {"id": "b2", "settlement": "B", "households": {"1": 1, "2": 1}},
            {"id": "b3", "settlement": "B", "households": {"4": 1}},
        ],
    )  # fmt: skip
    instance = parse_instance(data)
    optimum = solve(instance, time_limit=60, method="exact")
    assert optimum.status == "optimal"
    pb = Problem(instance)
    rng = np.random.default_rng(5)
    for _ in range(20):
        seat_price = rng.uniform(0, 0.5, pb.seats.shape) * rng.integers(0, 2, pb.seats.shape)
        money_price = rng.uniform(0, 0.02, pb.phases) * rng.integers(0, 2, pb.phases)
        assert lagrange.evaluate(pb, seat_price, money_price).bound >= optimum.objective - 1e-6
    plan = solve(instance, time_limit=20, method="heuristic")
    assert plan.bound >= optimum.objective - 1e-6
    assert plan.objective <= optimum.objective + 1e-6


def test_without_shared_limits_the_settlement_schedule_is_the_optimum() -> None:
    # Seats and budget to spare, splits never worth their penalty: only housing binds, and the dynamic
    # programme over each settlement's cohorts is exact.
    data = tiny(
        phases=5, budget=[1e6] * 5, weights={"vulnerability": 1.0, "split_penalty": 100.0},
        routes=[{"id": "R1", "seats": [1000] * 5}],
        settlements=[{"id": "A", "route": "R1", "safe_from": START, "housing": [4, 9, 12, 20, 26]}],
        cohorts=[
            {"id": "community", "settlement": "A", "households": {"4": 2, "3": 2}, "vulnerable_persons": 3},
            {"id": "own", "settlement": "A", "households": {"4": 1}},
            {"id": "elsewhere", "settlement": "A", "households": {"2": 2, "1": 1}, "vulnerable_persons": 4},
        ],
    )  # fmt: skip
    instance = parse_instance(data)
    best = max(plan_value(instance, moves) for moves in _all_plans(instance) if check(instance, moves).valid)
    pb = Problem(instance)
    assert lagrange.evaluate(pb, np.zeros_like(pb.seats), np.zeros(pb.phases)).bound == pytest.approx(best)


def test_on_a_generated_community_the_plan_is_proven_close_to_optimal() -> None:
    instance = generate(settlements=100, persons=50_000, phases=12, seed=4)
    plan = solve(instance, time_limit=60, method="heuristic", target_gap=0.01)
    assert check(instance, plan.moves).valid
    assert plan.gap <= 0.01, (plan.objective, plan.bound)
    relaxed = programs.relaxation(Problem(instance), 120)
    assert relaxed is not None
    assert plan.bound <= relaxed.bound + 1e-6  # the schedule bound is no weaker than the plain LP's


def test_a_phase_with_no_budget_moves_no_one_even_when_another_phase_is_rich() -> None:
    data = tiny(
        phases=2, budget=[0, 1e9], standards={"transport_cost_per_person": 100},
        routes=[{"id": "R1", "seats": [50, 50]}],
        settlements=[{"id": "A", "route": "R1", "safe_from": START, "housing": [50, 50]}],
        cohorts=[{"id": "c", "settlement": "A", "households": {"5": 2}}],
    )  # fmt: skip
    instance = parse_instance(data)
    for method in ("auto", "heuristic", "exact"):
        plan = solve(instance, time_limit=10, method=method)
        assert check(instance, plan.moves, reported_objective=plan.objective).valid, method
        assert [(m.phase, m.persons) for m in plan.moves] == [(1, 10)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["routes"][0].__setitem__("seats", [10**400, 1, 1]), "routes[0].seats[0]: is too large"),
        (lambda d: d.__setitem__("budget", [10**30, 1, 1]), "budget[0]: is too large"),
        (lambda d: d["settlements"][1].pop("safe_from"), "settlements[1].safe_from: is missing"),
        (lambda d: d["cohorts"][0].__setitem__("origin", "Nowhere"), "cohorts[0].origin: no settlement 'Nowhere'"),
        (lambda d: d.update(start_date="9990-01-01", phase_days=3660), "phases: the plan would end after"),
    ],
)
def test_absurd_values_are_refused_with_their_field(change, expected: str) -> None:
    data = tiny()
    change(data)
    with pytest.raises(PlanFileError) as caught:
        parse_instance(data)
    assert any(expected in error for error in caught.value.errors), caught.value.errors


def test_unreadable_files_and_unwritable_outputs_fail_cleanly(tmp_path: Path, capsys) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    long_number = tmp_path / "long.json"
    long_number.write_text('{"phases": ' + "9" * 5000 + "}")
    for path in (deep, long_number):
        assert main(["plan", "solve", str(path), "--out", str(tmp_path / "s.json")]) == 2
        assert "cannot be read as a plan file" in capsys.readouterr().err
    instance = tmp_path / "i.json"
    write_json(instance, tiny())
    folder = tmp_path / "taken"
    folder.mkdir()
    assert main(["plan", "solve", str(instance), "--out", str(folder), "--time-limit", "2"]) == 2
    assert not (tmp_path / "taken.part").exists()
    assert main(["plan", "generate", "--settlements", "2", "--persons", "10", "--phases", "241",
                 "--out", str(tmp_path / "g.json")]) == 2  # fmt: skip
    assert not (tmp_path / "g.json").exists()


def test_a_household_too_large_for_any_phase_is_blocked_by_transport_not_by_competition() -> None:
    data = tiny(
        phases=3, budget=[1e6] * 3, routes=[{"id": "R1", "name": "Pass", "seats": [6, 6, 6]}],
        settlements=[{"id": "A", "route": "R1", "safe_from": START, "housing": [50, 50, 50]}],
        cohorts=[{"id": "big", "settlement": "A", "households": {"10": 1}}],
    )  # fmt: skip
    plan = solve(parse_instance(data), time_limit=5)
    assert [(u.cohort, u.reason) for u in plan.unplaced] == [("big", "transport")]
