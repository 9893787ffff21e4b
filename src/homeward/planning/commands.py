"""``homeward plan generate|solve|check``: return plans on files, without a database or keys."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from homeward.core.commandline import parse_args as _parse
from homeward.core.commandline import say as _say
from homeward.core.progress import PercentBar

USAGE = """\
usage: homeward plan generate --settlements N --persons M --phases P --seed S --out INSTANCE.json
       homeward plan solve INSTANCE.json --out SOLUTION.json [--time-limit S] [--method auto|heuristic|exact]
       homeward plan check INSTANCE.json SOLUTION.json
"""


def _fail(text: str) -> int:
    sys.stderr.write(f"homeward plan: {text}\n")
    return 2


def _generate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="homeward plan generate", description="Write a synthetic return-plan instance."
    )
    parser.add_argument("--settlements", type=int, required=True)
    parser.add_argument("--persons", type=int, required=True)
    parser.add_argument("--phases", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--routes", type=int, default=10)
    parser.add_argument("--phase-days", type=int, default=90)
    parser.add_argument("--out", type=Path, required=True)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    from homeward.planning.solver.files import MAX_PHASES, instance_to_dict, write_json
    from homeward.planning.solver.generate import generate

    if args.settlements < 1 or args.phases < 1 or args.routes < 1 or args.phase_days < 1:
        return _fail("--settlements, --phases, --routes and --phase-days must be at least 1")
    if args.persons < 0:
        return _fail("--persons must not be negative")
    if args.phases > MAX_PHASES or args.phase_days > 3660:
        return _fail(f"--phases may be at most {MAX_PHASES} and --phase-days at most 3660")
    instance = generate(
        settlements=args.settlements, persons=args.persons, phases=args.phases, seed=args.seed,
        routes=args.routes, phase_days=args.phase_days,
    )  # fmt: skip
    try:
        write_json(args.out, instance_to_dict(instance))
    except OSError as exc:
        return _fail(f"{args.out}: {exc.strerror or exc}")
    _say(
        f"{len(instance.settlements):,} settlements, {len(instance.cohorts):,} cohorts, "
        f"{sum(c.persons for c in instance.cohorts):,} persons, {instance.phases} phases -> {args.out}"
    )
    return 0


def _solve(argv: list[str]) -> int:
    from homeward.planning.solver.solve import METHODS

    parser = argparse.ArgumentParser(
        prog="homeward plan solve",
        description="Solve a return-plan instance: writes the plan with its objective, proven bound and gap.",
    )
    parser.add_argument("instance", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--method", choices=METHODS, default="auto")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    if not args.time_limit > 0:
        return _fail("--time-limit must be more than 0 seconds")
    from homeward.planning.solver.files import PlanFileError, read_instance, solution_to_dict, write_json
    from homeward.planning.solver.resources import cohesion, resources
    from homeward.planning.solver.solve import solve

    try:
        instance = read_instance(args.instance)
    except PlanFileError as exc:
        return _fail(f"{args.instance} cannot be used:\n  " + "\n  ".join(exc.errors))
    except OSError as exc:
        return _fail(f"{args.instance}: {exc.strerror or exc}")
    bar = PercentBar("planning")
    step = bar.step

    try:
        plan = solve(instance, time_limit=args.time_limit, method=args.method, step=step)
    finally:
        bar.close()
    extra = {"cohesion": cohesion(instance, plan.moves), "resources": resources(instance, plan.moves)}
    data = solution_to_dict(instance, plan, extra)
    try:
        write_json(args.out, data)
    except OSError as exc:
        return _fail(f"{args.out}: {exc.strerror or exc}")
    reasons = Counter(u.reason for u in plan.unplaced)
    summary = {
        "status": plan.status, "method": plan.method, "objective": data["objective"], "bound": data["bound"],
        "gap": data["gap"], "seconds": data["seconds"], "persons_placed": data["persons_placed"],
        "persons_total": data["persons_total"], "splits": len(data["splits"]),
        "cohesion": data["cohesion"]["overall"], "unplaced": dict(sorted(reasons.items())), "warnings": plan.warnings,
    }  # fmt: skip
    if args.json:
        _say(json.dumps(summary, ensure_ascii=False))
        return 0
    _say(f"{plan.status} plan ({plan.method}) in {plan.seconds:.1f} s -> {args.out}")
    _say(f"objective {plan.objective:,.2f}; proven bound {plan.bound:,.2f}; gap {plan.gap:.2%}")
    _say(
        f"{data['persons_placed']:,} of {data['persons_total']:,} persons placed; {len(data['splits'])} cohorts split "
        f"over two phases; cohesion {data['cohesion']['overall'] if data['cohesion']['overall'] is not None else '-'}"
    )
    if plan.unplaced:
        _say(f"{len(plan.unplaced):,} cohorts not placed: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
        for item in plan.unplaced[:5]:
            _say(f"  {item.cohort}: {item.message}")
        if len(plan.unplaced) > 5:
            _say(f"  ... every one is listed with its reason in {args.out} (unplaced)")
    for warning in plan.warnings:
        _say(f"warning: {warning}")
    return 0


def _check(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="homeward plan check", description="Check a solution against its instance, every constraint and cohort."
    )
    parser.add_argument("instance", type=Path)
    parser.add_argument("solution", type=Path)
    parser.add_argument("--json", action="store_true")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    from homeward.planning.solver.check import check
    from homeward.planning.solver.files import PlanFileError, _load_json, parse_moves, read_instance

    try:
        instance = read_instance(args.instance)
        data = _load_json(args.solution)
    except PlanFileError as exc:
        return _fail("cannot be used:\n  " + "\n  ".join(exc.errors))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    moves, errors = parse_moves(data, instance)
    reported = data.get("objective") if isinstance(data, dict) else None
    result = check(instance, moves, reported_objective=reported if isinstance(reported, int | float) else None)
    errors = errors + result.errors
    if args.json:
        report = {
            "valid": not errors, "objective": round(result.objective, 6), "persons": result.persons,
            "cohorts_moved": result.cohorts_moved, "splits": result.splits, "errors": errors,
        }  # fmt: skip
        _say(json.dumps(report))
        return 0 if not errors else 1
    if errors:
        _say(f"INVALID: {len(errors)} problem(s)")
        for error in errors:
            _say(f"  {error}")
        return 1
    _say(
        f"valid: objective {result.objective:,.6f}; {result.persons:,} persons in {result.cohorts_moved:,} cohorts, "
        f"{result.splits} split"
    )
    return 0


def plan_command(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        _say(USAGE.rstrip())
        return 0 if argv else 2
    action, rest = argv[0], argv[1:]
    handlers = {"generate": _generate, "solve": _solve, "check": _check}
    if action not in handlers:
        return _fail(f"unknown action {action!r}\n{USAGE}")
    try:
        return handlers[action](rest)
    except KeyboardInterrupt:
        return 130
