from __future__ import annotations

from typing import Any

from homeward.audit.services import Actor
from homeward.core.files import read_encrypted, remove_stored
from homeward.core.models import Job
from homeward.core.progress import Progress
from homeward.gazetteer.services import gazetteer_import


def import_job(job: Job, progress: Progress) -> dict[str, Any]:
    raw = read_encrypted(job.params["file"])
    actor = Actor(
        user_id=job.created_by_id,
        label=job.created_by.get_username() if job.created_by else "system:job",
    )
    try:
        # A ValidationError fails the job; the runner keeps its list of problems. Nothing was imported.
        result = gazetteer_import(actor=actor, raw=raw, filename=job.params.get("filename", ""), progress=progress)
    finally:
        remove_stored(job.params["file"])
    return result.as_dict()
