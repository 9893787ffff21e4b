"""Planning scenarios: made from a census snapshot or an instance file, copied for what-if, changed, solved.

Every write runs in one transaction with its audit event. A scenario holds counts per settlement, never a
person: its cohorts come from a census snapshot (pseudonymous, frozen and hashed), so a scenario can be
traced to the exact state of the registry it plans for.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.progress import NullProgress, Progress
from homeward.gazetteer.models import SecurityAssessment, Settlement
from homeward.gazetteer.selectors import latest_assessment
from homeward.planning.derive import Parameters, Place, communities_from, instance_from
from homeward.planning.models import PlanScenario, PlanSolution
from homeward.planning.solver.files import (
    MAX_PHASES,
    PlanFileError,
    dumps,
    instance_sha256,
    instance_to_dict,
    parse_instance,
    solution_to_dict,
)
from homeward.planning.solver.model import Instance, Standards

MAX_TIME_LIMIT = 600.0
MAX_IMPORT_BYTES = 20 * 1024 * 1024  # an instance of 2,000 settlements and 24 phases is about 2 MB
CHANGE_KINDS = ("gate", "housing", "seats", "budget")


def _problem(field: str, value: Any, reason: str) -> ValidationError:
    return ValidationError(f"{field}: {reason}", [(field, str(value)[:80], reason)])


def _checked(data: dict[str, Any], *, where: str = "") -> Instance:
    """The instance the solver will read, or every wrong field named."""
    try:
        return parse_instance(data)
    except PlanFileError as exc:
        raise ValidationError(
            f"{where}the plan inputs cannot be used: {exc}",
            [(e.split(":")[0], "", e.split(":", 1)[-1].strip()) for e in exc.errors],
        ) from None


def _number(field: str, value: Any, *, low: float = 0.0, high: float = 1e15, whole: bool = False) -> Any:
    try:
        number = int(str(value).strip()) if whole else float(str(value).strip())
    except (TypeError, ValueError):
        raise _problem(field, value, "not a whole number" if whole else "not a number") from None
    if not (low <= number <= high):  # also refuses NaN
        raise _problem(field, value, f"must be between {low:g} and {high:g}")
    return number


def _name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise _problem("name", value, "a scenario needs a name")
    if len(name) > 200:
        raise _problem("name", name[:50], "at most 200 characters")
    return name


def _date(field: str, value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise _problem(field, value, "not a date YYYY-MM-DD") from None


# Per-person quantities a planner may change from the Sphere minimums: name -> (whole number, lowest, highest).
STANDARD_FIELDS = {
    "shelter_m2_per_person": (False, 0.0, 1000.0),
    "water_litres_per_person_day": (False, 0.0, 1000.0),
    "food_kcal_per_person_day": (False, 0.0, 10000.0),
    "support_days": (True, 0, 3650),
    "persons_per_toilet": (True, 1, 10000),
    "persons_per_tap": (True, 1, 100000),
    "nfi_kits_per_household": (False, 0.0, 100.0),
}


def _standards(values: dict[str, Any]) -> dict[str, Any]:
    """The standards given (empty ones keep the Sphere default), each checked."""
    out = {}
    for name, (whole, low, high) in STANDARD_FIELDS.items():
        value = values.get(name)
        if value is None or str(value).strip() == "":
            continue
        out[name] = _number(name, value, low=low, high=high, whole=whole)
    return out


# --- Gates from the gazetteer ----------------------------------------------------------------------------------


def gate_of(settlement: Settlement | None, start: dt.date) -> tuple[dt.date | None, str]:
    """The settlement's return gate: open from its latest assessment as safe (from the plan's start when that
    was earlier), closed when the latest says anything else or there is none."""
    if settlement is None:
        return None, "not in the gazetteer"
    found = latest_assessment(settlement)
    if found is None:
        return None, "not assessed"
    note = f"{found.level} since {found.assessed_on.isoformat()} ({found.source})"[:300]
    if found.level != SecurityAssessment.Level.SAFE:
        return None, note
    return max(found.assessed_on, start), note


# --- Writes ----------------------------------------------------------------------------------------------------


def _parameters(
    *, name: str, start_date: Any, phase_days: Any, phases: Any, seats_per_route: Any = 2000, budget_per_phase: Any = 0,
    housing_start_percent: Any = 20, housing_step_percent: Any = 10, transport_cost_per_person: Any = 0,
    package_cost_per_person: Any = 0, cash_grant_per_person: Any = 0, currency: str = "USD",
    vulnerability_weight: Any = 1.0, split_penalty: Any = 1.0, standards: dict[str, Any] | None = None,
) -> Parameters:  # fmt: skip
    """The planner's parameters, each checked, or the first wrong one named."""
    return Parameters(
        name=_name(name), start_date=_date("start_date", start_date),
        phase_days=_number("phase_days", phase_days, low=1, high=3660, whole=True),
        phases=_number("phases", phases, low=1, high=MAX_PHASES, whole=True),
        seats_per_route=_number("seats_per_route", seats_per_route, whole=True, high=10**12),
        budget_per_phase=_number("budget_per_phase", budget_per_phase),
        housing_start_percent=_number("housing_start_percent", housing_start_percent, high=100),
        housing_step_percent=_number("housing_step_percent", housing_step_percent, high=100),
        vulnerability_weight=_number("vulnerability_weight", vulnerability_weight, high=100),
        split_penalty=_number("split_penalty", split_penalty, high=1e6),
        standards=replace(
            Standards(),
            transport_cost_per_person=_number("transport_cost_per_person", transport_cost_per_person),
            package_cost_per_person=_number("package_cost_per_person", package_cost_per_person),
            cash_grant_per_person=_number("cash_grant_per_person", cash_grant_per_person),
            currency=(str(currency or "USD").strip() or "USD")[:8],
            **_standards(standards or {}),
        ),
    )  # fmt: skip


