"""Fetches of registry records that carry personal data: same error for missing and forbidden, reads audited."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from homeward.access.gates import actor_can, audited_read
from homeward.access.roles import Cap
from homeward.core.errors import NotFoundError
from homeward.registry.models import Household, ImportBatch, Person, SubjectRequest
from homeward.registry.selectors import person_search

PERSON_NOT_FOUND = "person not found"


_can = actor_can


def person_visible(actor: Any, person: Person) -> bool:
    """Restricted and erased persons are seen only by whoever handles data subjects' requests."""
    if not _can(actor, Cap.REGISTRY_VIEW):
        return False
    if person.restricted or person.erased_at is not None:
        return _can(actor, Cap.REGISTRY_RIGHTS)
    return True


def access_person_by_id(actor: Any, person_id: int, *, purpose: str = "view") -> Person:
    person = Person.objects.select_related("origin_settlement", "merged_into").filter(pk=person_id).first()
    if person is None or not person_visible(actor, person):
        raise NotFoundError(PERSON_NOT_FOUND)
    audited_read(actor, person, "registry.person.viewed", {"purpose": purpose})
    return person


def access_household_by_id(actor: Any, household_id: int) -> Household:
    household = Household.objects.select_related("source", "head").filter(pk=household_id).first()
    if household is None or not _can(actor, Cap.REGISTRY_VIEW):
        raise NotFoundError("household not found")
    audited_read(actor, household, "registry.household.viewed")
    return household


def access_batch_by_id(actor: Any, batch_id: int) -> ImportBatch:
    """An import with its held rows (raw values of real people): for those who import."""
    batch = ImportBatch.objects.select_related("source", "started_by").filter(pk=batch_id).first()
    if batch is None or not _can(actor, Cap.REGISTRY_IMPORT):
        raise NotFoundError("import not found")
    audited_read(actor, batch, "registry.import.viewed")
    return batch


def access_subject_request_by_id(actor: Any, request_id: int) -> SubjectRequest:
    request = SubjectRequest.objects.select_related("person").filter(pk=request_id).first()
    if request is None or not _can(actor, Cap.REGISTRY_RIGHTS):
        raise NotFoundError("request not found")
    audited_read(actor, request, "registry.subject_request.viewed")
    return request


def access_person_search(actor: Any, **filters: Any) -> QuerySet[Person]:
    """A search of persons: a list of names is personal data too, so the search (not each row) is recorded.
    Restricted persons are found only by whoever handles data subjects' requests."""
    if not _can(actor, Cap.REGISTRY_VIEW):
        raise NotFoundError(PERSON_NOT_FOUND)
    audited_read(actor, None, "registry.person.searched", {k: v for k, v in filters.items() if v not in (None, "")})
    return person_search(include_restricted=_can(actor, Cap.REGISTRY_RIGHTS), **filters)
