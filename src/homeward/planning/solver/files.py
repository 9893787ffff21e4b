"""Instance and solution files (JSON, documented in docs/planning.md): read with every error named, written stably."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from homeward.planning.solver.model import (
    COHORT_KINDS,
    Cohort,
    Instance,
    Move,
    Plan,
    Route,
    Settlement,
    Standards,
    persons_in,
)

INSTANCE_FORMAT = "homeward.return-plan.instance"
SOLUTION_FORMAT = "homeward.return-plan.solution"
VERSION = 1
MAX_PHASES = 240
MAX_HOUSEHOLD_SIZE = 40
MAX_COUNT = 10**12  # persons, places, seats: far above any community, and exact in floating point
MAX_AMOUNT = 1e15  # money
_MAX_ERRORS = 20


class PlanFileError(ValueError):
    """A file that cannot be used; ``errors`` names each field (a JSON path) and the reason."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
        super().__init__("; ".join(errors[:_MAX_ERRORS]) + more)


class _Reader:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(f"{path}: {reason}")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return {}
        return value

    def text(self, data: dict[str, Any], key: str, path: str, *, required: bool = True, default: str = "") -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{path}.{key}", "is missing")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{path}.{key}", "must be a non-empty text")
            return default
        return value.strip()

    def integer(self, value: Any, path: str, *, low: int = 0, high: int | None = MAX_COUNT) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_COUNT:
            self.fail(path, f"is too large (at most {MAX_COUNT:,})")
            return 0
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(path, f"must be a whole number, not {json.dumps(value)[:40]}")
            return 0
        if isinstance(value, float) and not value.is_integer():
            self.fail(path, f"must be a whole number, not {value}")
            return 0
        number = int(value)
        if number < low:
            self.fail(path, f"must be at least {low}, not {number}" if low else f"must not be negative ({number})")
            return 0
        if high is not None and number > high:
            self.fail(path, f"must be at most {high}, not {number}")
            return 0
        return number

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_AMOUNT:
            self.fail(path, f"is too large (at most {MAX_AMOUNT:,.0f})")
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(path, f"must be a number, not {json.dumps(value)[:40]}")
            return 0.0
        if value < 0:
            self.fail(path, f"must not be negative ({value})")
            return 0.0
        if value > MAX_AMOUNT:
            self.fail(path, f"is too large (at most {MAX_AMOUNT:,.0f})")
            return 0.0
        return float(value)

    def date(self, value: Any, path: str) -> dt.date | None:
        if not isinstance(value, str):
            self.fail(path, "must be a date (YYYY-MM-DD)")
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(path, f"must be a date (YYYY-MM-DD), not {value[:40]!r}")
            return None

    def items(self, value: Any, path: str, *, non_empty: bool) -> list[Any]:
        if not isinstance(value, list) or (non_empty and not value):
            self.fail(path, "must be a non-empty list" if non_empty else "must be a list")
            return []
        return value

    def new_id(self, obj: dict[str, Any], path: str, seen: set[str]) -> str:
        """The item's id, which must not repeat one seen before in its list."""
        value = self.text(obj, "id", path)
        if value in seen:
            self.fail(f"{path}.id", f"{value!r} appears twice")
        seen.add(value)
        return value

    def per_phase(self, value: Any, path: str, phases: int, *, whole: bool = True) -> tuple[Any, ...]:
        if not isinstance(value, list):
            self.fail(path, f"must be a list of {phases} numbers, one per phase")
            return (0,) * phases
        if len(value) != phases:
            self.fail(path, f"must have one value per phase ({phases}), not {len(value)}")
            return (0,) * phases
        if whole:
            return tuple(self.integer(v, f"{path}[{i}]") for i, v in enumerate(value))
        return tuple(self.number(v, f"{path}[{i}]") for i, v in enumerate(value))


