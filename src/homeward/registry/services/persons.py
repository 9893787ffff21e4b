"""Writes on persons: best values from their records, decisions, family links, displacement, consent,
eligibility, and the data subject's rights (access, correction, restriction, erasure)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record, audit_record_many
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.partialdate import PartialDate
from homeward.core.progress import NullProgress, Progress
from homeward.gazetteer.models import AdminUnit, Settlement
from homeward.registry.engine.family import compute_generations, is_ancestor, parent_born_after_child
from homeward.registry.engine.records import name_keys
from homeward.registry.models import (
    Consent,
    Displacement,
    DisplacementEvent,
    HouseholdMember,
    ImportProblem,
    Kinship,
    OriginRegion,
    Person,
    Source,
    SourceRecord,
    SubjectRequest,
    ValueDecision,
)
from homeward.registry.selectors import VALUE_FIELDS, qualifying_displacements
from homeward.registry.services.bulk import table
from homeward.registry.services.sheets import require_published


def _user_id(actor: Any) -> int | None:
    """The account behind the actor: pages pass the signed-in user, commands and jobs an audit Actor."""
    return actor_of(actor).user_id


def check_code(code: str, *, field: str) -> None:
    """A short name of a source or an event: letters, digits, '-' and '_', at most 64 characters."""
    if not code or len(code) > 64 or not code.replace("-", "").replace("_", "").isalnum():
        raise ValidationError(
            f"{code[:64]!r} is not a short name: use letters, digits, '-' and '_' (at most 64)",
            [(field, code[:64], "invalid")],
        )


NO_SUCH_FIELD = "no such field on a person"
ERASED = "this person's data has been erased"


def person_refresh_values(*, person_ids: Iterable[int]) -> None:
    """Recompute best values from current records: the most trusted source first, then the newest; a
    reviewer's decision on a field wins. Many persons at once (imports and linkage merge thousands). In the
    caller's transaction: used by imports and linkage, which audit their own work."""
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        decided = set(ValueDecision.objects.filter(person_id__in=part).values_list("person_id", "field"))
        rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in (
            SourceRecord.objects.filter(person_id__in=part, superseded=False)
            .order_by("person_id", "-source__trust", "-id")
            .values("person_id", *set(VALUE_FIELDS.values()))
        ):
            rows[row["person_id"]].append(row)
        persons = list(Person.objects.filter(pk__in=part, erased_at__isnull=True))
        for person in persons:
            records = rows.get(person.pk, [])
            for name, attr in VALUE_FIELDS.items():
                if (person.pk, name) in decided:
                    continue
                value = next((r[attr] for r in records if r[attr] not in ("", None)), None)
                setattr(person, attr, value if value is not None else (None if attr in _NULLABLE else ""))
            person.given_folded, person.surname_folded, person.surname_skeleton = name_keys(
                person.given_name, person.surname
            )
        Person.objects.bulk_update(
            persons, [*VALUE_FIELDS.values(), "given_folded", "surname_folded", "surname_skeleton"], batch_size=500
        )


_NULLABLE = {"birth_date", "death_date", "origin_settlement_id"}


def _person_for_update(person_id: int) -> Person:
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None:
        raise NotFoundError("person not found")
    if person.erased_at is not None:
        raise ValidationError(ERASED)
    return person


def _parse_value(name: str, text: str) -> Any:
    if name in ("birth_date", "death_date"):
        if not text:
            return None
        try:
            return PartialDate.parse(text)
        except ValueError as exc:
            raise ValidationError(str(exc), [("value", name, str(exc))]) from exc
    if name == "origin_settlement":
        if not text:
            return None
        found = Settlement.objects.filter(gid=text).values_list("id", flat=True).first()
        if found is None:
            raise ValidationError("no settlement has this gazetteer id", [("value", name, "unknown settlement")])
        return found
    if name == "sex" and text not in ("", "F", "M", "X"):
        raise ValidationError("sex is F, M or X", [("value", name, "invalid")])
    if name == "current_country" and text and (len(text) != 2 or not text.isalpha()):
        raise ValidationError("a two-letter country code", [("value", name, "invalid")])
    if len(text) > 200:
        raise ValidationError("at most 200 characters", [("value", name, "too long")])
    return text


