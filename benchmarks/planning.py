"""Return planning: how fast a feasible plan comes, how fast it is proven close to optimal, against HiGHS MILP.

Usage: uv run python benchmarks/planning.py [--time-limit 60] [--skip-baseline]

Instances from ``homeward plan generate`` (seed 1, 24 phases, 10 routes): 100 settlements and 50,000
persons, 500 and 250,000, 2,000 and 1,000,000. For each, Homeward's solver (``method="heuristic"``: greedy,
sweep, column generation over settlement schedules with their proven bound, plans that follow it, local
search) reports the time to its first feasible plan, the time until its plan is within 1 % and 0.5 % of
the bound proven at that moment, and the gap at the end (it stops when the bound stops improving, or at the
time limit). The plain LP relaxation (every cohort's own moves, no settlement schedules) is solved too, and
the final plan's gap against it is shown, since it is the bound most solvers would quote.

Baseline: the whole problem as one HiGHS MILP (whole households, splits over adjacent phases), with the
same time limit, on the 100- and 500-settlement instances (building it for 2,000 settlements in Python takes
longer than the time limit). On two small instances HiGHS solves the MILP to optimality, which confirms
the heuristic's plan and bound against the true optimum. Each case runs in its own process, with its own
peak memory. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

SIZES = [(100, 50_000), (500, 250_000), (2000, 1_000_000)]
SMALL = [(10, 3_000, 6), (30, 15_000, 8)]
TARGETS = {"first_feasible_seconds": 2.0, "half_percent_seconds": 15.0}


def _first(trace: list[dict[str, float]], gap: float) -> float | None:
    for point in trace:
        bound = point["bound"]
        if bound and bound > 0 and (bound - point["objective"]) / bound <= gap:
            return round(point["seconds"], 2)
    return None


def case_homeward(settlements: int, persons: int, phases: int, time_limit: float) -> dict[str, object]:
    from homeward.planning.solver import programs
    from homeward.planning.solver.arrays import Problem
    from homeward.planning.solver.check import check
    from homeward.planning.solver.generate import generate
    from homeward.planning.solver.solve import solve

    instance = generate(settlements=settlements, persons=persons, phases=phases, seed=1)
    plan = solve(instance, time_limit=time_limit, method="heuristic", target_gap=0.0)
    trace = [{"seconds": t.seconds, "objective": t.objective, "bound": t.bound} for t in plan.trace]
    started = time.perf_counter()
    relaxed = programs.relaxation(Problem(instance), time_limit)
    lp_seconds = time.perf_counter() - started
    valid = check(instance, plan.moves, reported_objective=plan.objective).valid
    return {
        "cohorts": len(instance.cohorts),
        "first_feasible_seconds": round(plan.trace[0].seconds, 3),
        "gap_1pct_seconds": _first(trace, 0.01),
        "gap_half_pct_seconds": _first(trace, 0.005),
        "seconds": round(plan.seconds, 1),
        "objective": round(plan.objective, 1),
        "bound": round(plan.bound, 1),
        "final_gap": round(plan.gap, 5),
        "plain_lp_bound": round(relaxed.bound, 1) if relaxed else None,
        "plain_lp_seconds": round(lp_seconds, 1),
        "gap_to_plain_lp": round((relaxed.bound - plan.objective) / relaxed.bound, 5) if relaxed else None,
        "check_valid": valid,
        "persons_placed": sum(m.persons for m in plan.moves),
        "splits": len(plan.moves) - len({m.cohort for m in plan.moves}),
    }


def case_milp(settlements: int, persons: int, phases: int, time_limit: float) -> dict[str, object]:
    from homeward.planning.solver import programs
    from homeward.planning.solver.arrays import Problem
    from homeward.planning.solver.generate import generate

    instance = generate(settlements=settlements, persons=persons, phases=phases, seed=1)
    started = time.perf_counter()
    result = programs.exact(Problem(instance), time_limit)
    seconds = time.perf_counter() - started
    if result is None:
        return {"seconds": round(seconds, 1), "objective": None, "bound": None, "optimal": False}
    return {
        "seconds": round(seconds, 1),
        "objective": round(result.objective, 1),
        "bound": round(result.bound, 1),
        "optimal": result.optimal,
    }


def _child(kind: str, settlements: int, persons: int, phases: int, time_limit: float) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--case", kind, str(settlements), str(persons), str(phases), str(time_limit)],
        capture_output=True, text=True, check=True, env=os.environ,
    )  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--case", nargs=5)
    args = parser.parse_args()
    if args.case:
        kind, s, p, ph, limit = args.case
        run = case_homeward if kind == "homeward" else case_milp
        result = run(int(s), int(p), int(ph), float(limit))
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
        return
    report: dict[str, object] = {"time_limit": args.time_limit, "phases": 24, "routes": 10, "sizes": {}}
    sizes: dict[str, object] = {}
    for settlements, persons in SIZES:
        key = f"{settlements}x{persons}"
        entry: dict[str, object] = {"homeward": _child("homeward", settlements, persons, 24, args.time_limit)}
        if not args.skip_baseline and settlements <= 500:
            entry["highs_milp"] = _child("milp", settlements, persons, 24, args.time_limit)
        sizes[key] = entry
    report["sizes"] = sizes
    small: dict[str, object] = {}
    for settlements, persons, phases in SMALL:
        ours = _child("homeward", settlements, persons, phases, args.time_limit)
        exact = _child("milp", settlements, persons, phases, max(args.time_limit, 300))
        gap = None
        if exact.get("optimal") and exact["objective"]:
            gap = round((float(exact["objective"]) - float(ours["objective"])) / float(exact["objective"]), 5)  # type: ignore[arg-type]
        small[f"{settlements}x{persons}x{phases}"] = {
            "homeward": {k: ours[k] for k in ("objective", "bound", "final_gap", "seconds")},
            "highs_milp": exact,
            "homeward_below_optimum": gap,
            "bound_holds": exact.get("objective") is None or float(ours["bound"]) >= float(exact["objective"]) - 1e-3,  # type: ignore[arg-type]
        }
    report["small_exact"] = small
    big = sizes[f"{SIZES[-1][0]}x{SIZES[-1][1]}"]["homeward"]  # type: ignore[index]
    report["targets"] = TARGETS
    report["meets_target"] = (
        big["first_feasible_seconds"] <= TARGETS["first_feasible_seconds"]
        and big["gap_half_pct_seconds"] is not None
        and big["gap_half_pct_seconds"] <= TARGETS["half_percent_seconds"]
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
