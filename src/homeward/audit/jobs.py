from __future__ import annotations

from typing import Any

from homeward.audit.selectors import audit_chain_verify
from homeward.core.models import Job
from homeward.core.progress import Progress


def verify_chain_job(job: Job, progress: Progress) -> dict[str, Any]:
    return audit_chain_verify(progress=progress).as_dict()
