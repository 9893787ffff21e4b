"""The background job of a census run: a snapshot, then a public release from it."""

from __future__ import annotations

from typing import Any

from homeward.audit.services import Actor
from homeward.census.services import census_release, census_run
from homeward.core.models import Job
from homeward.core.progress import Progress


class _Half:
    """Progress of one of two steps, each shown as half of the bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def start(self, total: int | None, message: str = "") -> None:
        self.progress.advance(0, message)

    def advance(self, n: int = 1, message: str | None = None) -> None:
        self.progress.advance(n // 2 if n > 1 else n, message)


def census_run_job(job: Job, progress: Progress) -> dict[str, Any]:
    actor = Actor(user_id=job.created_by_id, label=job.created_by.get_username() if job.created_by else "system:job")
    progress.start(100, "census")
    snapshot = census_run(actor=actor, note=str(job.params.get("note", ""))[:500], progress=_Half(progress))
    result = census_release(actor=actor, snapshot_id=snapshot.pk, progress=_Half(progress))
    return {
        "snapshot": snapshot.pk, "persons": snapshot.persons, "sha256": snapshot.content_hash,
        "release": result.release.pk, "warnings": len(result.release.warnings),
    }  # fmt: skip
