"""Planning pages: scenarios made from the census or from a file, their plan with a Gantt chart, a map of
arrivals by phase, resources, downloads and a printable plan; what-if copies, changes and comparisons."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from homeward.access.gates import or_404, require_capability
from homeward.access.roles import Cap
from homeward.core.errors import NotFoundError, ValidationError
from homeward.planning import charts, outputs, selectors, services
from homeward.planning.models import PlanScenario, PlanSolution
from homeward.planning.solver.files import dumps
from homeward.planning.solver.model import Standards

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "svg": "image/svg+xml",
}
DOWNLOADS = {("instance", "json"), ("solution", "json"), ("plan", "csv"), ("plan", "xlsx"), ("resources", "csv"),
             ("gantt", "svg"), ("map", "svg")}  # fmt: skip
REASONS = {
    "gate": gettext_noop("security gate"), "housing": gettext_noop("housing"), "transport": gettext_noop("transport"),
    "budget": gettext_noop("budget"), "competition": gettext_noop("others had priority"),
}  # fmt: skip
STANDARD_LABELS = {
    "shelter_m2_per_person": gettext_noop("Covered living space per person (m²)"),
    "water_litres_per_person_day": gettext_noop("Water per person per day (litres)"),
    "food_kcal_per_person_day": gettext_noop("Food per person per day (kcal)"),
    "support_days": gettext_noop("Days of support after arrival"),
    "persons_per_toilet": gettext_noop("Persons per toilet"),
    "persons_per_tap": gettext_noop("Persons per water tap"),
    "nfi_kits_per_household": gettext_noop("Household item kits per household"),
}
CHANGES = {
    "earlier": gettext_noop("earlier"), "later": gettext_noop("later"), "now_placed": gettext_noop("now placed"),
    "no_longer_placed": gettext_noop("no longer placed"), "resplit": gettext_noop("divided differently"),
    "more_placed": gettext_noop("more placed"), "fewer_placed": gettext_noop("fewer placed"),
}  # fmt: skip


def _scenario(scenario_id: int) -> PlanScenario:
    return or_404(services.scenario_get, scenario_id)


def _solution(scenario: PlanScenario, solution_id: Any = None) -> PlanSolution | None:
    found = selectors.solutions_of(scenario)
    if solution_id:
        try:
            return found.filter(pk=int(solution_id)).first()
        except ValueError:
            return None
    return found.first()


def _message(line: outputs.CohortLine) -> str:
    """A cohort's reason in the reader's language, from the template and figures the solver kept."""
    if line.template:
        try:
            return _(line.template) % line.params
        except (KeyError, TypeError, ValueError):
            return line.message
    return line.message


def _gap_percent(solution: PlanSolution | None) -> str:
    return "" if solution is None else number_format(solution.gap * 100, 2)


def _plan_inputs(scenario: PlanScenario, solution: PlanSolution | None) -> dict[str, Any]:
    """The inputs a plan was solved for (kept with it), to show the plan against; the scenario's own when
    there is no plan, or for a plan kept before its inputs were."""
    found: dict[str, Any] = solution.instance if solution is not None and solution.instance else scenario.instance
    return found


def _phase_label(instance: dict[str, Any]) -> Any:
    def label(phase: int) -> str:
        start, _end = outputs.phase_dates(instance, phase)
        return f"{start:%Y-%m}"

    return label


def gantt(instance: dict[str, Any], lines: list[outputs.CohortLine]) -> str:
    districts = {s["district"]: s["district"] for s in instance["settlements"]}
    districts.update(selectors.district_names(list(districts)))

    def tip(place: str, phase: int, persons: int) -> str:
        start, end = outputs.phase_dates(instance, phase)
        return _("%(place)s, phase %(phase)s (%(start)s to %(end)s): %(persons)s persons") % {
            "place": place, "phase": phase, "start": start, "end": end,
            "persons": number_format(persons, force_grouping=True),
        }  # fmt: skip

    return charts.gantt_svg(
        lines, phases=instance["phases"], phase_label=_phase_label(instance), tip=tip, district_names=districts,
        not_placed=_("not placed"), title=_("Timeline of the return by district and settlement"),
    )  # fmt: skip


def flow_map(instance: dict[str, Any], lines: list[outputs.CohortLine], phase: int | None) -> str:
    coords = selectors.coordinates([s["id"] for s in instance["settlements"]])
    places = {s["id"]: (*coords[s["id"]], s["name"], s["route"]) for s in instance["settlements"] if s["id"] in coords}
    routes = {r["id"]: r["name"] for r in instance["routes"]}
    closed = {s["id"] for s in instance["settlements"] if s.get("safe_from") is None}
    title = (_("Arrivals in phase %(phase)s, by settlement and route") % {"phase": phase} if phase
             else _("Arrivals over the whole plan, by settlement and route"))  # fmt: skip

    def tip(name: str, persons: int) -> str:
        return _("%(place)s: %(persons)s persons arrive") % {
            "place": name,
            "persons": number_format(persons, force_grouping=True),
        }

    return charts.flow_map_svg(charts.arrivals_in(lines, phase), places, routes, title=title, tip=tip, closed=closed)


# --- Pages --------------------------------------------------------------------------------------------------------


@require_capability(Cap.PLANNING_VIEW)
@require_GET
def index_page(request: HttpRequest) -> HttpResponse:
    from homeward.census.selectors import snapshots

    defaults = Standards()
    standards = [(name, STANDARD_LABELS[name], getattr(defaults, name), spec[0])
                 for name, spec in services.STANDARD_FIELDS.items()]  # fmt: skip
    return render(request, "planning/index.html", {
        "scenarios": selectors.scenarios()[:100], "snapshots": snapshots()[:20],
        "today": timezone.localdate().isoformat(), "standards": standards,
    })  # fmt: skip


def _back_with(request: HttpRequest, exc: Exception, where: str) -> HttpResponse:
    messages.error(request, str(exc))
    return redirect(where)


@require_capability(Cap.PLANNING_EDIT)
@require_POST
def scenario_create(request: HttpRequest) -> HttpResponse:
    p = request.POST
    snapshot = p.get("snapshot") or None
    try:
        job = services.scenario_create_start(
            actor=request.user, name=p.get("name", ""), start_date=p.get("start_date", ""),
            phase_days=p.get("phase_days", ""), phases=p.get("phases", ""),
            snapshot_id=int(snapshot) if snapshot and snapshot.isdigit() else (-1 if snapshot else None),
            seats_per_route=p.get("seats_per_route", "0"), budget_per_phase=p.get("budget_per_phase", "0"),
            housing_start_percent=p.get("housing_start_percent", "0"),
            housing_step_percent=p.get("housing_step_percent", "0"),
            transport_cost_per_person=p.get("transport_cost_per_person", "0"),
            package_cost_per_person=p.get("package_cost_per_person", "0"),
            cash_grant_per_person=p.get("cash_grant_per_person", "0"), currency=p.get("currency", "USD"),
            vulnerability_weight=p.get("vulnerability_weight", "1"), notes=p.get("notes", ""),
            basis=p.get("basis", "intentions"),
            standards={name: p.get(name, "") for name in services.STANDARD_FIELDS},
        )  # fmt: skip
    except ValidationError as exc:
        return _back_with(request, exc, "planning_index")
    return redirect("job_detail", job_id=job.pk)


@require_capability(Cap.PLANNING_EDIT)
@require_POST
def scenario_import(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose an instance file to import."))
        return redirect("planning_index")
    if upload.size and upload.size > services.MAX_IMPORT_BYTES:
        messages.error(request, _("The file is larger than 20 MB."))
        return redirect("planning_index")
    try:
        scenario = services.scenario_import(actor=request.user, data=upload.read(), name=request.POST.get("name", ""))
    except ValidationError as exc:
        return _back_with(request, exc, "planning_index")
    messages.success(request, _("Scenario imported. Solve it to see its plan."))
    return redirect("planning_scenario", scenario_id=scenario.pk)


def _phase_param(request: HttpRequest, phases: int) -> int | None:
    value = request.GET.get("phase", "")
    return int(value) if value.isdigit() and 1 <= int(value) <= phases else None


@require_capability(Cap.PLANNING_VIEW)
@require_GET
def scenario_page(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = _scenario(scenario_id)
    solution = _solution(scenario, request.GET.get("solution"))
    data = solution.solution if solution else None
    solved = _plan_inputs(scenario, solution)
    lines = outputs.cohort_lines(solved, data)
    phase = _phase_param(request, solved["phases"])
    unplaced = [(line, _(REASONS.get(line.reason, line.reason)), _message(line)) for line in lines if line.reason]
    instance = scenario.instance
    drawn = set(selectors.coordinates([s["id"] for s in solved["settlements"]]))
    context = {
        "scenario": scenario, "solution": solution, "data": data, "phase": phase,
        "stale": solution is not None and solution.instance_sha256 != scenario.instance_sha256,
        "persons": sum(line.persons for line in lines), "cohorts": len(lines),
        "settlements": instance["settlements"], "routes": instance["routes"],
        "open_gates": sum(1 for s in instance["settlements"] if s.get("safe_from")),
        "phases": outputs.phase_totals(solved, data), "phase_numbers": range(1, solved["phases"] + 1),
        "not_drawn": [s["name"] for s in solved["settlements"] if s["id"] not in drawn],
        "unplaced": unplaced[:500], "unplaced_count": len(unplaced),
        "splits": (data or {}).get("splits", []),
        "gantt": gantt(solved, lines) if data else "", "map": flow_map(solved, lines, phase) if data else "",
        "history": selectors.solutions_of(scenario)[:10], "others": selectors.scenarios().exclude(pk=scenario.pk)[:50],
        "standards": instance.get("standards", {}), "budget_first": instance["budget"][0] if instance["budget"] else 0,
        "job": selectors.running_solve(scenario), "gap_percent": _gap_percent(solution),
    }  # fmt: skip
    return render(request, "planning/scenario.html", context)


@require_capability(Cap.PLANNING_EDIT)
@require_POST
def scenario_solve(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = _scenario(scenario_id)
    try:
        job = services.scenario_solve_start(
            actor=request.user, scenario_id=scenario.pk, time_limit=request.POST.get("time_limit", "30")
        )
    except ValidationError as exc:
        return _back_with(request, exc, reverse("planning_scenario", args=[scenario.pk]))
    return redirect("job_detail", job_id=job.pk)


@require_capability(Cap.PLANNING_EDIT)
@require_POST
def scenario_change(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = _scenario(scenario_id)
    p = request.POST
    back = reverse("planning_scenario", args=[scenario.pk])
    try:
        services.scenario_change(
            actor=request.user, scenario_id=scenario.pk, kind=p.get("kind", ""), target=p.get("target", ""),
            value=p.get("value", ""), from_phase=p.get("from_phase", "1"),
        )  # fmt: skip
    except (ValidationError, NotFoundError) as exc:
        return _back_with(request, exc, back)
    messages.success(request, _("Changed. Solve again to see the effect."))
    return redirect(back)


@require_capability(Cap.PLANNING_EDIT)
@require_POST
def scenario_copy(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = _scenario(scenario_id)
    try:
        copy = services.scenario_copy(actor=request.user, scenario_id=scenario.pk, name=request.POST.get("name", ""))
    except ValidationError as exc:
        return _back_with(request, exc, reverse("planning_scenario", args=[scenario.pk]))
    messages.success(request, _("What-if copy made: change its inputs, solve it, then compare."))
    return redirect("planning_scenario", scenario_id=copy.pk)


@require_capability(Cap.PLANNING_EDIT)
@require_POST
def scenario_delete(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = _scenario(scenario_id)
    services.scenario_delete(actor=request.user, scenario_id=scenario.pk)
    messages.success(request, _("Scenario deleted."))
    return redirect("planning_index")


def _file(name: str, data: bytes | str, fmt: str) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_capability(Cap.PLANNING_VIEW)
@require_GET
def scenario_download(request: HttpRequest, scenario_id: int, kind: str, fmt: str) -> HttpResponse:
    scenario = _scenario(scenario_id)
    if (kind, fmt) not in DOWNLOADS:
        raise Http404
    stem = f"scenario-{scenario.pk}"
    if kind == "instance":
        return _file(f"{stem}-instance.json", dumps(scenario.instance), fmt)
    solution = _solution(scenario, request.GET.get("solution"))
    if solution is None:
        messages.error(request, _("This scenario has no plan yet: solve it first."))
        return redirect("planning_scenario", scenario_id=scenario.pk)
    data = solution.solution
    solved = _plan_inputs(scenario, solution)
    if kind == "solution":
        return _file(f"{stem}-solution-{solution.pk}.json", dumps(data), fmt)
    if kind == "resources":
        return _file(f"{stem}-resources.csv", outputs.resources_csv(solved, data), fmt)
    lines = outputs.cohort_lines(solved, data)
    if kind == "gantt":
        return _file(f"{stem}-timeline.svg", gantt(solved, lines), fmt)
    if kind == "map":
        return _file(f"{stem}-map.svg", flow_map(solved, lines, _phase_param(request, solved["phases"])), fmt)
    if fmt == "csv":
        return _file(f"{stem}-plan.csv", outputs.plan_csv(solved, data), fmt)
    return _file(f"{stem}-plan.xlsx", outputs.plan_xlsx(solved, data, title=scenario.name), fmt)


@require_capability(Cap.PLANNING_VIEW)
@require_GET
def scenario_print(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """The plan as a document to print or save as PDF: summary, phases, timeline, and every settlement."""
    scenario = _scenario(scenario_id)
    solution = _solution(scenario, request.GET.get("solution"))
    data = solution.solution if solution else None
    solved = _plan_inputs(scenario, solution)
    lines = outputs.cohort_lines(solved, data)
    rows = []
    for line in lines:
        phases = ", ".join(
            f"{p} ({outputs.phase_dates(solved, p)[0]:%Y-%m-%d}): {n}" for p, n in sorted(line.phases.items())
        )
        rows.append((line, phases, _(REASONS.get(line.reason, line.reason)) if line.reason else ""))
    return render(request, "planning/print.html", {
        "scenario": scenario, "solution": solution, "data": data, "rows": rows,
        "phases": outputs.phase_totals(solved, data), "gantt": gantt(solved, lines) if data else "",
        "standards": solved.get("standards", {}), "routes": solved["routes"],
        "printed": timezone.now(), "gap_percent": _gap_percent(solution),
        "stale": solution is not None and solution.instance_sha256 != scenario.instance_sha256,
    })  # fmt: skip


@require_capability(Cap.PLANNING_VIEW)
@require_GET
def compare_page(request: HttpRequest) -> HttpResponse:
    """Two scenarios' latest plans side by side: who moves earlier or later, and what resources change."""
    context: dict[str, Any] = {"scenarios": selectors.scenarios()[:200]}
    a_id, b_id = request.GET.get("a", ""), request.GET.get("b", "")
    if a_id.isdigit() and b_id.isdigit():
        a, b = _scenario(int(a_id)), _scenario(int(b_id))
        sa, sb = _solution(a), _solution(b)
        context.update(a=a, b=b, sa=sa, sb=sb)
        if sa is None or sb is None:
            context["problem"] = _("Both scenarios need a plan: solve the one without a plan first.")
        else:
            ia, ib = _plan_inputs(a, sa), _plan_inputs(b, sb)
            try:
                result = outputs.compare(ia, sa.solution, ib, sb.solution)
            except ValueError:
                context["problem"] = _(
                    "The two scenarios have different calendars (start date or phase length), so their phases are "
                    "not the same dates: compare scenarios copied from one another."
                )
            else:
                context.update(
                    result=result,
                    changes=[(c, _(CHANGES[c.change])) for c in result.changes[:1000]],
                    inputs=_input_differences(ia, ib),
                    stale=[x.name for x, sx in ((a, sa), (b, sb)) if sx.instance_sha256 != x.instance_sha256],
                )
    return render(request, "planning/compare.html", context)