def person_choose_value(
    *, actor: Any, person_id: int, field: str, record_id: int | None = None, value: str | None = None, reason: str = ""
) -> ValueDecision:
    """Set a person's value for ``field``: from one of their source records, or typed with a reason."""
    if field not in VALUE_FIELDS:
        raise ValidationError(NO_SUCH_FIELD, [("field", field, NO_SUCH_FIELD)])
    with transaction.atomic():
        person = _person_for_update(person_id)
        attr = VALUE_FIELDS[field]
        previous = getattr(person, attr)
        record = None
        if record_id is not None:
            record = SourceRecord.objects.filter(pk=record_id, person_id=person_id).first()
            if record is None:
                raise ValidationError("that record is not one of this person's", [("record", str(record_id), "")])
            new = getattr(record, attr)
        else:
            if not reason.strip():
                raise ValidationError("a typed value needs a reason", [("reason", "", "required")])
            new = _parse_value(field, (value or "").strip())
        setattr(person, attr, new)
        person.given_folded, person.surname_folded, person.surname_skeleton = name_keys(
            person.given_name, person.surname
        )
        person.save()
        decision = ValueDecision.objects.create(
            person=person,
            field=field,
            value="" if new is None else str(new),
            previous="" if previous is None else str(previous),
            source_record=record,
            reason=reason[:500],
            decided_by_id=_user_id(actor),
        )
        audit_record(
            actor=actor,
            action="registry.person.value_chosen",
            target=person,
            data={"field": field, "record": record_id, "typed": record_id is None},
        )
    if field in ("birth_date",):
        eligibility_update(actor=actor, person_ids=[person_id])
    return decision


# --- family links -------------------------------------------------------------------------------------

CYCLE = "this link would make a person their own ancestor"
PARENT_YOUNGER = "the parent would be born after the child"


def _parents_of(persons: list[int]) -> list[int]:
    return list(
        Kinship.objects.filter(kind=Kinship.Kind.PARENT, child_id__in=persons).values_list("parent_id", flat=True)
    )


def kinship_add(
    *, actor: Any, kind: str, parent_id: int, child_id: int, adoptive: bool = False, note: str = ""
) -> Kinship:
    """Link two persons (parent and child, or spouses); cycles and a parent born after the child are refused."""
    if kind not in Kinship.Kind.values:
        raise ValidationError("unknown kind of link", [("kind", kind, "invalid")])
    if parent_id == child_id:
        raise ValidationError("a person cannot be linked to themselves", [("person", str(child_id), "same")])
    with transaction.atomic():
        parent = _person_for_update(parent_id)
        child = _person_for_update(child_id)
        if kind == Kinship.Kind.PARENT:
            if parent_born_after_child(parent.birth_date, child.birth_date):
                raise ValidationError(PARENT_YOUNGER, [("parent", str(parent_id), PARENT_YOUNGER)])
            if is_ancestor(child_id, parent_id, _parents_of):
                raise ValidationError(CYCLE, [("parent", str(parent_id), CYCLE)])
        else:
            parent_id, child_id = min(parent_id, child_id), max(parent_id, child_id)
        if Kinship.objects.filter(kind=kind, parent_id=parent_id, child_id=child_id).exists():
            raise ValidationError("these persons are already linked", [("person", str(child_id), "duplicate")])
        link = Kinship.objects.create(
            kind=kind,
            parent_id=parent_id,
            child_id=child_id,
            adoptive=adoptive,
            note=note[:500],
            recorded_by_id=_user_id(actor),
        )
        audit_record(
            actor=actor,
            action="registry.kinship.added",
            target=link,
            data={"kind": kind, "parent": parent.pk, "child": child.pk, "adoptive": adoptive},
        )
    if kind == Kinship.Kind.PARENT:
        eligibility_update(actor=actor, person_ids=[child_id])
    return link


