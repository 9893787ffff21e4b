"""Reads for record linkage: the records to link, the review queue, a candidate's two records side by side."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from django.db.models import Q, QuerySet

from homeward.core.names import detect_script
from homeward.linkage.engine.prepare import INPUT_FIELDS
from homeward.linkage.models import IdentityChange, LinkageRun, LinkDecision, MatchCandidate
from homeward.registry.models import Person, Source, SourceRecord

# Person-record fields from a source record's columns (the origin as its gazetteer id when it was resolved).
_COLUMNS = {
    "given_name": "given_name", "surname": "surname", "patronymic": "patronymic", "sex": "sex",
    "birth_date": "birth_date", "birth_place": "birth_place", "current_country": "current_country",
    "current_city": "current_city",
}  # fmt: skip


def linkage_records(*, record_ids: list[int] | None = None) -> tuple[pa.Table, dict[str, int]]:
    """Every current source record of a person whose data may be processed (not erased, not restricted),
    in the person records shape, and the person each belongs to (record ids as text); only those of
    ``record_ids`` when given."""
    data: dict[str, list[str]] = {name: [] for name in INPUT_FIELDS}
    person_of: dict[str, int] = {}
    codes = dict(Source.objects.values_list("id", "code"))
    current = SourceRecord.objects.filter(
        superseded=False, person__isnull=False, person__erased_at__isnull=True, person__restricted=False
    )
    if record_ids is not None:
        current = current.filter(pk__in=record_ids)
    rows = current.order_by("id").values_list(
        "id", "source_id", "person_id", "origin_settlement__gid", "origin_text", *_COLUMNS.values()
    )
    names = list(_COLUMNS)
    for row in rows.iterator(chunk_size=20_000):
        record_id = str(row[0])
        person_of[record_id] = row[2]
        data["record_id"].append(record_id)
        data["source"].append(codes.get(row[1], ""))
        data["origin_settlement"].append(row[3] or row[4] or "")
        for name, value in zip(names, row[5:], strict=True):
            data[name].append("" if value is None else str(value))
    # A field the engine compares but the registry's records do not hold as a column is passed empty.
    count = len(person_of)
    for values in data.values():
        if not values and count:
            values.extend([""] * count)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in data.items()})
    return table, person_of


def registry_sources_once() -> list[str]:
    """Sources that hold each person at most once: the population registers."""
    return list(Source.objects.filter(kind=Source.Kind.REGISTRY).values_list("code", flat=True))


def runs() -> QuerySet[LinkageRun]:
    return LinkageRun.objects.select_related("started_by").order_by("-id")


def latest_run() -> LinkageRun | None:
    return LinkageRun.objects.order_by("-id").first()


def _shown(candidates: QuerySet[MatchCandidate], include_restricted: bool) -> QuerySet[MatchCandidate]:
    """Pairs with a record of a restricted or erased person are for whoever handles data subjects' requests."""
    if include_restricted:
        return candidates
    hidden = Q(person__restricted=True) | Q(person__erased_at__isnull=False)
    return candidates.exclude(record_a__in=SourceRecord.objects.filter(hidden)).exclude(
        record_b__in=SourceRecord.objects.filter(hidden)
    )


def queue(*, state: str = "open", include_restricted: bool = False) -> QuerySet[MatchCandidate]:
    candidates = _shown(MatchCandidate.objects.all(), include_restricted)
    if state == "open":
        candidates = candidates.filter(state=MatchCandidate.State.PENDING)
    elif state == "deferred":
        candidates = candidates.filter(state=MatchCandidate.State.DEFERRED)
    elif state == "decided":
        candidates = candidates.filter(state__in=[MatchCandidate.State.ACCEPTED, MatchCandidate.State.REJECTED])
    return candidates.order_by("-probability", "id")


def queue_counts(*, include_restricted: bool = False) -> dict[str, int]:
    return {state: queue(state=state, include_restricted=include_restricted).count() for state in QUEUE_STATES}


QUEUE_STATES = ("open", "deferred", "decided")


def next_candidate(after: MatchCandidate | None = None, *, include_restricted: bool = False) -> MatchCandidate | None:
    """The next pair waiting for a reviewer: the most probable first, then the deferred ones."""
    for state in (MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED):
        found = _shown(MatchCandidate.objects.filter(state=state), include_restricted)
        if after is not None:
            found = found.exclude(pk=after.pk)
        first = found.order_by("-probability", "id").first()
        if first is not None:
            return first
    return None


def candidate_following(current_id: int, *, include_restricted: bool = False) -> MatchCandidate | None:
    """The pair after ``current_id`` in the queue's order (a reviewer skipping it): the next waiting one, then
    the deferred ones, then from the start again; None when no other pair is open."""
    current = MatchCandidate.objects.filter(pk=current_id).first()
    if current is None:
        return next_candidate(include_restricted=include_restricted)
    states = [MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED]
    if current.state in states:
        later = Q(probability__lt=current.probability) | Q(probability=current.probability, id__gt=current.pk)
        found = _shown(MatchCandidate.objects.filter(later, state=current.state), include_restricted)
        first = found.order_by("-probability", "id").first()
        if first is not None:
            return first
        for state in states[states.index(MatchCandidate.State(current.state)) + 1 :]:
            first = (
                _shown(MatchCandidate.objects.filter(state=state), include_restricted)
                .order_by("-probability", "id")
                .first()
            )
            if first is not None:
                return first
    return next_candidate(after=current, include_restricted=include_restricted)


SIDE_FIELDS = (
    "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place", "origin_text", "current_country",
    "current_city", "father_ref", "mother_ref", "spouse_ref",
)  # fmt: skip


def candidate_sides(candidate: MatchCandidate) -> list[dict[str, Any]]:
    """The two records as their sources wrote them, with the script of each name."""
    sides: list[dict[str, Any]] = []
    for record in SourceRecord.objects.filter(pk__in=[candidate.record_a_id, candidate.record_b_id]).select_related(
        "source", "person", "batch"
    ):
        values = {name: getattr(record, name) for name in SIDE_FIELDS}
        values["birth_date"] = str(record.birth_date or "")
        sides.append(
            {
                "record": record,
                "values": values,
                "scripts": {n: detect_script(values[n]) for n in ("given_name", "surname", "patronymic")},
            }
        )
    sides.sort(key=lambda side: side["record"].pk)
    return sides


def candidate_decision(candidate: MatchCandidate) -> LinkDecision | None:
    return LinkDecision.objects.filter(candidate=candidate, revoked_at__isnull=True).first()


def person_changes(person: Person) -> QuerySet[IdentityChange]:
    return IdentityChange.objects.filter(Q(person=person) | Q(other=person)).order_by("-id")
