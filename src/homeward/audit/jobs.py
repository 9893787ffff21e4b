from __future__ import annotations

from typing import Any

from homeward.audit.selectors import audit_chain_verify
from homeward.audit.services import audit_anchor_advance
from homeward.core.models import Job
from homeward.core.progress import Progress


def verify_chain_job(job: Job, progress: Progress) -> dict[str, Any]:
    report = audit_chain_verify(progress=progress)
    audit_anchor_advance(report)
    return report.as_dict()
