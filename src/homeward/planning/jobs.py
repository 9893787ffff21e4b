"""The background jobs of planning: counting a scenario's cohorts, and solving a scenario."""

from __future__ import annotations

from typing import Any

from homeward.audit.services import Actor
from homeward.core.models import Job
from homeward.core.progress import Progress
from homeward.planning.services import scenario_create, scenario_solve


def _actor(job: Job) -> Actor:
    return Actor(user_id=job.created_by_id, label=job.created_by.get_username() if job.created_by else "system:job")


def plan_create_job(job: Job, progress: Progress) -> dict[str, Any]:
    scenario = scenario_create(actor=_actor(job), progress=progress, **job.params)
    return {
        "scenario": scenario.pk, "cohorts": len(scenario.instance["cohorts"]),
        "persons": scenario.derivation.get("persons", 0),
    }  # fmt: skip


def plan_solve_job(job: Job, progress: Progress) -> dict[str, Any]:
    solution = scenario_solve(
        actor=_actor(job), scenario_id=int(job.params["scenario"]), time_limit=job.params.get("time_limit", 30),
        progress=progress,
    )  # fmt: skip
    return {
        "scenario": solution.scenario_id, "solution": solution.pk, "status": solution.status,
        "objective": round(solution.objective, 3), "gap": round(solution.gap, 6),
        "persons_placed": solution.persons_placed, "valid": not solution.check_errors,
    }  # fmt: skip
