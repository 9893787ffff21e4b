"""Reads of the registry: person search, provenance, eligibility explanation, family tree, exports.

Functions here return data; the gates (``access_*``) decide who may read a person and record the read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.db.models import Count, Q, QuerySet

from homeward.core.names import fold, skeleton
from homeward.core.queries import prefix_q
from homeward.gazetteer.models import AdminUnit, Settlement
from homeward.registry.models import (
    Consent,
    Displacement,
    DisplacementEvent,
    Household,
    HouseholdMember,
    ImportBatch,
    ImportProblem,
    InformationSheet,
    Kinship,
    OriginRegion,
    Person,
    ReturnIntention,
    Source,
    SourceRecord,
    SubjectRequest,
    ValueDecision,
)
from homeward.registry.readers import safe_cell

# Person fields that come from source records, and the record field each one is read from.
VALUE_FIELDS = {
    "given_name": "given_name",
    "surname": "surname",
    "patronymic": "patronymic",
    "sex": "sex",
    "birth_date": "birth_date",
    "birth_place": "birth_place",
    "death_date": "death_date",
    "origin_settlement": "origin_settlement_id",
    "current_country": "current_country",
    "current_city": "current_city",
}


def _region_unit_ids() -> set[int] | None:
    """The configured origin region with every unit inside it; None when none is configured (all count)."""
    roots = set(OriginRegion.objects.values_list("admin_unit_id", flat=True))
    if not roots:
        return None
    parent_of = dict(AdminUnit.objects.values_list("id", "parent_id"))
    inside = set()
    for unit in parent_of:
        node: int | None = unit
        for _ in range(32):
            if node is None:
                break
            if node in roots:
                inside.add(unit)
                break
            node = parent_of.get(node)
    return inside


def qualifying_displacements() -> Any:
    """Displacements that make a person generation 0: from a settlement of the origin region, during a
    qualifying event (named, or by date within the event's period)."""
    events = list(DisplacementEvent.objects.filter(qualifies=True))
    when = Q(event__qualifies=True)
    for event in events:
        if event.start:
            period = Q(event__isnull=True, date_from__gte=str(event.start))
            if event.end:
                period &= Q(date_from__lte=str(event.end.latest()))
            when |= period
    rows = Displacement.objects.filter(when, settlement__isnull=False)
    units = _region_unit_ids()
    if units is not None:
        rows = rows.filter(Q(settlement__admin_unit_id__in=units) | Q(settlement__historical_admin_unit_id__in=units))
    return rows


def person_search(
    *,
    query: str = "",
    origin_settlement_id: int | None = None,
    origin_unit_id: int | None = None,
    generation: int | None = None,
    country: str = "",
    eligible: bool | None = None,
    include_restricted: bool = False,
) -> QuerySet[Person]:
    """Persons whose names start like each word of the query, in any script or rendering.

    Each word must match the start of the given name or the surname (folded), or the surname's consonant
    skeleton, so "Гусейнова Гюльнара", "Huseynova Gulnara" and "guseynova" find the same person.
    """
    items = Person.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    if not include_restricted:
        items = items.filter(restricted=False)
    for word in fold(query).split()[:4]:
        skel = skeleton(word)
        match = prefix_q("given_folded", word) | prefix_q("surname_folded", word)
        if len(skel) >= 2:
            match |= prefix_q("surname_skeleton", skel)
        items = items.filter(match)
    if origin_settlement_id:
        items = items.filter(origin_settlement_id=origin_settlement_id)
    if origin_unit_id:
        items = items.filter(
            Q(origin_settlement__admin_unit_id=origin_unit_id)
            | Q(origin_settlement__historical_admin_unit_id=origin_unit_id)
        )
    if generation is not None:
        items = items.filter(generation=generation)
    if country:
        items = items.filter(current_country=country.upper())
    if eligible is not None:
        items = items.filter(eligible=eligible)
    return items.select_related("origin_settlement").order_by("surname_folded", "given_folded", "id")


@dataclass
class ValueEvidence:
    field: str
    value: str
    chosen: bool
    records: list[SourceRecord]


@dataclass
class FieldProvenance:
    field: str
    value: str
    supporting: list[SourceRecord] = dc_field(default_factory=list)
    contradicting: list[ValueEvidence] = dc_field(default_factory=list)
    decision: ValueDecision | None = None


def _display(value: Any) -> str:
    return "" if value is None else str(value)


def person_provenance(person: Person) -> list[FieldProvenance]:
    """For each value of the person: the records that give it, and the other values other records give."""
    records = list(
        SourceRecord.objects.filter(person=person, superseded=False)
        .select_related("source", "origin_settlement")
        .order_by("-source__trust", "-id")
    )
    decisions: dict[str, ValueDecision] = {}
    for decision in ValueDecision.objects.filter(person=person).order_by("decided_at", "id"):
        decisions[decision.field] = decision
    out = []
    for name, attr in VALUE_FIELDS.items():
        value = _display(getattr(person, attr))
        entry = FieldProvenance(field=name, value=value, decision=decisions.get(name))
        others: dict[str, list[SourceRecord]] = {}
        for record in records:
            given = _display(getattr(record, attr))
            if not given:
                continue
            if given == value:
                entry.supporting.append(record)
            else:
                others.setdefault(given, []).append(record)
        entry.contradicting = [ValueEvidence(name, v, False, rs) for v, rs in others.items()]
        out.append(entry)
    return out


@dataclass
class ChainStep:
    person: Person
    generation: int
    link: Kinship | None  # the link from this person to the next one up (their parent)
    displacements: list[Displacement]


def eligibility_chain(person: Person) -> list[ChainStep]:
    """From the person up to the displaced ancestor: at each step the parent one generation nearer, with
    the link (and its evidence) that joins each person to the next one up."""
    if person.generation is None:
        return []
    steps: list[ChainStep] = []
    current = person
    for _ in range(64):
        assert current.generation is not None
        displacements = list(
            qualifying_displacements().filter(person=current).select_related("settlement", "event", "source_record")
        )
        steps.append(ChainStep(current, current.generation, None, displacements))
        if current.generation == 0:
            break
        link = (
            Kinship.objects.filter(kind=Kinship.Kind.PARENT, child=current, parent__generation=current.generation - 1)
            .select_related("parent", "source_record__source", "recorded_by")
            .order_by("adoptive", "id")
            .first()
        )
        if link is None:
            break
        steps[-1].link = link
        current = link.parent
    return steps


@dataclass
class TreeNode:
    person: Person
    depth: int  # negative: ancestors; positive: descendants
    children: list[TreeNode] = dc_field(default_factory=list)
    more: int = 0  # relatives beyond the limit, not shown


def _parents(ids: list[int]) -> dict[int, list[Person]]:
    out: dict[int, list[Person]] = {}
    for link in Kinship.objects.filter(kind=Kinship.Kind.PARENT, child_id__in=ids).select_related("parent"):
        out.setdefault(link.child_id, []).append(link.parent)
    return out


def _children(ids: list[int]) -> dict[int, list[Person]]:
    out: dict[int, list[Person]] = {}
    for link in (
        Kinship.objects.filter(kind=Kinship.Kind.PARENT, parent_id__in=ids)
        .select_related("child")
        .order_by("child__birth_date", "child_id")
    ):
        out.setdefault(link.parent_id, []).append(link.child)
    return out


def family_tree(person: Person, *, up: int = 3, down: int = 3, width: int = 12) -> tuple[TreeNode, TreeNode]:
    """Ancestors (up to ``up`` generations) and descendants (``down``), at most ``width`` children shown per
    person, so a large family stays readable; the rest is counted in ``more``."""
    ancestors = TreeNode(person, 0)
    level = [ancestors]
    for depth in range(1, up + 1):
        found = _parents([n.person.pk for n in level])
        nxt = []
        for node in level:
            for parent in sorted(found.get(node.person.pk, []), key=lambda p: p.sex != "M"):
                child = TreeNode(parent, -depth)
                node.children.append(child)
                nxt.append(child)
        level = nxt
        if not level:
            break
    descendants = TreeNode(person, 0)
    level = [descendants]
    for depth in range(1, down + 1):
        found = _children([n.person.pk for n in level])
        nxt = []
        for node in level:
            kids = found.get(node.person.pk, [])
            node.more = max(0, len(kids) - width)
            for kid in kids[:width]:
                child = TreeNode(kid, depth)
                node.children.append(child)
                nxt.append(child)
        level = nxt
        if not level:
            break
    return ancestors, descendants


def person_relatives(person: Person) -> dict[str, list[tuple[Kinship, Person]]]:
    links = Kinship.objects.filter(Q(parent=person) | Q(child=person)).select_related(
        "parent", "child", "source_record__source"
    )
    out: dict[str, list[tuple[Kinship, Person]]] = {"parents": [], "children": [], "spouses": []}
    for link in links:
        if link.kind == Kinship.Kind.SPOUSE:
            out["spouses"].append((link, link.child if link.parent_id == person.pk else link.parent))
        elif link.child_id == person.pk:
            out["parents"].append((link, link.parent))
        else:
            out["children"].append((link, link.child))
    return out


def person_households(person: Person) -> list[HouseholdMember]:
    return list(
        HouseholdMember.objects.filter(person=person).select_related(
            "household", "household__source", "household__head"
        )
    )


def household_members(household: Household) -> list[HouseholdMember]:
    return list(
        HouseholdMember.objects.filter(household=household)
        .select_related("person")
        .order_by("relation", "person__birth_date", "person_id")
    )


def person_sensitive(person: Person) -> dict[str, str]:
    return json.loads(person.sensitive) if person.sensitive else {}


def record_sensitive(record: SourceRecord) -> dict[str, str]:
    return json.loads(record.sensitive) if record.sensitive else {}


def person_export(person: Person) -> dict[str, Any]:
    """Everything held about one person, for a data subject's access request."""
    records = SourceRecord.objects.filter(person=person).select_related("source", "batch").order_by("id")
    return {
        "person": {
            "id": person.pk,
            **{name: _display(getattr(person, attr)) for name, attr in VALUE_FIELDS.items()},
            "origin_settlement": person.origin_settlement.gid if person.origin_settlement else "",
            "contact_and_documents": person_sensitive(person),
            "generation": person.generation,
            "eligible": person.eligible,
            "restricted": person.restricted,
            "erased_at": person.erased_at.isoformat() if person.erased_at else None,
            "created_at": person.created_at.isoformat(),
        },
        "source_records": [
            {
                "source": r.source.code,
                "source_name": r.source.name,
                "record_id": r.external_id,
                "imported_at": r.batch.started_at.isoformat(),
                "file": r.batch.filename,
                "row": r.row_number,
                "as_received": r.raw,
                "values": {
                    "given_name": r.given_name,
                    "surname": r.surname,
                    "previous_surname": r.previous_surname,
                    "patronymic": r.patronymic,
                    "sex": r.sex,
                    "birth_date": _display(r.birth_date),
                    "birth_place": r.birth_place,
                    "origin": r.origin_text,
                    "current_country": r.current_country,
                    "current_city": r.current_city,
                    "household": r.household_ref,
                    "relation_to_head": r.relation_to_head,
                    "father_record": r.father_ref,
                    "mother_record": r.mother_ref,
                    "spouse_record": r.spouse_ref,
                    "death_date": _display(r.death_date),
                    "displacement_date": _display(r.displacement_date),
                    "displacement_event": r.displacement_event,
                },
                "contact_and_documents": record_sensitive(r),
                "superseded": r.superseded,
            }
            for r in records
        ],
        "family_links": [
            {"kind": k.kind, "parent": k.parent_id, "child": k.child_id, "adoptive": k.adoptive}
            for k in Kinship.objects.filter(Q(parent=person) | Q(child=person)).order_by("id")
        ],
        "households": [
            {"household": m.household_id, "relation": m.relation} for m in HouseholdMember.objects.filter(person=person)
        ],
        "displacements": [
            {
                "settlement": d.settlement.gid if d.settlement else d.origin_text,
                "from": _display(d.date_from),
                "to": _display(d.date_to),
                "event": d.event.code if d.event else "",
                "evidence": d.evidence,
            }
            for d in Displacement.objects.filter(person=person).select_related("settlement", "event")
        ],
        "consents": [
            {
                "purpose": c.purpose,
                "partner": c.partner,
                "sheet_version": c.sheet_version,
                "channel": c.channel,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in Consent.objects.filter(person=person).order_by("given_at")
        ],
        "decisions": [
            {"field": d.field, "value": d.value, "previous": d.previous, "at": d.decided_at.isoformat()}
            for d in ValueDecision.objects.filter(person=person).order_by("decided_at")
        ],
        "requests": [
            {
                "kind": s.kind,
                "state": s.state,
                "received_on": s.received_on.isoformat(),
                "due_on": s.due_on.isoformat(),
                "completed_at": s.completed_at.isoformat() if s.completed_at else None,
                "outcome": s.outcome,
                "exceptions": s.exceptions,
            }
            for s in SubjectRequest.objects.filter(person=person).order_by("received_on", "id")
        ],
    }


def problem_report_rows(batch: ImportBatch) -> Iterator[list[str]]:
    """The error report of an import: row, record id, field, value, reason, held; cells safe for spreadsheets."""
    yield ["row", "record_id", "field", "value", "reason", "held", "resolved"]
    for p in ImportProblem.objects.filter(batch=batch).order_by("row_number", "id").iterator(chunk_size=2000):
        yield [
            str(p.row_number),
            safe_cell(p.external_id),
            p.field,
            safe_cell(p.value),
            p.reason,
            "yes" if p.held else "no",
            p.resolved_at.isoformat() if p.resolved_at else "",
        ]


def held_rows(batch: ImportBatch) -> list[dict[str, Any]]:
    """Held rows of a batch with their problems and raw values (decrypted), for correction."""
    rows: dict[int, dict[str, Any]] = {}
    for p in ImportProblem.objects.filter(batch=batch, held=True).order_by("row_number", "id")[:2000]:
        row = rows.setdefault(
            p.row_number,
            {
                "row": p.row_number,
                "record_id": p.external_id,
                "problems": [],
                "raw": json.loads(p.raw) if p.raw else [],
                "resolved": bool(p.resolved_at),
            },
        )
        row["problems"].append((p.field, p.value, p.reason))
    return list(rows.values())


def batches(*, source_id: int | None = None) -> QuerySet[ImportBatch]:
    items = ImportBatch.objects.select_related("source", "started_by")
    if source_id:
        items = items.filter(source_id=source_id)
    return items


def sources() -> QuerySet[Source]:
    return Source.objects.annotate(record_count=Count("records"))


def registry_counts() -> dict[str, int]:
    persons = Person.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    return {
        "persons": persons.count(),
        "eligible": persons.filter(eligible=True).count(),
        "displaced": persons.filter(generation=0).count(),
        "records": SourceRecord.objects.count(),
        "sources": Source.objects.count(),
        "households": Household.objects.count(),
        "held": ImportProblem.objects.filter(held=True, resolved_at__isnull=True).count(),
    }


def generation_counts() -> list[tuple[int | None, int]]:
    rows = (
        Person.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .values_list("generation")
        .annotate(n=Count("id"))
        .order_by("generation")
    )
    return [(g, n) for g, n in rows]


def settlement_choices() -> QuerySet[Settlement]:
    return Settlement.objects.order_by("title").only("id", "title", "gid")


def subject_requests(*, state: str = "") -> QuerySet[SubjectRequest]:
    items = SubjectRequest.objects.select_related("person", "handled_by")
    if state:
        items = items.filter(state=state)
    return items


def events() -> QuerySet[DisplacementEvent]:
    return DisplacementEvent.objects.order_by("start", "code")


def origin_region_units() -> list[AdminUnit]:
    return list(AdminUnit.objects.filter(pk__in=OriginRegion.objects.values("admin_unit_id")).order_by("name"))


# --- information sheets ----------------------------------------------------------------------------------


def _newest_first(rows: list[tuple[str, Any]]) -> list[str]:
    """Versions by when each was first published (a later translation of an old version does not make it
    the newest), the newest first."""
    first: dict[str, Any] = {}
    for version, at in rows:
        first[version] = min(at, first.get(version, at))
    return sorted(first, key=lambda v: (first[v], v), reverse=True)


def published_versions() -> list[str]:
    """Every published sheet version, the newest first."""
    return _newest_first(list(InformationSheet.objects.values_list("version", "published_at")))


def information_sheets() -> list[dict[str, Any]]:
    """The published versions, newest first, each with its languages and how many consents and return
    intentions were given under it (counts only)."""
    consents = dict(
        Consent.objects.order_by().values("sheet_version").annotate(n=Count("id")).values_list("sheet_version", "n")
    )
    intentions = dict(
        ReturnIntention.objects.exclude(decision=ReturnIntention.Decision.WITHDRAWN)
        .order_by()
        .values("sheet_version")
        .annotate(n=Count("id"))
        .values_list("sheet_version", "n")
    )
    sheets: dict[str, list[InformationSheet]] = {}
    fetched = list(InformationSheet.objects.select_related("published_by").order_by("language"))
    for sheet in fetched:
        sheets.setdefault(sheet.version, []).append(sheet)
    return [
        {"version": v, "sheets": sheets[v], "consents": consents.get(v, 0), "intentions": intentions.get(v, 0)}
        for v in _newest_first([(s.version, s.published_at) for s in fetched])
    ]


def information_sheet(sheet_id: int) -> InformationSheet | None:
    return InformationSheet.objects.select_related("published_by").filter(pk=sheet_id).first()
