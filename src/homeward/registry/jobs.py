"""Background jobs of the registry: an uploaded file's import, and the eligibility update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeward.audit.services import Actor
from homeward.core.files import decrypted_copy, remove_stored
from homeward.core.models import Job
from homeward.core.progress import Progress
from homeward.registry.services.imports import registry_import
from homeward.registry.services.persons import eligibility_recompute


def _actor(job: Job) -> Actor:
    return Actor(
        user_id=job.created_by_id,
        label=job.created_by.get_username() if job.created_by else "system:job",
    )


def import_job(job: Job, progress: Progress) -> dict[str, Any]:
    params = job.params
    filename = params.get("filename", "upload")
    # The upload stays stored (encrypted) so that a job killed half-way can be run again on the same file.
    with decrypted_copy(params["file"], suffix=Path(filename).suffix.lower()[:10]) as path:
        outcome = registry_import(
            actor=_actor(job),
            source_code=params["source"],
            path=path,
            filename=filename,
            mapping_text=params.get("mapping_text"),
            mapping_name=params.get("mapping_name", ""),
            stored_file=params["file"],
            progress=progress,
        )
    # Imported (or found already imported): the encrypted upload is no longer needed.
    remove_stored(params["file"])
    result = outcome.as_dict()
    if not outcome.already_imported:
        result["eligibility"] = eligibility_recompute(actor=_actor(job))
    return result


def eligibility_job(job: Job, progress: Progress) -> dict[str, Any]:
    return eligibility_recompute(actor=_actor(job), progress=progress)
