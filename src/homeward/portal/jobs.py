"""The portal's background jobs: recording the stored submissions, and matching them against the registry."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from homeward.core.models import Job
from homeward.core.progress import Progress
from homeward.linkage.services import records_match
from homeward.portal.models import Submission
from homeward.portal.services import GROUP, PORTAL, SOURCE_CODE, submissions_record_waiting
from homeward.registry.models import SourceRecord


def record_job(job: Job, progress: Progress) -> dict[str, Any]:
    _gather(settings.PORTAL_RECORD_GATHER_SECONDS)
    progress.start(Submission.objects.filter(state=Submission.State.RECEIVED).count() or 1, "recording")
    recorded, failed = submissions_record_waiting(actor=PORTAL, progress=progress)
    return {"recorded": recorded, "failed": failed}


def _gather(seconds: float) -> None:
    """Wait, at most ``seconds``, while registrations keep arriving and a group is not full yet."""
    until = time.monotonic() + seconds
    waiting = Submission.objects.filter(state=Submission.State.RECEIVED).count()
    while waiting < GROUP and time.monotonic() < until:
        time.sleep(0.25)
        now = Submission.objects.filter(state=Submission.State.RECEIVED).count()
        if now == waiting:
            return  # nothing new came in: no load to gather
        waiting = now


def match_job(job: Job, progress: Progress) -> dict[str, Any]:
    submissions = list(Submission.objects.filter(pk__in=job.params.get("submissions") or []).order_by("id"))
    progress.start(len(submissions) or 1, "matching")
    records = queued = 0
    for submission in submissions:
        ids = list(
            SourceRecord.objects.filter(
                source__code=SOURCE_CODE, external_id__startswith=f"{submission.reference}-", superseded=False
            ).values_list("pk", flat=True)
        )
        records += len(ids)
        queued += records_match(actor=PORTAL, record_ids=ids)
        progress.advance(1, submission.reference)
    return {"records": records, "queued": queued}
