"""Reads for record linkage: the records to link, the review queue, a candidate's two records side by side."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from django.db.models import QuerySet

from homeward.core.names import detect_script
from homeward.linkage.engine.prepare import INPUT_FIELDS
from homeward.linkage.models import IdentityChange, LinkageRun, LinkDecision, MatchCandidate
from homeward.registry.models import Person, Source, SourceRecord

# Person-record fields from a source record's columns (the origin as its gazetteer id when it was resolved).
_COLUMNS = {
    "given_name": "given_name", "surname": "surname", "patronymic": "patronymic", "sex": "sex",
    "birth_date": "birth_date", "birth_place": "birth_place", "current_country": "current_country",
}  # fmt: skip


def linkage_records() -> tuple[pa.Table, dict[str, int]]:
    """Every current source record of a person whose data may be processed (not erased, not restricted),
    in the person records shape, and the person each belongs to (record ids as text)."""
    data: dict[str, list[str]] = {name: [] for name in INPUT_FIELDS}
    person_of: dict[str, int] = {}
    codes = dict(Source.objects.values_list("id", "code"))
    rows = (
        SourceRecord.objects.filter(
            superseded=False, person__isnull=False, person__erased_at__isnull=True, person__restricted=False
        )
        .order_by("id")
        .values_list("id", "source_id", "person_id", "origin_settlement__gid", "origin_text", *_COLUMNS.values())
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
    table = pa.table({name: pa.array(values, pa.string()) for name, values in data.items()})
    return table, person_of


def registry_sources_once() -> list[str]:
    """Sources that hold each person at most once: the population registers."""
    return list(Source.objects.filter(kind=Source.Kind.REGISTRY).values_list("code", flat=True))


def runs() -> QuerySet[LinkageRun]:
    return LinkageRun.objects.select_related("started_by").order_by("-id")


def latest_run() -> LinkageRun | None:
    return LinkageRun.objects.order_by("-id").first()


def queue(*, state: str = "open") -> QuerySet[MatchCandidate]:
    candidates = MatchCandidate.objects.all()
    if state == "open":
        candidates = candidates.filter(state=MatchCandidate.State.PENDING)
    elif state == "deferred":
        candidates = candidates.filter(state=MatchCandidate.State.DEFERRED)
    elif state == "decided":
        candidates = candidates.filter(state__in=[MatchCandidate.State.ACCEPTED, MatchCandidate.State.REJECTED])
    return candidates.order_by("-probability", "id")


def queue_counts() -> dict[str, int]:
    return {
        "open": MatchCandidate.objects.filter(state=MatchCandidate.State.PENDING).count(),
        "deferred": MatchCandidate.objects.filter(state=MatchCandidate.State.DEFERRED).count(),
        "decided": MatchCandidate.objects.filter(
            state__in=[MatchCandidate.State.ACCEPTED, MatchCandidate.State.REJECTED]
        ).count(),
    }


def next_candidate(after: MatchCandidate | None = None) -> MatchCandidate | None:
    """The next pair waiting for a reviewer: the most probable first, then the deferred ones."""
    for state in (MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED):
        found = MatchCandidate.objects.filter(state=state)
        if after is not None:
            found = found.exclude(pk=after.pk)
        first = found.order_by("-probability", "id").first()
        if first is not None:
            return first
    return None


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
    from django.db.models import Q

    return IdentityChange.objects.filter(Q(person=person) | Q(other=person)).order_by("-id")