def kinship_remove(*, actor: Any, link_id: int, reason: str) -> None:
    if not reason.strip():
        raise ValidationError("removing a family link needs a reason", [("reason", "", "required")])
    with transaction.atomic():
        link = Kinship.objects.select_for_update().filter(pk=link_id).first()
        if link is None:
            raise NotFoundError("link not found")
        data = {"kind": link.kind, "parent": link.parent_id, "child": link.child_id, "reason": reason[:500]}
        child_id = link.child_id
        kind = link.kind
        audit_record(actor=actor, action="registry.kinship.removed", target=link, data=data)
        link.delete()
    if kind == Kinship.Kind.PARENT:
        eligibility_update(actor=actor, person_ids=[child_id])


def displacement_add(
    *,
    actor: Any,
    person_id: int,
    settlement_id: int | None,
    date_from: PartialDate | None = None,
    date_to: PartialDate | None = None,
    event_code: str = "",
    evidence: str = "",
) -> Displacement:
    if not evidence.strip():
        raise ValidationError("a displacement needs its evidence", [("evidence", "", "required")])
    with transaction.atomic():
        person = _person_for_update(person_id)
        event = None
        if event_code:
            event = DisplacementEvent.objects.filter(code=event_code).first()
            if event is None:
                raise ValidationError("unknown displacement event", [("event", event_code, "unknown")])
        if settlement_id is not None and not Settlement.objects.filter(pk=settlement_id).exists():
            raise ValidationError("unknown settlement", [("settlement", str(settlement_id), "unknown")])
        if date_from and date_to and date_to < date_from:
            raise ValidationError("the period ends before it starts", [("date_to", str(date_to), "before start")])
        row = Displacement.objects.create(
            person=person,
            settlement_id=settlement_id,
            date_from=date_from,  # type: ignore[misc]
            date_to=date_to,
            event=event,
            evidence=evidence[:500],
            recorded_by_id=_user_id(actor),
        )
        audit_record(actor=actor, action="registry.displacement.added", target=row, data={"person": person.pk})
    eligibility_update(actor=actor, person_ids=[person_id])
    return row


# --- configuration -------------------------------------------------------------------------------------


def event_save(
    *, actor: Any, code: str, label: str, start: PartialDate | None, end: PartialDate | None, qualifies: bool
) -> DisplacementEvent:
    check_code(code, field="code")
    if start and end and end < start:
        raise ValidationError("the event ends before it starts", [("end", str(end), "before start")])
    with transaction.atomic():
        event, created = DisplacementEvent.objects.update_or_create(
            code=code,
            defaults={"label": label or code, "start": start, "end": end, "qualifies": qualifies},  # type: ignore[misc]
        )
        audit_record(
            actor=actor,
            action="registry.event.saved",
            target=event,
            data={"code": code, "qualifies": qualifies, "created": created},
        )
    return event


def origin_region_set(*, actor: Any, unit_codes: list[str]) -> list[str]:
    units = list(AdminUnit.objects.filter(code__in=unit_codes))
    missing = sorted(set(unit_codes) - {u.code for u in units})
    if missing:
        raise ValidationError(
            f"unknown administrative units: {', '.join(missing)}", [("unit", m, "unknown") for m in missing]
        )
    with transaction.atomic():
        OriginRegion.objects.all().delete()
        OriginRegion.objects.bulk_create(OriginRegion(admin_unit=u) for u in units)
        audit_record(actor=actor, action="registry.origin_region.set", data={"units": sorted(unit_codes)})
    return sorted(unit_codes)


