"""Return intentions: each a versioned record of the person's own decision, never inferred or assigned.

Staff record an intention on a person's behalf only with the channel it was given through (interview,
phone, paper) and their own account; the portal records the registrant's own. Withdrawal is one step, asks
no reason, and is a version like any other, so the history stays whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record, audit_record_many
from homeward.core.errors import NotFoundError, ValidationError
from homeward.gazetteer.models import Settlement
from homeward.registry.models import InformationSheet, Person, ReturnIntention
from homeward.registry.services.sheets import field_problem, require_published

ADULT_AGE = 18
STAFF_CHANNELS = (ReturnIntention.Channel.INTERVIEW, ReturnIntention.Channel.PHONE, ReturnIntention.Channel.PAPER)


_problem = field_problem


def _person(person_id: int) -> Person:
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None or person.merged_into_id is not None or person.erased_at is not None:
        raise NotFoundError(f"person {person_id} not found")
    return person


def _subset(field: str, values: Iterable[str], allowed: dict[str, Any]) -> list[str]:
    chosen = [str(v) for v in values if str(v).strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise _problem(field, unknown[0], f"one of {', '.join(allowed)}")
    return sorted(set(chosen), key=list(allowed).index)


def _next_version(person: Person) -> int:
    return int(person.intentions.aggregate(top=Max("version"))["top"] or 0) + 1


def intention_record(
    *, actor: Any, person_id: int, decision: str, sheet_version: str, channel: str, horizon: str = "",
    together: str = "", destination_id: int | None = None, conditions: Iterable[str] = (), conditions_note: str = "",
    needs: Iterable[str] = (),
) -> ReturnIntention:  # fmt: skip
    """A new version of the person's intention, as they gave it through ``channel``, recorded by staff."""
    who = actor_of(actor)
    if who.user_id is None:
        raise _problem("recorded_by", "", "an intention given to staff is recorded under the staff member's account")
    if channel not in STAFF_CHANNELS:
        raise _problem("channel", channel, f"staff record intentions given by {', '.join(STAFF_CHANNELS)}")
    return _create(
        who, person_id=person_id, decision=decision, sheet_version=sheet_version, channel=channel, horizon=horizon,
        together=together, destination_id=destination_id, conditions=conditions, conditions_note=conditions_note,
        needs=needs,
    )  # fmt: skip


def intention_record_own(
    *, actor: Any, person_id: int, decision: str, sheet_version: str, horizon: str = "", together: str = "",
    destination_id: int | None = None, conditions: Iterable[str] = (), conditions_note: str = "",
    needs: Iterable[str] = (),
) -> ReturnIntention:  # fmt: skip
    """A new version of the intention given by the registrant themselves on the portal (no staff account)."""
    return _create(
        actor_of(actor), person_id=person_id, decision=decision, sheet_version=sheet_version,
        channel=ReturnIntention.Channel.PORTAL, horizon=horizon, together=together, destination_id=destination_id,
        conditions=conditions, conditions_note=conditions_note, needs=needs,
    )  # fmt: skip


