"""Fetches for record linkage that show personal data: same error for missing and forbidden, reads audited."""

from __future__ import annotations

from typing import Any

from homeward.access.gates import audited_read, user_can
from homeward.access.roles import Cap
from homeward.audit.services import Actor
from homeward.core.errors import NotFoundError
from homeward.linkage.models import MatchCandidate
from homeward.registry.gates import person_visible


def _can(actor: Any, cap: Cap) -> bool:
    if isinstance(actor, Actor):
        return actor.user_id is None
    return user_can(actor, cap)


def access_candidate_by_id(actor: Any, candidate_id: int) -> MatchCandidate:
    """A pair in the review queue: two people's records side by side, for reviewers. A pair with a record of
    a restricted or erased person is seen only by whoever handles data subjects' requests, as the person is."""
    candidate = (
        MatchCandidate.objects.select_related("run", "record_a__person", "record_b__person")
        .filter(pk=candidate_id)
        .first()
    )
    if (
        candidate is None
        or not _can(actor, Cap.LINKAGE_REVIEW)
        or not all(
            person_visible(actor, record.person)
            for record in (candidate.record_a, candidate.record_b)
            if record.person is not None
        )
    ):
        raise NotFoundError("candidate not found")
    audited_read(actor, candidate, "linkage.candidate.viewed")
    return candidate