def _input_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What differs in the inputs, in words: gates, housing, seats, budget."""
    out = []
    gates_a = {s["id"]: s for s in a["settlements"]}
    for s in b["settlements"]:
        before = gates_a.get(s["id"])
        if before is None:
            continue
        if before.get("safe_from") != s.get("safe_from"):
            out.append(_("%(place)s: gate %(a)s → %(b)s") % {
                "place": s["name"], "a": before.get("safe_from") or _("closed"), "b": s.get("safe_from") or _("closed")
            })  # fmt: skip
        if before["housing"] != s["housing"]:
            out.append(_("%(place)s: housing at the end %(a)s → %(b)s") % {
                "place": s["name"], "a": before["housing"][-1], "b": s["housing"][-1]
            })  # fmt: skip
    routes_a = {r["id"]: r for r in a["routes"]}
    for r in b["routes"]:
        if r["id"] in routes_a and routes_a[r["id"]]["seats"] != r["seats"]:
            out.append(_("Route %(route)s: seats changed") % {"route": r["name"]})
    if a["budget"] != b["budget"]:
        out.append(_("Budget: %(a)s → %(b)s in total") % {
            "a": number_format(sum(a["budget"]), 0, force_grouping=True),
            "b": number_format(sum(b["budget"]), 0, force_grouping=True),
        })  # fmt: skip
    return out