def _load_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except UnicodeDecodeError as exc:
        raise PlanFileError([f"{path}: not UTF-8 text ({exc.reason})"]) from exc
    except json.JSONDecodeError as exc:
        raise PlanFileError([f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"]) from exc
    except (ValueError, RecursionError, OverflowError) as exc:  # numbers too long, nesting too deep
        raise PlanFileError([f"{path}: cannot be read as a plan file ({type(exc).__name__}: {str(exc)[:80]})"]) from exc


def _households(r: _Reader, value: Any, path: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, dict) or not value:
        r.fail(path, 'must be an object of household size to number of households, e.g. {"4": 12}')
        return ()
    out: dict[int, int] = {}
    for key, count in value.items():
        try:
            size = int(key)
        except (TypeError, ValueError):
            r.fail(f"{path}.{key}", "a household size must be a whole number")
            continue
        if not 1 <= size <= MAX_HOUSEHOLD_SIZE:
            r.fail(f"{path}.{key}", f"a household size must be from 1 to {MAX_HOUSEHOLD_SIZE}")
            continue
        n = r.integer(count, f"{path}.{key}")
        if n:
            out[size] = out.get(size, 0) + n
    return tuple(sorted(out.items()))


def parse_instance(data: Any, *, source: str = "instance") -> Instance:
    """An Instance from parsed JSON; raises PlanFileError naming every bad field."""
    r = _Reader()
    top = r.obj(data, source)
    if not top:
        raise PlanFileError(r.errors or [f"{source}: empty"])
    if top.get("format") != INSTANCE_FORMAT:
        r.fail("format", f"must be {INSTANCE_FORMAT!r} (is this a return-plan instance file?)")
    if top.get("version") != VERSION:
        r.fail("version", f"must be {VERSION}")
    name = r.text(top, "name", "$", required=False, default="return plan")
    start = r.date(top.get("start_date"), "start_date") or dt.date(2000, 1, 1)
    phase_days = r.integer(top.get("phase_days"), "phase_days", low=1, high=3660)
    phases = r.integer(top.get("phases"), "phases", low=1, high=MAX_PHASES)
    if not r.errors and start.year + (phase_days * phases) // 365 + 1 > 9999:
        r.fail("phases", "the plan would end after the year 9999")
    if r.errors:  # nothing per phase can be read without these
        raise PlanFileError(r.errors)

    weights = r.obj(top.get("weights", {}), "weights")
    vulnerability = r.number(weights.get("vulnerability", 1.0), "weights.vulnerability")
    split_penalty = r.number(weights.get("split_penalty", 1.0), "weights.split_penalty")
    std_data = r.obj(top.get("standards", {}), "standards")
    defaults = Standards()
    std_values: dict[str, Any] = {}
    for key, default in asdict(defaults).items():
        if key not in std_data:
            continue
        if key == "currency":
            std_values[key] = r.text(std_data, key, "standards")
        elif isinstance(default, int):
            std_values[key] = r.integer(std_data[key], f"standards.{key}", low=1 if key.startswith("persons") else 0)
        else:
            std_values[key] = r.number(std_data[key], f"standards.{key}")
    for key in std_data:
        if key not in std_values and key not in asdict(defaults):
            r.fail(f"standards.{key}", "is not a known standard")
    standards = Standards(**std_values)

    routes: list[Route] = []
    route_ids: set[str] = set()
    for i, item in enumerate(r.items(top.get("routes"), "routes", non_empty=True)):
        path = f"routes[{i}]"
        obj = r.obj(item, path)
        rid = r.new_id(obj, path, route_ids)
        routes.append(
            Route(
                rid,
                r.text(obj, "name", path, required=False, default=rid),
                r.per_phase(obj.get("seats"), f"{path}.seats", phases),
            )
        )

    settlements: list[Settlement] = []
    settlement_ids: set[str] = set()
    past_gates = 0
    for i, item in enumerate(r.items(top.get("settlements"), "settlements", non_empty=True)):
        path = f"settlements[{i}]"
        obj = r.obj(item, path)
        sid = r.new_id(obj, path, settlement_ids)
        route = r.text(obj, "route", path)
        if route and route not in route_ids:
            r.fail(f"{path}.route", f"no route {route!r} in routes")
        if "safe_from" not in obj:
            r.fail(f"{path}.safe_from", "is missing (a date, or null when the settlement is not assessed safe)")
        safe_from = None if obj.get("safe_from") is None else r.date(obj.get("safe_from"), f"{path}.safe_from")
        if safe_from is not None and safe_from.year > 9000:
            r.fail(f"{path}.safe_from", "is too far in the future")
        if safe_from is not None and safe_from < start:
            past_gates += 1
        housing = r.per_phase(obj.get("housing"), f"{path}.housing", phases)
        for p in range(1, len(housing)):
            if housing[p] < housing[p - 1]:
                r.fail(
                    f"{path}.housing[{p}]",
                    f"housing is counted cumulatively (places ready by the end of each phase) and cannot fall "
                    f"from {housing[p - 1]} to {housing[p]}",
                )
                break
        settlements.append(
            Settlement(
                sid,
                r.text(obj, "name", path, required=False, default=sid),
                r.text(obj, "district", path, required=False),
                route,
                safe_from,
                housing,
                r.text(obj, "gate_note", path, required=False),
            )
        )
    if past_gates:
        r.warnings.append(
            f"{past_gates} settlement(s) were assessed safe before the plan starts ({start.isoformat()}): they are "
            "open from phase 1; check that their assessments are still current"
        )

    budget = r.per_phase(top.get("budget"), "budget", phases, whole=False)

    cohorts: list[Cohort] = []
    cohort_ids: set[str] = set()
    for i, item in enumerate(r.items(top.get("cohorts", []), "cohorts", non_empty=False)):
        path = f"cohorts[{i}]"
        obj = r.obj(item, path)
        cid = r.new_id(obj, path, cohort_ids)
        settlement = r.text(obj, "settlement", path)
        if settlement and settlement not in settlement_ids:
            r.fail(f"{path}.settlement", f"no settlement {settlement!r} in settlements")
        kind = r.text(obj, "kind", path, required=False, default="community")
        if kind not in COHORT_KINDS:
            r.fail(f"{path}.kind", f"must be one of {', '.join(COHORT_KINDS)}")
        households = _households(r, obj.get("households"), f"{path}.households")
        persons = persons_in(households)
        if households and persons == 0:
            r.fail(f"{path}.households", "the cohort has no one in it")
        vulnerable = r.integer(obj.get("vulnerable_persons", 0), f"{path}.vulnerable_persons")
        if vulnerable > persons:
            r.fail(f"{path}.vulnerable_persons", f"{vulnerable} is more than the cohort's {persons} persons")
        origin = r.text(obj, "origin", path, required=False)
        if origin and origin not in settlement_ids:
            r.fail(f"{path}.origin", f"no settlement {origin!r} in settlements")
        cohorts.append(Cohort(cid, settlement, kind, households, vulnerable, origin))

    if r.errors:
        raise PlanFileError(r.errors)
    return Instance(
        name=name,
        start_date=start,
        phase_days=phase_days,
        phases=phases,
        routes=tuple(routes),
        settlements=tuple(settlements),
        budget=budget,
        cohorts=tuple(cohorts),
        standards=standards,
        vulnerability_weight=vulnerability,
        split_penalty=split_penalty,
        warnings=tuple(r.warnings),
    )


def read_instance(path: Path) -> Instance:
    return parse_instance(_load_json(path), source=str(path))


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    return {
        "format": INSTANCE_FORMAT,
        "version": VERSION,
        "name": instance.name,
        "start_date": instance.start_date.isoformat(),
        "phase_days": instance.phase_days,
        "phases": instance.phases,
        "weights": {"vulnerability": instance.vulnerability_weight, "split_penalty": instance.split_penalty},
        "standards": asdict(instance.standards),
        "budget": list(instance.budget),
        "routes": [{"id": r.id, "name": r.name, "seats": list(r.seats)} for r in instance.routes],
        "settlements": [
            {
                "id": s.id,
                "name": s.name,
                "district": s.district,
                "route": s.route,
                "safe_from": s.safe_from.isoformat() if s.safe_from else None,
                **({"gate_note": s.gate_note} if s.gate_note else {}),
                "housing": list(s.housing),
            }
            for s in instance.settlements
        ],
        "cohorts": [
            {
                "id": c.id,
                "settlement": c.settlement,
                "kind": c.kind,
                **({"origin": c.origin} if c.origin else {}),
                "households": {str(size): n for size, n in c.households},
                "vulnerable_persons": c.vulnerable_persons,
            }
            for c in instance.cohorts
        ],
    }


def dumps(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n").encode()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Written to a temporary file first, so a failed write never leaves half a file under the name."""
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(dumps(data))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def instance_sha256(instance: Instance) -> str:
    return hashlib.sha256(dumps(instance_to_dict(instance))).hexdigest()


def solution_to_dict(instance: Instance, plan: Plan, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    by_cohort: dict[str, list[Move]] = {}
    for move in plan.moves:
        by_cohort.setdefault(move.cohort, []).append(move)
    splits = [
        {"cohort": cid, "phases": [m.phase + 1 for m in ms], "persons": [m.persons for m in ms]}
        for cid, ms in sorted(by_cohort.items())
        if len(ms) > 1
    ]
    return {
        "format": SOLUTION_FORMAT,
        "version": VERSION,
        "instance": instance.name,
        "instance_sha256": instance_sha256(instance),
        "status": plan.status,
        "method": plan.method,
        "objective": round(plan.objective, 6),
        "bound": round(plan.bound, 6),
        "gap": round(plan.gap, 8),
        "seconds": round(plan.seconds, 3),
        "persons_placed": sum(m.persons for m in plan.moves),
        "persons_total": sum(c.persons for c in instance.cohorts),
        "moves": [
            {
                "cohort": m.cohort,
                "phase": m.phase + 1,
                "persons": m.persons,
                "households": {str(size): n for size, n in m.households},
            }
            for m in sorted(plan.moves, key=lambda m: (m.phase, m.cohort))
        ],
        "splits": splits,
        "unplaced": [
            {"cohort": u.cohort, "persons": u.persons, "reason": u.reason, "message": u.message, "detail": u.detail}
            for u in plan.unplaced
        ],
        "warnings": list(plan.warnings),
        "trace": [
            {
                "seconds": round(t.seconds, 3),
                "objective": round(t.objective, 6),
                "bound": None if t.bound is None else round(t.bound, 6),
                "event": t.event,
            }
            for t in plan.trace
        ],
        **(extra or {}),
    }


def parse_moves(data: Any, instance: Instance) -> tuple[list[Move], list[str]]:
    """The moves of a solution file and the structural errors found in them (phase numbers, unknown cohorts)."""
    errors: list[str] = []
    if not isinstance(data, dict) or data.get("format") != SOLUTION_FORMAT:
        return [], [f"format: must be {SOLUTION_FORMAT!r} (is this a return-plan solution file?)"]
    raw = data.get("moves")
    if not isinstance(raw, list):
        return [], ["moves: must be a list"]
    known = {c.id for c in instance.cohorts}
    r = _Reader()
    moves: list[Move] = []
    for i, item in enumerate(raw):
        path = f"moves[{i}]"
        obj = r.obj(item, path)
        cid = r.text(obj, "cohort", path)
        if cid and cid not in known:
            r.fail(f"{path}.cohort", f"no cohort {cid!r} in the instance")
            continue
        phase = r.integer(obj.get("phase"), f"{path}.phase", low=1, high=instance.phases)
        households = _households(r, obj.get("households"), f"{path}.households")
        if cid and phase and households:
            moves.append(Move(cid, phase - 1, households))
    errors.extend(r.errors)
    return moves, errors