def source_save(*, actor: Any, code: str, name: str, kind: str, country: str, trust: int) -> Source:
    check_code(code, field="code")
    if kind not in Source.Kind.values:
        raise ValidationError("unknown kind of source", [("kind", kind, "invalid")])
    if not 1 <= trust <= 5:
        raise ValidationError("trust is 1 to 5", [("trust", str(trust), "out of range")])
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationError("a two-letter country code", [("country", country, "invalid")])
    with transaction.atomic():
        source, created = Source.objects.update_or_create(
            code=code, defaults={"name": name or code, "kind": kind, "country": country.upper(), "trust": trust}
        )
        audit_record(actor=actor, action="registry.source.saved", target=source, data={"created": created})
    return source


# --- eligibility ---------------------------------------------------------------------------------------


def _parent_edges() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT parent_id, child_id FROM {table(Kinship)} WHERE kind = %s",  # noqa: S608
            ["parent"],
        )
        return list(cursor.fetchall())


def _write_generations(changed: list[tuple[int | None, bool, int]]) -> None:
    """Write (generation, eligible, id) rows: one UPDATE from a COPY-filled temporary table on PostgreSQL
    (row-by-row updates cost a round trip each there), executemany on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"UPDATE {table(Person)} SET generation = %s, eligible = %s WHERE id = %s",  # noqa: S608
                changed,
            )
            return
        cursor.execute(
            "CREATE TEMPORARY TABLE homeward_generation (generation smallint, eligible boolean, id bigint) "
            "ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY homeward_generation (generation, eligible, id) FROM STDIN") as copy:
            for row in changed:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE {table(Person)} p SET generation = g.generation, eligible = g.eligible "  # noqa: S608
            "FROM homeward_generation g WHERE p.id = g.id"
        )


def eligibility_recompute(*, actor: Any, progress: Progress | None = None) -> dict[str, int]:
    """Generation and eligibility of every person from the family graph; writes only what changed."""
    progress = progress or NullProgress()
    progress.start(4, "loading the family graph")
    with transaction.atomic():
        roots = set(qualifying_displacements().values_list("person_id", flat=True))
        edges = _parent_edges()
        progress.advance(1, "computing generations")
        result = compute_generations(roots, edges)
        progress.advance(1, "comparing")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, generation, merged_into_id FROM {table(Person)}")  # noqa: S608
            rows = cursor.fetchall()
        current = [(pid, gen) for pid, gen, _merged in rows]
        identities = sum(1 for _pid, _gen, merged in rows if merged is None)
        generation = result.generation
        changed = [(generation.get(pid), pid in generation, pid) for pid, gen in current if generation.get(pid) != gen]
        progress.advance(1, f"writing {len(changed):,} changes")
        if changed:
            _write_generations(changed)
        counts = {
            "persons": identities,
            "eligible": len(generation),
            "displaced": len(roots),
            "links": len(edges),
            "changed": len(changed),
        }
        audit_record(actor=actor, action="registry.eligibility.recomputed", data=counts)
        progress.advance(1, "done")
    return counts


def eligibility_update(*, actor: Any, person_ids: list[int]) -> int:
    """After a link or displacement changed: recompute these persons and everyone descending from them."""
    with transaction.atomic():
        region = qualifying_displacements()
        subtree: list[int] = []
        seen: set[int] = set()
        frontier = list(person_ids)
        while frontier:
            frontier = [p for p in frontier if p not in seen]
            seen.update(frontier)
            subtree.extend(frontier)
            frontier = list(
                Kinship.objects.filter(kind=Kinship.Kind.PARENT, parent_id__in=frontier).values_list(
                    "child_id", flat=True
                )
            )
        inside = set(subtree)
        roots = set(region.filter(person_id__in=inside).values_list("person_id", flat=True))
        edges = list(
            Kinship.objects.filter(kind=Kinship.Kind.PARENT, child_id__in=inside).values_list("parent_id", "child_id")
        )
        outside_parents = {p for p, _ in edges if p not in inside}
        fixed = dict(
            Person.objects.filter(pk__in=outside_parents, generation__isnull=False).values_list("id", "generation")
        )
        # Parents outside the subtree keep their generation: seed them as roots at that depth.
        generation: dict[int, int] = dict.fromkeys(roots, 0)
        changed = True
        while changed:
            changed = False
            for parent, child in edges:
                base = generation.get(parent, fixed.get(parent))
                if base is None:
                    continue
                if child not in roots and (child not in generation or generation[child] > base + 1):
                    generation[child] = base + 1
                    changed = True
        changed_to: dict[int | None, list[int]] = {}
        for pk, old in Person.objects.filter(pk__in=inside).values_list("pk", "generation"):
            if old != generation.get(pk):
                changed_to.setdefault(generation.get(pk), []).append(pk)
        for new, ids in changed_to.items():  # one update per generation, not one per person
            Person.objects.filter(pk__in=ids).update(generation=new, eligible=new is not None)
        updates = sum(len(ids) for ids in changed_to.values())
        if updates:
            audit_record(
                actor=actor,
                action="registry.eligibility.updated",
                data={"persons": sorted(person_ids)[:50], "changed": updates},
            )
    return updates


# --- consent ---------------------------------------------------------------------------------------------


def _consent_checked(*, purpose: str, sheet_version: str, channel: str, partner: str, published: set[str]) -> str:
    """A consent's own values checked; the sheet version as stored (``published``: versions known to be
    published, added to as they are found)."""
    if purpose not in Consent.Purpose.values:
        raise ValidationError("unknown purpose", [("purpose", purpose, "invalid")])
    if channel not in Consent.Channel.values:
        raise ValidationError("unknown channel", [("channel", channel, "invalid")])
    if channel == Consent.Channel.SOURCE:
        # Consent the source registry collected: its own form's reference, not one of our sheets.
        if not sheet_version.strip():
            raise ValidationError("name the source's consent form", [("sheet_version", "", "required")])
    elif sheet_version not in published:
        sheet_version = require_published(sheet_version)
        published.add(sheet_version)
    if purpose == Consent.Purpose.SHARING and not partner.strip():
        raise ValidationError("sharing consent names the partner", [("partner", "", "required")])
    return sheet_version


def consent_record(
    *, actor: Any, person_id: int, purpose: str, sheet_version: str, channel: str, partner: str = ""
) -> Consent:
    sheet_version = _consent_checked(purpose=purpose, sheet_version=sheet_version, channel=channel, partner=partner,
                                     published=set())  # fmt: skip
    with transaction.atomic():
        person = _person_for_update(person_id)
        consent = Consent.objects.create(
            person=person,
            purpose=purpose,
            sheet_version=sheet_version[:64],
            channel=channel,
            partner=partner[:200],
            given_at=timezone.now(),
            recorded_by_id=_user_id(actor),
        )
        audit_record(actor=actor, action="registry.consent.given", target=consent, data={"purpose": purpose})
    return consent


def consents_record_many(*, actor: Any, channel: str, items: list[dict[str, Any]]) -> list[Consent]:
    """Many consents given through one channel at once (the portal recording a group of registrations): each item
    has ``person_id``, ``purpose``, ``sheet_version`` and for sharing ``partner``. Checked as ``consent_record``
    checks one; all are written, or none."""
    if channel not in Consent.Channel.values or channel == Consent.Channel.SOURCE:
        raise ValidationError("unknown channel", [("channel", channel, "invalid")])
    published: set[str] = set()
    made = []
    now = timezone.now()
    for item in items:
        purpose, partner = item["purpose"], str(item.get("partner") or "")
        version = _consent_checked(purpose=purpose, sheet_version=str(item["sheet_version"]), channel=channel,
                                   partner=partner, published=published)  # fmt: skip
        made.append(Consent(person_id=int(item["person_id"]), purpose=purpose, sheet_version=version[:64],
                            channel=channel, partner=partner[:200], given_at=now,
                            recorded_by_id=_user_id(actor)))  # fmt: skip
    with transaction.atomic():
        ids = {c.person_id for c in made}
        usable = set(Person.objects.select_for_update().filter(pk__in=ids, erased_at__isnull=True)
                     .values_list("pk", flat=True))  # fmt: skip
        if ids - usable:
            raise ValidationError(ERASED if Person.objects.filter(pk__in=ids - usable).exists() else "person not found")
        Consent.objects.bulk_create(made)
        audit_record_many(actor=actor, events=[
            {"action": "registry.consent.given", "target": c, "data": {"purpose": c.purpose}} for c in made
        ])  # fmt: skip
    return made


def consent_withdraw(*, actor: Any, consent_id: int) -> Consent:
    with transaction.atomic():
        consent = Consent.objects.select_for_update().filter(pk=consent_id).first()
        if consent is None:
            raise NotFoundError("consent not found")
        if consent.withdrawn_at is None:
            consent.withdrawn_at = timezone.now()
            consent.save(update_fields=["withdrawn_at"])
            audit_record(actor=actor, action="registry.consent.withdrawn", target=consent)
    return consent


# --- data subject rights ---------------------------------------------------------------------------------

RESPONSE_DAYS = 30


def subject_request_open(
    *, actor: Any, person_id: int, kind: str, received_on: dt.date, channel: str = "", details: str = ""
) -> SubjectRequest:
    if kind not in SubjectRequest.Kind.values:
        raise ValidationError("unknown kind of request", [("kind", kind, "invalid")])
    if received_on > timezone.localdate():
        raise ValidationError("the request cannot be received in the future", [("received_on", "", "future")])
    with transaction.atomic():
        person = Person.objects.filter(pk=person_id).first()
        if person is None:
            raise NotFoundError("person not found")
        request = SubjectRequest.objects.create(
            person=person,
            kind=kind,
            received_on=received_on,
            due_on=received_on + dt.timedelta(days=RESPONSE_DAYS),
            channel=channel[:64],
            details=details,
            handled_by_id=_user_id(actor),
        )
        audit_record(actor=actor, action="registry.subject_request.opened", target=request, data={"kind": kind})
    return request


def _close(actor: Any, request: SubjectRequest, *, outcome: str, exceptions: str = "", refused: bool = False) -> None:
    request.state = SubjectRequest.State.REFUSED if refused else SubjectRequest.State.DONE
    request.completed_at = timezone.now()
    request.outcome = outcome
    request.exceptions = exceptions
    request.handled_by_id = _user_id(actor)
    request.save()
    audit_record(
        actor=actor,
        action="registry.subject_request.closed",
        target=request,
        data={"kind": request.kind, "state": request.state, "exceptions": bool(exceptions)},
    )


def _open_request(request_id: int, kind: str | None) -> SubjectRequest:
    """The request, locked, if it is still open (and of ``kind``, unless None)."""
    request = SubjectRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFoundError("request not found")
    if request.state != SubjectRequest.State.OPEN:
        raise ValidationError("this request is already closed", [("request", str(request_id), "closed")])
    if kind is not None and request.kind != kind:
        raise ValidationError(f"this is a request of kind {request.kind}", [("request", str(request_id), "kind")])
    return request


def subject_access_fulfil(*, actor: Any, request_id: int, export: dict[str, Any]) -> SubjectRequest:
    """Close an access request once the export (from ``person_export``) has been handed over."""
    with transaction.atomic():
        request = _open_request(request_id, SubjectRequest.Kind.ACCESS)
        digest = json.dumps(export, sort_keys=True, ensure_ascii=False).encode()
        import hashlib

        _close(actor, request, outcome=f"export handed over (sha256 {hashlib.sha256(digest).hexdigest()})")
    return request


def subject_request_refuse(*, actor: Any, request_id: int, reason: str) -> SubjectRequest:
    if not reason.strip():
        raise ValidationError("a refusal states its reason", [("reason", "", "required")])
    with transaction.atomic():
        request = _open_request(request_id, None)
        _close(actor, request, outcome=reason, refused=True)
    return request


def person_restrict(*, actor: Any, request_id: int, restricted: bool = True) -> SubjectRequest:
    """Restriction: the person stays in the registry but is left out of linkage, statistics and planning."""
    with transaction.atomic():
        request = _open_request(request_id, SubjectRequest.Kind.RESTRICT)
        Person.objects.filter(pk=request.person_id).update(restricted=restricted)
        audit_record(
            actor=actor,
            action="registry.person.restricted",
            target_type="registry.person",
            target_id=request.person_id,
            data={"restricted": restricted},
        )
        _close(actor, request, outcome="processing restricted" if restricted else "restriction lifted")
    return request


# Other apps that keep copies of a person's values (the review queue's evidence, say) register a function
# here at start-up; each is called with the person's source record ids inside the erasure's transaction.
ERASURE_HOOKS: list[Callable[[list[int]], None]] = []


def person_erase(
    *, actor: Any, request_id: int, exceptions: str = "", keep_eligibility: bool = False
) -> SubjectRequest:
    """Erase a person's personal data (names, dates, places, contact, raw rows) from the person and every
    source record; the identity row, its id and the request remain so the erasure itself is provable.
    ``exceptions`` records what must be kept and why (e.g. a pending property claim)."""
    with transaction.atomic():
        request = _open_request(request_id, SubjectRequest.Kind.ERASE)
        person = Person.objects.select_for_update().get(pk=request.person_id)
        records = SourceRecord.objects.filter(person=person)
        count = records.count()
        for hook in ERASURE_HOOKS:
            hook(list(records.values_list("id", flat=True)))
        records.update(
            raw={}, given_name="", surname="", previous_surname="", patronymic="", sex="", birth_date=None,
            birth_place="", origin_text="", origin_settlement=None, current_country="", current_city="",
            household_ref="", relation_to_head="", father_ref="", mother_ref="", spouse_ref="", death_date=None,
            displacement_date=None, displacement_event="", sensitive="",
            given_folded="", surname_folded="", surname_skeleton="",  # name keys are made from the names
        )  # fmt: skip
        ImportProblem.objects.filter(
            batch__records__person=person, external_id__in=list(records.values_list("external_id", flat=True))
        ).update(raw="", value="")
        Person.objects.filter(pk=person.pk).update(
            given_name="", surname="", patronymic="", sex="", birth_date=None, birth_place="", death_date=None,
            origin_settlement=None, current_country="", current_city="", sensitive="", given_folded="",
            surname_folded="", surname_skeleton="", erased_at=timezone.now(), restricted=True,
            **({} if keep_eligibility else {"generation": None, "eligible": False}),
        )  # fmt: skip
        ValueDecision.objects.filter(person=person).update(value="", previous="", reason="")
        Displacement.objects.filter(person=person).update(origin_text="", evidence="")
        HouseholdMember.objects.filter(person=person).delete()
        Consent.objects.filter(person=person, withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
        audit_record(
            actor=actor,
            action="registry.person.erased",
            target=person,
            data={"records": count, "exceptions": bool(exceptions.strip())},
        )
        _close(actor, request, outcome=f"erased from the person and {count} source records", exceptions=exceptions)
    return request


def subject_request_complete(*, actor: Any, request_id: int, outcome: str) -> SubjectRequest:
    """Close a correction request once the values were corrected (each correction is its own decision)."""
    if not outcome.strip():
        raise ValidationError("say what was corrected", [("outcome", "", "required")])
    with transaction.atomic():
        request = _open_request(request_id, SubjectRequest.Kind.RECTIFY)
        _close(actor, request, outcome=outcome)
    return request