def scenario_create_start(
    *, actor: Any, snapshot_id: int | None = None, basis: str = "intentions", notes: str = "", **given: Any
) -> Any:
    """Check the planner's parameters now, then count the cohorts as a background job (a snapshot of a
    million persons takes a while); returns the Job."""
    from homeward.census.services import snapshot_get
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    _parameters(**given)
    if basis not in ("eligible", "intentions"):
        raise _problem("basis", basis, "one of eligible, intentions")
    try:
        snapshot = snapshot_get(snapshot_id)
    except NotFoundError as exc:
        raise ValidationError(str(exc), [("snapshot", str(snapshot_id or ""), "not found")]) from None
    params = {**{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in given.items()},
              "snapshot_id": snapshot.pk, "basis": basis, "notes": str(notes or "")[:5000]}  # fmt: skip
    with transaction.atomic():
        job = job_enqueue(kind="planning.create", params=params, created_by_id=who.user_id)
        audit_record(actor=who, action="planning.scenario.queued", target=job, data={"snapshot": snapshot.pk})
    return job


def scenario_create(
    *, actor: Any, snapshot_id: int | None = None, notes: str = "", basis: str = "intentions",
    progress: Progress | None = None, **given: Any,
) -> PlanScenario:  # fmt: skip
    """A scenario whose cohorts are the returning households of a census snapshot (the latest unless named):
    on ``basis`` "intentions", those whose members said they intend to return, each the way they chose; on
    "eligible", every eligible member's household, as a ceiling; with gates from the gazetteer's security
    assessments and the planner's capacities, budget, costs and standards (see ``_parameters``)."""
    from homeward.census.services import load_snapshot, snapshot_get

    progress = progress or NullProgress()
    progress.start(100, "scenario")
    who = actor_of(actor)
    params = _parameters(**given)
    start = params.start_date
    try:
        snapshot = snapshot_get(snapshot_id)
    except NotFoundError as exc:
        raise ValidationError(str(exc), [("snapshot", str(snapshot_id or ""), "not found")]) from None
    state = load_snapshot(snapshot)
    progress.advance(30, "households")
    if basis not in ("eligible", "intentions"):
        raise _problem("basis", basis, "one of eligible, intentions")
    derived = communities_from(state.persons, state.members, state.households, on=start, basis=basis)
    progress.advance(40, "gates")
    s = state.settlements
    rows = zip(*(s.column(c).to_pylist() for c in ("sid", "gid", "title", "district", "district_name", "population")),
               strict=True)  # fmt: skip
    used = {k[0] for k in derived.communities} | {k[2] for k in derived.communities}
    wanted = {row[0]: row[1:] for row in rows if row[0] in used}
    gazetteer = {
        x.gid: x
        for x in Settlement.objects.filter(gid__in=[w[0] for w in wanted.values()]).select_related("admin_unit")
    }
    places = {}
    for sid, (gid, title, district, district_name, population) in wanted.items():
        safe_from, gate_note = gate_of(gazetteer.get(gid), start)
        places[sid] = Place(gid, title, district or "", district_name or "", population, safe_from, gate_note)
    instance, no_figure = instance_from(derived, places, params)
    if not instance["cohorts"]:
        who_counts = ("no eligible adult who intends to return" if basis == "intentions"
                      else "no eligible living member")  # fmt: skip
        raise ValidationError(
            f"census snapshot {snapshot.pk} has {who_counts} with a known origin settlement: there is no one to "
            "plan for" + (" (members record their intentions first; or plan for every eligible member as a "
                          "ceiling)" if basis == "intentions" else ""),
            [("snapshot", str(snapshot.pk), "no one to plan for")],
        )  # fmt: skip
    parsed = _checked(instance)
    progress.advance(20, "saving")
    derivation = {
        "snapshot": snapshot.pk, "snapshot_sha256": snapshot.content_hash,
        "reference_date": snapshot.reference_date.isoformat(), "persons": derived.persons,
        "households": derived.households, "eligible_without_origin": derived.eligible_without_origin,
        "households_too_large": derived.households_too_large, "no_housing_figure": no_figure[:100],
        "decisions": dict(derived.decisions), "children_alone": derived.children_alone,
        "no_housing_figure_count": len(no_figure),
        "rules": {"seats_per_route": params.seats_per_route, "budget_per_phase": params.budget_per_phase,
                  "housing_start_percent": params.housing_start_percent,
                  "housing_step_percent": params.housing_step_percent},
    }  # fmt: skip
    with transaction.atomic():
        scenario = PlanScenario.objects.create(
            name=params.name, start_date=start, phase_days=params.phase_days, phases=params.phases,
            notes=str(notes or "")[:5000], basis=basis, snapshot=snapshot,
            instance=instance_to_dict(parsed), instance_sha256=instance_sha256(parsed), derivation=derivation,
            owner_id=who.user_id,
        )  # fmt: skip
        audit_record(
            actor=who, action="planning.scenario.created", target=scenario,
            data={"snapshot": snapshot.pk, "cohorts": len(parsed.cohorts), "persons": derived.persons},
        )  # fmt: skip
    progress.advance(10, "done")
    return scenario