def _checked(
    *, decision: str, sheet_version: str, horizon: str, together: str, destination_id: int | None,
    conditions: Iterable[str], conditions_note: str, needs: Iterable[str], published: set[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An intention's own values checked and cleaned (``published``: the sheet versions known to be published,
    when the caller checks many at once); the person's side is ``_fits``."""
    choices = [d for d in ReturnIntention.Decision.values if d != ReturnIntention.Decision.WITHDRAWN]
    if decision not in choices:
        raise _problem("decision", decision, f"one of {', '.join(choices)} (withdrawal is its own step)")
    if published is not None and str(sheet_version or "").strip() in published:
        sheet_version = str(sheet_version).strip()
    else:
        sheet_version = require_published(sheet_version)
    if horizon and horizon not in ReturnIntention.Horizon.values:
        raise _problem("horizon", horizon, f"one of {', '.join(ReturnIntention.Horizon.values)}")
    if together and together not in ReturnIntention.Together.values:
        raise _problem("together", together, f"one of {', '.join(ReturnIntention.Together.values)}")
    if decision == ReturnIntention.Decision.INTENDS:
        if not horizon:
            raise _problem("horizon", "", "say when the person would return")
        if not together:
            raise _problem("together", "", "say whether with the community, on their own, or elsewhere")
    destination = None
    if together == ReturnIntention.Together.ELSEWHERE:
        destination = Settlement.objects.filter(pk=destination_id).first() if destination_id else None
        if destination is None:
            raise _problem("destination", destination_id or "", "going elsewhere names the settlement")
    if len(str(conditions_note or "")) > 1000:
        raise _problem("conditions_note", "", "at most 1,000 characters")
    return {
        "decision": decision, "horizon": horizon, "together": together, "destination": destination,
        "conditions": _subset("conditions", conditions, ReturnIntention.CONDITIONS),
        "conditions_note": str(conditions_note or "").strip(), "needs": _subset("needs", needs, ReturnIntention.NEEDS),
        "sheet_version": str(sheet_version).strip()[:64],
    }  # fmt: skip


def _fits(person: Person, values: dict[str, Any]) -> None:
    """What the person's own record allows: an adult's decision, another settlement than the origin."""
    today = timezone.localdate()
    born = person.birth_date
    if born is not None and today.year - born.year < ADULT_AGE:  # under 18 whatever the birthday
        raise _problem("person", person.pk, "a child's return is decided with their household's adults")
    destination = values["destination"]
    if destination is not None and destination.pk == person.origin_settlement_id:
        raise _problem("destination", destination.gid, "this is the person's origin settlement: choose "
                                                       "'with the community' or 'on their own'")  # fmt: skip


def _create(
    who: Any, *, person_id: int, decision: str, sheet_version: str, channel: str, horizon: str, together: str,
    destination_id: int | None, conditions: Iterable[str], conditions_note: str, needs: Iterable[str],
) -> ReturnIntention:  # fmt: skip
    values = _checked(decision=decision, sheet_version=sheet_version, horizon=horizon, together=together,
                      destination_id=destination_id, conditions=conditions, conditions_note=conditions_note,
                      needs=needs)  # fmt: skip
    with transaction.atomic():
        person = _person(person_id)
        _fits(person, values)
        intention = ReturnIntention.objects.create(
            person=person, version=_next_version(person), **values, channel=channel, recorded_by_id=who.user_id,
            recorded_at=timezone.now(),
        )  # fmt: skip
        audit_record(
            actor=who, action="registry.intention.recorded", target=intention,
            data={"person": person.pk, "version": intention.version, "decision": decision, "channel": channel},
        )  # fmt: skip
    return intention


def intentions_record_own_many(*, actor: Any, items: list[dict[str, Any]]) -> list[ReturnIntention | str]:
    """Many registrants' own intentions at once (the portal recording a group of registrations): each item has
    ``person_id`` and the fields of ``intention_record_own``. Checked one by one as ``intention_record_own``
    checks them, written together; for each item, its new version, or the reason it was refused."""
    who = actor_of(actor)
    published = set(InformationSheet.objects.values_list("version", flat=True).distinct())
    out: list[ReturnIntention | str] = []
    with transaction.atomic():
        ids = {int(item["person_id"]) for item in items}
        persons = {p.pk: p for p in Person.objects.select_for_update().filter(
            pk__in=ids, merged_into__isnull=True, erased_at__isnull=True)}  # fmt: skip
        versions = dict(
            ReturnIntention.objects.filter(person_id__in=ids).values("person_id").annotate(top=Max("version"))
            .values_list("person_id", "top")
        )  # fmt: skip
        made: list[ReturnIntention] = []
        now = timezone.now()
        for item in items:
            person = persons.get(int(item["person_id"]))
            try:
                if person is None:
                    raise NotFoundError(f"person {item['person_id']} not found")
                values = _checked(
                    decision=item["decision"], sheet_version=item["sheet_version"], horizon=item.get("horizon", ""),
                    together=item.get("together", ""), destination_id=item.get("destination_id"),
                    conditions=item.get("conditions") or (), conditions_note=item.get("conditions_note", ""),
                    needs=item.get("needs") or (), published=published,
                )  # fmt: skip
                _fits(person, values)
            except (ValidationError, NotFoundError) as exc:
                out.append(str(exc))
                continue
            versions[person.pk] = int(versions.get(person.pk) or 0) + 1
            intention = ReturnIntention(person=person, version=versions[person.pk], **values,
                                        channel=ReturnIntention.Channel.PORTAL, recorded_by_id=who.user_id,
                                        recorded_at=now)  # fmt: skip
            made.append(intention)
            out.append(intention)
        ReturnIntention.objects.bulk_create(made)
        audit_record_many(actor=who, events=[
            {"action": "registry.intention.recorded", "target": i,
             "data": {"person": i.person_id, "version": i.version, "decision": i.decision, "channel": i.channel}}
            for i in made
        ])  # fmt: skip
    return out


def intention_withdraw(*, actor: Any, person_id: int, channel: str) -> ReturnIntention:
    """Withdraw the person's intention in one step, without a reason: a new version that says so."""
    who = actor_of(actor)
    if who.user_id is None:
        raise _problem("recorded_by", "", "a withdrawal given to staff is recorded under the staff member's account")
    if channel not in STAFF_CHANNELS:
        raise _problem("channel", channel, f"staff record withdrawals given by {', '.join(STAFF_CHANNELS)}")
    return _withdraw(who, person_id=person_id, channel=channel)


def intention_withdraw_own(*, actor: Any, person_id: int) -> ReturnIntention:
    """The registrant withdraws their own intention on the portal: one step, no reason asked. Recorded even when
    the latest version is a withdrawal already (given through another channel): the registrant's own word is
    kept, and the portal never tells them what was recorded elsewhere."""
    return _withdraw(actor_of(actor), person_id=person_id, channel=ReturnIntention.Channel.PORTAL, again=True)


def _withdraw(who: Any, *, person_id: int, channel: str, again: bool = False) -> ReturnIntention:
    with transaction.atomic():
        person = _person(person_id)
        latest = person.intentions.order_by("-version").first()
        if latest is None or (latest.decision == ReturnIntention.Decision.WITHDRAWN and not again):
            raise _problem("intention", person_id, "there is no intention to withdraw")
        intention = ReturnIntention.objects.create(
            person=person, version=latest.version + 1, decision=ReturnIntention.Decision.WITHDRAWN,
            sheet_version=latest.sheet_version, channel=channel, recorded_by_id=who.user_id,
            recorded_at=timezone.now(),
        )  # fmt: skip
        audit_record(
            actor=who, action="registry.intention.withdrawn", target=intention,
            data={"person": person.pk, "version": intention.version, "channel": channel},
        )  # fmt: skip
    return intention
