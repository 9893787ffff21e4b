"""The background job of record linkage: a run over the whole registry, then eligibility brought up to date."""

from __future__ import annotations

from typing import Any

from homeward.audit.services import Actor
from homeward.core.models import Job
from homeward.core.progress import Progress
from homeward.linkage.services import linkage_run
from homeward.registry.services.persons import eligibility_recompute


def linkage_job(job: Job, progress: Progress) -> dict[str, Any]:
    actor = Actor(user_id=job.created_by_id, label=job.created_by.get_username() if job.created_by else "system:job")
    run = linkage_run(actor=actor, progress=progress, retrain=bool(job.params.get("retrain")))
    result: dict[str, Any] = {
        "run": run.pk, "records": run.records, "merged": run.merged, "queued": run.queued, "trained": run.trained,
    }  # fmt: skip
    if run.merged:
        result["eligibility"] = eligibility_recompute(actor=actor)
    return result