def read_instance_bytes(data: bytes, *, source: str = "file") -> dict[str, Any]:
    """JSON from an uploaded file, or the line and column where it breaks."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _problem(source, "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            [(f"line {exc.lineno}", "", exc.msg)],
        ) from None
    except RecursionError:
        raise _problem(source, "", "nested too deeply") from None
    if not isinstance(parsed, dict):
        raise _problem(source, "", "must be a JSON object (a return-plan instance)")
    return parsed


def scenario_import(*, actor: Any, data: bytes, name: str = "", notes: str = "") -> PlanScenario:
    """A scenario from a plan instance file (docs/planning.md); the file is refused whole when a field is
    wrong, with every wrong field named."""
    who = actor_of(actor)
    if len(data) > MAX_IMPORT_BYTES:
        raise _problem("file", f"{len(data):,} bytes", "larger than 20 MB")
    raw = read_instance_bytes(data)
    parsed = _checked(raw)
    stored = instance_to_dict(parsed)
    if name:
        stored["name"] = _name(name)
        parsed = _checked(stored)
    with transaction.atomic():
        scenario = PlanScenario.objects.create(
            name=parsed.name[:200], start_date=parsed.start_date, phase_days=parsed.phase_days, phases=parsed.phases,
            notes=str(notes or "")[:5000], basis=PlanScenario.Basis.FILE, instance=stored,
            instance_sha256=instance_sha256(parsed),
            derivation={"notes": list(parsed.warnings), "persons": sum(c.persons for c in parsed.cohorts)},
            owner_id=who.user_id,
        )  # fmt: skip
        audit_record(
            actor=who, action="planning.scenario.imported", target=scenario,
            data={"sha256": scenario.instance_sha256, "cohorts": len(parsed.cohorts)},
        )  # fmt: skip
    return scenario


def scenario_get(scenario_id: int) -> PlanScenario:
    found = PlanScenario.objects.select_related("owner", "copied_from", "snapshot").filter(pk=scenario_id).first()
    if found is None:
        raise NotFoundError(f"scenario {scenario_id} not found")
    return found


def scenario_copy(*, actor: Any, scenario_id: int, name: str = "") -> PlanScenario:
    """A what-if copy: the same inputs, to change and solve, then compare with the original."""
    who = actor_of(actor)
    source = scenario_get(scenario_id)
    new_name = _name(name or f"{source.name} (what-if)"[:200])
    instance = {**source.instance, "name": new_name}
    parsed = _checked(instance)
    with transaction.atomic():
        copy = PlanScenario.objects.create(
            name=new_name, start_date=source.start_date, phase_days=source.phase_days, phases=source.phases,
            notes=source.notes, basis=source.basis, snapshot=source.snapshot, copied_from=source,
            instance=instance_to_dict(parsed), instance_sha256=instance_sha256(parsed),
            derivation=source.derivation, changes=list(source.changes), owner_id=who.user_id,
        )  # fmt: skip
        audit_record(actor=who, action="planning.scenario.copied", target=copy, data={"from": source.pk})
    return copy


def _phase_from(value: Any, phases: int) -> int:
    return int(_number("from_phase", value or 1, low=1, high=phases, whole=True))


def scenario_change(
    *, actor: Any, scenario_id: int, kind: str, target: str = "", value: Any = None, from_phase: Any = 1
) -> PlanScenario:
    """Change one input for what-if: a settlement's gate date (empty: not safe), its housing from a phase on,
    a route's seats from a phase on, or the budget from a phase on. The change is recorded with the value
    before, and the inputs are checked whole before anything is saved."""
    who = actor_of(actor)
    if kind not in CHANGE_KINDS:
        raise _problem("kind", kind, f"one of {', '.join(CHANGE_KINDS)}")
    with transaction.atomic():
        scenario = PlanScenario.objects.select_for_update().filter(pk=scenario_id).first()
        if scenario is None:
            raise NotFoundError(f"scenario {scenario_id} not found")
        instance = json.loads(json.dumps(scenario.instance))
        first = _phase_from(from_phase, scenario.phases) - 1
        target = str(target or "")[:120] if kind != "budget" else ""
        change: dict[str, Any] = {"kind": kind, "target": target, "at": timezone.now().isoformat(timespec="seconds")}
        if kind in ("gate", "housing"):
            found = next((s for s in instance["settlements"] if s["id"] == target), None)
            if found is None:
                raise _problem("settlement", target, "not a settlement of this scenario")
            if kind == "gate":
                text = str(value or "").strip()
                after = _date("safe_from", text).isoformat() if text else None
                change.update(before=found.get("safe_from"), after=after)
                found["safe_from"] = after
                found["gate_note"] = "changed in this scenario"
            else:
                places = int(_number("housing", value, whole=True, high=10**12))
                before = list(found["housing"])
                if first > 0 and places < before[first - 1]:
                    raise _problem("value", places, f"housing never falls: phase {first} already has "
                                                    f"{before[first - 1]} places")  # fmt: skip
                # More places: at least that many from the phase on. Fewer: at most that many from the phase on
                # (reconstruction delayed). Housing never falls from one phase to the next either way.
                raise_to = places >= before[first]
                found["housing"] = [
                    h if p < first else (max(h, places) if raise_to else min(h, places)) for p, h in enumerate(before)
                ]
                change.update(before=before, after=found["housing"], from_phase=first + 1)
        elif kind == "seats":
            found = next((r for r in instance["routes"] if r["id"] == target), None)
            if found is None:
                raise _problem("route", target, "not a route of this scenario")
            seats = int(_number("seats", value, whole=True, high=10**12))
            before = list(found["seats"])
            found["seats"] = [seats if p >= first else s for p, s in enumerate(before)]
            change.update(before=before, after=found["seats"], from_phase=first + 1)
        else:
            amount = _number("budget", value)
            before = list(instance["budget"])
            instance["budget"] = [amount if p >= first else b for p, b in enumerate(before)]
            change.update(before=before, after=instance["budget"], from_phase=first + 1)
        parsed = _checked(instance)
        scenario.instance = instance_to_dict(parsed)
        scenario.instance_sha256 = instance_sha256(parsed)
        scenario.changes = [*scenario.changes, change]
        scenario.save(update_fields=["instance", "instance_sha256", "changes", "updated_at"])
        audit_record(
            actor=who, action="planning.scenario.changed", target=scenario,
            data={"kind": kind, "target": target, "from_phase": change.get("from_phase"), "after": change.get("after")},
        )  # fmt: skip
    return scenario


def scenario_solve(
    *, actor: Any, scenario_id: int, time_limit: Any = 30, progress: Progress | None = None
) -> PlanSolution:
    """Solve the scenario's inputs as they are now, check the plan independently, and keep both."""
    from homeward.planning.solver.check import check
    from homeward.planning.solver.resources import cohesion, resources
    from homeward.planning.solver.solve import solve

    who = actor_of(actor)
    limit = _number("time_limit", time_limit, low=1, high=MAX_TIME_LIMIT)
    scenario = scenario_get(scenario_id)
    instance = _checked(scenario.instance)
    progress = progress or NullProgress()
    progress.start(100, "planning")
    shown = [0]

    def step(message: str, done: float) -> None:
        percent = int(done * 100)
        if percent > shown[0]:
            progress.advance(percent - shown[0], message)
            shown[0] = percent

    plan = solve(instance, time_limit=limit, step=step)
    extra = {"cohesion": cohesion(instance, plan.moves), "resources": resources(instance, plan.moves)}
    data = solution_to_dict(instance, plan, extra)
    # The pages translate each reason from its template and parameters.
    for entry, item in zip(data["unplaced"], plan.unplaced, strict=True):
        entry["template"], entry["params"] = item.template, item.params
    checked = check(instance, plan.moves, reported_objective=plan.objective)
    json.loads(dumps(data))  # the solution must be storable as it is written to files
    with transaction.atomic():
        solution = PlanSolution.objects.create(
            scenario=scenario, instance_sha256=data["instance_sha256"], instance=scenario.instance, solution=data,
            status=plan.status,
            method=plan.method[:80], objective=plan.objective, bound=plan.bound, gap=plan.gap,
            persons_placed=data["persons_placed"], persons_total=data["persons_total"], seconds=plan.seconds,
            time_limit=limit, check_errors=checked.errors[:100], created_by_id=who.user_id,
        )  # fmt: skip
        audit_record(
            actor=who, action="planning.plan.solved", target=solution,
            data={"scenario": scenario.pk, "objective": round(plan.objective, 6), "bound": round(plan.bound, 6),
                  "valid": checked.valid},
        )  # fmt: skip
    progress.advance(max(0, 100 - shown[0]), "done")
    return solution


def scenario_solve_start(*, actor: Any, scenario_id: int, time_limit: Any = 30) -> Any:
    """Queue a solve of the scenario as a background job; returns the Job."""
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    limit = _number("time_limit", time_limit, low=1, high=MAX_TIME_LIMIT)
    scenario = scenario_get(scenario_id)
    _checked(scenario.instance)
    with transaction.atomic():
        job = job_enqueue(kind="planning.solve", params={"scenario": scenario.pk, "time_limit": limit},
                          created_by_id=who.user_id)  # fmt: skip
        audit_record(actor=who, action="planning.solve.queued", target=job, data={"scenario": scenario.pk})
    return job


def scenario_delete(*, actor: Any, scenario_id: int) -> None:
    who = actor_of(actor)
    with transaction.atomic():
        scenario = scenario_get(scenario_id)
        audit_record(actor=who, action="planning.scenario.deleted", target=scenario,
                     data={"name": scenario.name, "sha256": scenario.instance_sha256})  # fmt: skip
        scenario.delete()
