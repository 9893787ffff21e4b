"""Reads for planning: scenarios, their plans, and the public gazetteer facts the pages draw with."""

from __future__ import annotations

from django.db.models import QuerySet

from homeward.core.models import Job
from homeward.gazetteer.models import AdminUnit, Settlement
from homeward.planning.models import PlanScenario, PlanSolution


def scenarios() -> QuerySet[PlanScenario]:
    return PlanScenario.objects.select_related("owner", "copied_from").defer("instance", "derivation")


def solutions_of(scenario: PlanScenario) -> QuerySet[PlanSolution]:
    return PlanSolution.objects.filter(scenario=scenario).select_related("created_by")


def latest_solutions(ids: list[int]) -> dict[int, PlanSolution]:
    out: dict[int, PlanSolution] = {}
    for solution in PlanSolution.objects.filter(scenario_id__in=ids).defer("solution").order_by("-created_at", "-id"):
        out.setdefault(solution.scenario_id, solution)
    return out


def running_solve(scenario: PlanScenario) -> Job | None:
    """A solve of this scenario queued or under way, to point at instead of starting another."""
    return (
        Job.objects.filter(
            kind="planning.solve", params__scenario=scenario.pk, state__in=[Job.State.QUEUED, Job.State.RUNNING]
        )
        .order_by("-created_at")
        .first()
    )


def district_names(codes: list[str]) -> dict[str, str]:
    return dict(AdminUnit.objects.filter(code__in=codes).values_list("code", "name"))


def coordinates(gids: list[str]) -> dict[str, tuple[float, float]]:
    rows = Settlement.objects.filter(gid__in=gids, latitude__isnull=False, longitude__isnull=False).values_list(
        "gid", "latitude", "longitude"
    )
    return {gid: (float(lat), float(lon)) for gid, lat, lon in rows if lat is not None and lon is not None}
