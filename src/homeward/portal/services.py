"""Self-registration: a submission is stored whole before anything else happens, then recorded.

``submission_receive`` stores the registrant's answers, encrypted, in one transaction with its audit event,
and returns the reference and the passphrase (shown once; only a keyed hash is kept). ``submission_record``
then makes the records: the family as person records of the self-registration source, through the
registry's own import (so the same validation, provenance and family links apply), the registrant's
consents, each adult's return intention, and a matching job that proposes existing persons to staff. A
submission that could not be recorded stays stored and is recorded again by ``homeward portal record``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record, audit_record_many, system_actor
from homeward.core.crypto import blind_index
from homeward.core.errors import HomewardError, NotFoundError, ValidationError
from homeward.core.jobs import job_enqueue
from homeward.core.models import Job
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.models import Settlement
from homeward.portal.models import Campaign, Submission, SubmissionIntention
from homeward.registry.engine.records import CONTENT_FIELDS
from homeward.registry.models import Consent, ReturnIntention, Source, SourceRecord
from homeward.registry.readers import formula_like
from homeward.registry.services.imports import registry_import
from homeward.registry.services.intentions import (
    intention_record_own,
    intention_withdraw_own,
    intentions_record_own_many,
)
from homeward.registry.services.persons import (
    consent_withdraw,
    consents_record_many,
    eligibility_update,
)
from homeward.registry.services.sheets import field_problem, require_published

log = logging.getLogger("homeward.portal")

SOURCE_CODE = "portal"
PORTAL = system_actor("portal")
# Passphrases: 4 groups of 4 from an alphabet without look-alikes (80 bits), easy to copy from a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_FAMILY = 30
MAX_TEXT = 200
MAX_NOTE = 1000
LOCK_AFTER = 5
LOCK_MINUTES = 15
GROUP = 200  # submissions recorded through one import
ADULT_AGE = 18
NOT_TAKEN = "could not be recorded: staff will look at it"
STILL_RECORDING = "still being recorded: try again in a few minutes"

RELATIONS = ("father", "mother", "father_father", "father_mother", "mother_father", "mother_mother", "spouse",
             "child")  # fmt: skip
ONE_OF_EACH = frozenset(RELATIONS) - {"child"}
PERSON_FIELDS = ("given_name", "surname", "patronymic", "sex", "birth_date", "birth_place")
TEXT_LIMITS = {"given_name": MAX_TEXT, "surname": MAX_TEXT, "previous_surname": MAX_TEXT, "patronymic": MAX_TEXT,
               "birth_place": MAX_TEXT, "city": MAX_TEXT, "origin_text": MAX_TEXT, "how_left": MAX_NOTE,
               "phone": 40, "email": 254, "conditions_note": MAX_NOTE}  # fmt: skip


@dataclass(frozen=True)
class Receipt:
    reference: str
    passphrase: str  # shown once to the registrant, never stored
    submission: Submission
    again: bool = False  # the same answers sent twice: the first submission, no new passphrase


def _group(alphabet: str, groups: int) -> str:
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(groups))


def passphrase_of(draft: str) -> str:
    """The passphrase of the submission made from this draft: drawn from the draft's secret token with the
    server's key, so that the same page sent twice (a double tap) shows the same passphrase, and nothing
    that could give it back is stored."""
    number = int(blind_index(draft, context="portal.passphrase.draw"), 16)
    chars = []
    for _ in range(16):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "-".join("".join(chars[i : i + 4]) for i in range(0, 16, 4))


def draft_digest(draft: str) -> str:
    """What is stored of the draft's token: a keyed hash, so the stored table cannot give back a passphrase."""
    return blind_index(str(draft or ""), context="portal.draft.id")


def normal_passphrase(text: str) -> str:
    return "".join(ch for ch in str(text or "").upper() if ch.isalnum())


def normal_reference(text: str) -> str:
    cleaned = "".join(ch for ch in str(text or "").upper() if ch.isalnum())
    return f"HW-{cleaned[2:6]}-{cleaned[6:10]}" if cleaned.startswith("HW") and len(cleaned) == 10 else ""


def _secret(passphrase: str) -> str:
    return blind_index(normal_passphrase(passphrase), context="portal.passphrase")


def sender_digest(address: str) -> str:
    """A keyed hash of the sender's address, rotated daily: enough for rate limits, useless for tracing."""
    return blind_index(f"{timezone.localdate().isoformat()}|{address}", context="portal.sender")[:32]


# --- checking the answers --------------------------------------------------------------------------------


def _text(problems: list[tuple[str, str, str]], where: str, name: str, value: Any) -> str:
    text = str(value or "").strip()
    limit = TEXT_LIMITS.get(name, MAX_TEXT)
    if len(text) > limit:
        problems.append((where, name, f"at most {limit} characters"))
        return text[:limit]
    if formula_like(text):
        problems.append((where, name, "cannot start with =, +, - or @"))
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        problems.append((where, name, "contains control characters"))
    return text


def _date(problems: list[tuple[str, str, str]], where: str, name: str, value: Any, *, today: dt.date) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        parsed = PartialDate.parse(text)
    except ValueError:
        problems.append((where, name, "a year, year-month or full date (YYYY, YYYY-MM or YYYY-MM-DD)"))
        return ""
    if parsed.earliest() > today:
        problems.append((where, name, "in the future"))
    elif parsed.earliest().year < 1880:
        problems.append((where, name, "before 1880"))
    return str(parsed)


NAME_MARKS = frozenset(" -'’.")


def name_problem(text: str) -> str:
    """Why a name cannot be taken as written, or "": only letters (with their accents) and - ' . between words,
    each word in one alphabet (a Latin letter in a Cyrillic word is a typing slip, and breaks matching)."""
    for ch in text:
        if not (ch.isalpha() or unicodedata.category(ch).startswith("M") or ch in NAME_MARKS):
            return "only letters"
    for word in re.split(r"[\s\-'’.]+", text):
        scripts = {unicodedata.name(ch, "?").split(" ", 1)[0] for ch in word if ch.isalpha()}
        if len(scripts) > 1:
            return "one alphabet per word"
    return ""


def check_person(
    data: dict[str, Any], *, where: str, today: dt.date | None = None
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """One person's fields as the portal takes them, and the problems (where, field, reason)."""
    today = today or timezone.localdate()
    problems: list[tuple[str, str, str]] = []
    out = {name: _text(problems, where, name, data.get(name)) for name in ("given_name", "surname", "patronymic",
                                                                             "birth_place")}  # fmt: skip
    if not out["given_name"]:
        problems.append((where, "given_name", "required"))
    for name in ("given_name", "surname", "patronymic"):
        if out[name] and not any(p[1] == name for p in problems):
            reason = name_problem(out[name])
            if reason:
                problems.append((where, name, reason))
    sex = str(data.get("sex") or "")
    if sex not in ("F", "M", "X", ""):
        problems.append((where, "sex", "F, M or X"))
    out["sex"] = sex if sex in ("F", "M", "X") else ""
    out["birth_date"] = _date(problems, where, "birth_date", data.get("birth_date"), today=today)
    return out, problems


def _year(date_text: str) -> int | None:
    return int(date_text[:4]) if date_text else None


def check_payload(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every problem of a whole submission (the service's own check: the pages check the same, step by step)."""
    problems: list[tuple[str, str, str]] = []
    today = timezone.localdate()
    consents = list(payload.get("consents") or [])
    if Consent.Purpose.REGISTRATION not in consents:
        problems.append(("consent", "registration", "registration needs the registrant's consent"))
    for purpose in consents:
        if purpose not in Consent.Purpose.values:
            problems.append(("consent", str(purpose)[:40], "unknown purpose"))
    if Consent.Purpose.SHARING in consents and not settings.PORTAL_PARTNER:
        problems.append(("consent", "sharing", "no partner is named for sharing"))
    me, found = check_person(payload.get("you") or {}, where="you", today=today)
    problems += found
    if not me.get("surname"):
        problems.append(("you", "surname", "required"))
    family = list(payload.get("family") or [])
    if len(family) > MAX_FAMILY:
        problems.append(("family", "", f"at most {MAX_FAMILY} family members in one registration"))
    seen: set[str] = set()
    for number, member in enumerate(family[:MAX_FAMILY], start=1):
        where = f"family {number}"
        relation = str(member.get("relation") or "")
        if relation not in RELATIONS:
            problems.append((where, "relation", "unknown relation"))
        elif relation in ONE_OF_EACH and relation in seen:
            problems.append((where, "relation", "given twice"))
        seen.add(relation)
        values, found = check_person(member, where=where, today=today)
        problems += found
        died = _date(problems, where, "death_date", member.get("death_date"), today=today)
        if died and values.get("birth_date") and died[:4] < values["birth_date"][:4]:
            problems.append((where, "death_date", "before the birth date"))
        mine, theirs = _year(me.get("birth_date", "")), _year(values.get("birth_date", ""))
        if mine and theirs:
            older = relation in ONE_OF_EACH - {"spouse"}
            if older and theirs >= mine:
                problems.append((where, "birth_date", "a parent or grandparent is born before the registrant"))
            if relation == "child" and theirs <= mine:
                problems.append((where, "birth_date", "a child is born after the registrant"))
    origin = payload.get("origin") or {}
    if origin.get("settlement"):
        if not Settlement.objects.filter(gid=str(origin["settlement"])).exists():
            problems.append(("origin", "settlement", "not a settlement of the gazetteer"))
    elif not _text(problems, "origin", "origin_text", origin.get("text")):
        problems.append(("origin", "settlement", "choose the settlement, or describe it if it is not listed"))
    _text(problems, "origin", "how_left", origin.get("how"))
    _date(problems, "origin", "left", origin.get("left"), today=today)
    contact = payload.get("contact") or {}
    country = str(contact.get("country") or "")
    if country and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        problems.append(("contact", "country", "a two-letter country code"))
    for name in ("city", "phone", "email"):
        _text(problems, "contact", name, contact.get(name))
    for key, intention in (payload.get("intentions") or {}).items():
        where = f"intention {key}"
        decision = intention.get("decision", "")
        if decision not in ("", *[d for d in ReturnIntention.Decision.values if d != "withdrawn"]):
            problems.append((where, "decision", "unknown decision"))
        if decision == ReturnIntention.Decision.INTENDS and not (
            intention.get("horizon") and intention.get("together")
        ):
            problems.append((where, "horizon", "say when and with whom"))
        if intention.get("together") == ReturnIntention.Together.ELSEWHERE and decision:
            destination = str(intention.get("destination") or "")
            if not destination:
                problems.append((where, "destination", "going elsewhere names the settlement"))
            elif destination == str(origin.get("settlement") or ""):
                problems.append((where, "destination", "this is the home settlement"))
            elif not Settlement.objects.filter(gid=destination).exists():
                problems.append((where, "destination", "not a settlement of the gazetteer"))
        _text(problems, where, "conditions_note", intention.get("conditions_note"))
    return problems


# --- receiving -------------------------------------------------------------------------------------------


def submission_receive(
    *, payload: dict[str, Any], draft: str, language: str, sender: str = "", campaign_code: str = ""
) -> Receipt:
    """Store the registrant's answers, whole and encrypted, before anything else is done with them."""
    problems = check_payload(payload)
    if problems:
        where, name, reason = problems[0]
        raise ValidationError(f"{where}: {name}: {reason}", problems)
    sheet_version = require_published(str(payload.get("sheet") or ""))
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    draft = str(draft or "")[:64]
    if len(draft) < 16:
        raise field_problem("draft", "", "a submission carries its draft's token")
    stored_draft = draft_digest(draft)
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    existing = Submission.objects.filter(draft=stored_draft).first()
    if existing is not None:
        return _again(existing, draft, body)
    campaign = Campaign.objects.filter(code=str(campaign_code or "")[:64]).first() if campaign_code else None
    passphrase = passphrase_of(draft)
    family = payload.get("family") or []
    for _attempt in range(5):
        reference = "HW-" + _group(REFERENCE_ALPHABET, 2)
        try:
            with transaction.atomic():
                submission = Submission.objects.create(
                    reference=reference, draft=stored_draft, secret=_secret(passphrase), payload=body,
                    language=language,
                    sheet_version=sheet_version, campaign=campaign, sender=sender[:64], members=1 + len(family),
                    received_at=timezone.now(),
                )  # fmt: skip
                record_soon()
                audit_record(
                    actor=PORTAL, action="portal.submission.received", target=submission,
                    data={"reference": reference, "members": submission.members, "language": language,
                          "campaign": campaign.code if campaign else ""},
                )  # fmt: skip
            return Receipt(reference=reference, passphrase=passphrase, submission=submission)
        except IntegrityError:
            existing = Submission.objects.filter(draft=stored_draft).first()
            if existing is not None:  # the same page sent twice at the same moment
                return _again(existing, draft, body)
    raise ValidationError("no free reference number could be drawn; try again")  # 31^8 numbers: never in practice


def _again(existing: Submission, draft: str, body: str) -> Receipt:
    """The same draft sent again: the first submission when the answers are the same (a double tap); other
    answers under a draft already sent are refused, for they would be lost silently."""
    if existing.payload != body:
        reason = "already sent: sign in with its reference to change answers"
        raise ValidationError(f"{existing.reference}: {reason}", [("check", "draft", reason)])
    return Receipt(reference=existing.reference, passphrase=passphrase_of(draft), submission=existing, again=True)


def sender_over_limit(sender: str, *, now: dt.datetime | None = None) -> bool:
    """Whether this sender, or everybody together, sent more than the limits allow just now."""
    now = now or timezone.now()
    # Each count stops at its limit: the work stays the same however many registrations arrive.
    everyone, per_sender = settings.PORTAL_ALL_PER_MINUTE, settings.PORTAL_SENDER_PER_HOUR
    recent = Submission.objects.order_by().values("id")
    if recent.filter(received_at__gte=now - dt.timedelta(minutes=1))[:everyone].count() >= everyone:
        return True
    if not sender:
        return False
    return recent.filter(sender=sender, received_at__gte=now - dt.timedelta(hours=1))[:per_sender].count() >= per_sender


# --- recording -------------------------------------------------------------------------------------------


def payload_of(submission: Submission) -> dict[str, Any]:
    return dict(json.loads(submission.payload))


def members_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The registrant (member 0, relation "self") and the family members, in order."""
    return [{**(payload.get("you") or {}), "relation": "self"}, *(payload.get("family") or [])]


def _rows(reference: str, payload: dict[str, Any]) -> list[dict[str, str]]:
    members = members_of(payload)
    ids = {number: f"{reference}-{number}" for number in range(len(members))}
    first: dict[str, int] = {}
    for number, member in enumerate(members):
        first.setdefault(member["relation"], number)
    me = members[0]

    def ref(relation: str) -> str:
        return ids[first[relation]] if relation in first else ""

    origin = payload.get("origin") or {}
    contact = payload.get("contact") or {}
    rows = []
    for number, member in enumerate(members):
        relation = member["relation"]
        row = dict.fromkeys(("record_id", "source", *CONTENT_FIELDS), "")
        row.update({name: str(member.get(name) or "") for name in PERSON_FIELDS})
        row["record_id"] = ids[number]
        row["origin_settlement"] = str(origin.get("settlement") or "")
        if member.get("displaced") or (relation == "self" and origin.get("self_displaced")):
            row["displacement_date"] = str(origin.get("left") or "")
            row["displacement_event"] = str(origin.get("event") or "")
        if member.get("deceased"):
            row["death_date"] = str(member.get("death_date") or "")
        if relation == "self":
            row.update(household_id=reference, relation_to_head="head", father_record_id=ref("father"),
                       mother_record_id=ref("mother"), spouse_record_id=ref("spouse"),
                       current_country=str(contact.get("country") or ""), current_city=str(contact.get("city") or ""),
                       phone=str(contact.get("phone") or ""), email=str(contact.get("email") or ""))  # fmt: skip
        elif relation == "spouse":
            row.update(household_id=reference, relation_to_head="spouse", spouse_record_id=ids[0],
                       current_country=str(contact.get("country") or ""))  # fmt: skip
        elif relation == "child":
            spouse_sex = members[first["spouse"]].get("sex") if "spouse" in first else ""
            mother_is_me = me.get("sex") == "F" or (not me.get("sex") and spouse_sex == "M")
            row.update(household_id=reference, relation_to_head="child",
                       father_record_id=ref("spouse") if mother_is_me else ids[0],
                       mother_record_id=ids[0] if mother_is_me else ref("spouse"))  # fmt: skip
        elif relation in ("father", "mother"):
            row.update(father_record_id=ref(f"{relation}_father"), mother_record_id=ref(f"{relation}_mother"))
            if relation == "father":
                row["spouse_record_id"] = ref("mother")
        rows.append(row)
    return rows


def _adult(member: dict[str, Any], today: dt.date) -> bool:
    year = _year(str(member.get("birth_date") or ""))
    return not member.get("deceased") and (year is None or today.year - year >= ADULT_AGE)


def submission_record(*, submission_id: int) -> Submission:
    """Make the registry's records from one stored submission; running it again changes nothing."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None:
        raise NotFoundError(f"submission {submission_id} not found")
    _recorded, failed = _record_group([submission])
    if failed:
        submission.refresh_from_db()
        raise ValidationError(f"{submission.reference}: {submission.error}")
    return Submission.objects.get(pk=submission_id)


def submissions_record_waiting(*, actor: Any = None, limit: int = GROUP, progress: Any = None) -> tuple[int, int]:
    """Record the stored submissions that wait, a group at a time: every row of a group goes through one import,
    then each submission's consents and intentions in a transaction of its own; (recorded, failed)."""
    recorded = failed = 0
    tried: set[int] = set()
    while True:
        group = list(
            Submission.objects.filter(state=Submission.State.RECEIVED).exclude(pk__in=tried).order_by("id")[:limit]
        )
        if not group:
            break
        tried.update(s.pk for s in group)
        done, bad = _record_group(group)
        recorded, failed = recorded + done, failed + bad
        if progress is not None:
            progress.advance(len(group), f"{recorded:,} recorded")
    if actor is not None and (recorded or failed):
        with transaction.atomic():
            audit_record(
                actor=actor, action="portal.submissions.recorded", data={"recorded": recorded, "failed": failed}
            )
    return recorded, failed


def _record_group(group: list[Submission]) -> tuple[int, int]:
    waiting = [s for s in group if s.state == Submission.State.RECEIVED]
    if not waiting:
        return 0, 0
    payloads = {s.pk: payload_of(s) for s in waiting}
    rows = [row for s in waiting for row in _rows(s.reference, payloads[s.pk])]
    try:
        _ensure_source()
        with tempfile.TemporaryDirectory(prefix="homeward-portal-") as folder:
            name = waiting[0].reference if len(waiting) == 1 else f"{waiting[0].reference}+{len(waiting) - 1}"
            path = Path(folder) / f"{name}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            outcome = registry_import(actor=PORTAL, source_code=SOURCE_CODE, path=path, filename=path.name)
    except Exception as exc:
        log.exception("portal submissions %s could not be imported", [s.reference for s in waiting])
        Submission.objects.filter(pk__in=[s.pk for s in waiting], state=Submission.State.RECEIVED).update(
            error=str(exc)[:2000]
        )
        return 0, len(waiting)
    recorded: list[int] = []
    failed = 0
    try:
        recorded = _finish_group(waiting, payloads, outcome.batch_id)
    except Exception:
        # One submission the group could not take: each on its own, so that the others are recorded.
        log.exception("portal submissions %s recorded one by one", [s.reference for s in waiting])
        for submission in waiting:
            try:
                recorded += _finish_group([submission], payloads, outcome.batch_id)
            except Exception as exc:
                log.exception("portal submission %s could not be recorded", submission.reference)
                Submission.objects.filter(pk=submission.pk, state=Submission.State.RECEIVED).update(
                    error=str(exc)[:2000]
                )
                failed += 1
    if recorded:
        with transaction.atomic():
            job_enqueue(kind="portal.match", params={"submissions": recorded}, created_by_id=None)
    return len(recorded), failed


def _finish_group(waiting: list[Submission], payloads: dict[int, dict[str, Any]], batch_id: int) -> list[int]:
    """The registrants' consents and each adult's intention, once the records are in, for a whole group in one
    transaction: the consents, intentions, family eligibility and audit events of every submission written
    together; submissions recorded before are skipped. Raises if any submission cannot be finished (the caller
    then finishes them one group of one at a time); the submissions recorded."""
    today = timezone.localdate()
    with transaction.atomic():
        locked = list(
            Submission.objects.select_for_update()
            .filter(pk__in=[s.pk for s in waiting], state=Submission.State.RECEIVED)
            .order_by("id")
        )
        if not locked:
            return []
        persons_of = _persons_of_many({s.reference: s.members for s in locked})
        consents: list[dict[str, Any]] = []
        wanted: list[tuple[Submission, int, dict[str, Any]]] = []
        for submission in locked:
            payload, persons = payloads[submission.pk], persons_of.get(submission.reference, {})
            if persons.get(0) is None:
                raise ValidationError(f"{submission.reference}: the registrant's record was held by the import")
            for purpose in payload.get("consents") or []:
                partner = settings.PORTAL_PARTNER if purpose == Consent.Purpose.SHARING else ""
                consents.append({"person_id": persons[0], "purpose": purpose, "sheet_version": submission.sheet_version,
                                 "partner": partner})  # fmt: skip
            members = members_of(payload)
            for key, given in sorted((payload.get("intentions") or {}).items()):
                number = int(key)
                if given.get("decision") and persons.get(number) and _adult(members[number], today):
                    wanted.append((submission, number, given))
        consents_record_many(actor=PORTAL, channel=Consent.Channel.PORTAL, items=consents)
        named = {str(g.get("destination")) for _s, _n, g in wanted if g.get("destination")}
        destinations = dict(Settlement.objects.filter(gid__in=named).values_list("gid", "pk"))
        items = [
            {"person_id": persons_of[s.reference][n], "decision": g["decision"], "sheet_version": s.sheet_version,
             "horizon": g.get("horizon", ""), "together": g.get("together", ""),
             "destination_id": destinations.get(str(g.get("destination") or "")),
             "conditions": g.get("conditions") or [], "conditions_note": g.get("conditions_note", ""),
             "needs": g.get("needs") or []}
            for s, n, g in wanted
        ]  # fmt: skip
        made = intentions_record_own_many(actor=PORTAL, items=items)
        refused: dict[int, list[int]] = {}
        links = []
        for (submission, number, _given), outcome in zip(wanted, made, strict=True):
            if isinstance(outcome, str):
                refused.setdefault(submission.pk, []).append(number)
            else:
                links.append(SubmissionIntention(submission=submission, member=number, intention=outcome))
        SubmissionIntention.objects.bulk_create(links)
        for submission in locked:
            origin = payloads[submission.pk].get("origin") or {}
            if not origin.get("settlement") and origin.get("text"):
                # "Not listed": the family's own words, on its records, for staff to find in the gazetteer.
                SourceRecord.objects.filter(
                    source__code=SOURCE_CODE,
                    external_id__in=[f"{submission.reference}-{n}" for n in range(submission.members)],
                ).update(origin_text=str(origin["text"])[:MAX_TEXT])
        Submission.objects.filter(pk__in=[s.pk for s in locked]).update(
            state=Submission.State.RECORDED, recorded_at=timezone.now(), error="", batch_id=batch_id
        )
        everyone = sorted({p for persons in persons_of.values() for p in persons.values()})
        eligibility_update(actor=PORTAL, person_ids=everyone)
        events = [
            {"action": "portal.intention.refused", "target": s, "data": {"member": n, "reason": str(o)[:500]}}
            for (s, n, _g), o in zip(wanted, made, strict=True) if isinstance(o, str)
        ]  # fmt: skip
        events += [
            {"action": "portal.submission.recorded", "target": s,
             "data": {"reference": s.reference, "persons": len(persons_of[s.reference]),
                      "intentions_refused": refused.get(s.pk, [])}}
            for s in locked
        ]  # fmt: skip
        audit_record_many(actor=PORTAL, events=events)
    return [s.pk for s in locked]


def submissions_record_start(*, actor: Any) -> Job:
    """Queue the recording of the waiting submissions as a background job (staff's button); returns the Job."""
    who = actor_of(actor)
    with transaction.atomic():
        job = job_enqueue(kind="portal.record", params={}, created_by_id=who.user_id)
        audit_record(actor=who, action="portal.record.queued", target=job)
    return job


def record_soon() -> None:
    """Queue the recording job, in the caller's transaction, unless one is already waiting to start."""
    if not Job.objects.filter(kind="portal.record", state=Job.State.QUEUED).exists():
        job_enqueue(kind="portal.record", params={}, created_by_id=None)


def _ensure_source() -> None:
    if not Source.objects.filter(code=SOURCE_CODE).exists():
        with transaction.atomic():
            source, made = Source.objects.get_or_create(
                code=SOURCE_CODE, defaults={"name": "Self-registration portal", "kind": Source.Kind.PORTAL, "trust": 2}
            )
            if made:
                audit_record(actor=PORTAL, action="registry.source.created", target=source, data={"code": SOURCE_CODE})


def _persons_of(reference: str, count: int) -> dict[int, int]:
    """Member number -> the person each member's record belongs to now (after any merge)."""
    return _persons_of_many({reference: count}).get(reference, {})


def _persons_of_many(counts: dict[str, int]) -> dict[str, dict[int, int]]:
    """For each reference (with its number of members): member number -> the person of the member's record."""
    ids = {f"{reference}-{n}": (reference, n) for reference, count in counts.items() for n in range(count)}
    found = SourceRecord.objects.filter(
        source__code=SOURCE_CODE, external_id__in=list(ids), superseded=False, person__isnull=False
    ).values_list("external_id", "person_id")
    out: dict[str, dict[int, int]] = {}
    for external, person in found:
        reference, number = ids[external]
        out.setdefault(reference, {})[number] = person
    return out


def _destination(given: dict[str, Any]) -> int | None:
    gid = str(given.get("destination") or "")
    return Settlement.objects.filter(gid=gid).values_list("pk", flat=True).first() if gid else None


def _intention(submission: Submission, member: int, person_id: int, given: dict[str, Any]) -> ReturnIntention:
    intention = intention_record_own(
        actor=PORTAL, person_id=person_id, decision=given["decision"], sheet_version=submission.sheet_version,
        horizon=given.get("horizon", ""), together=given.get("together", ""), destination_id=_destination(given),
        conditions=given.get("conditions") or [], conditions_note=given.get("conditions_note", ""),
        needs=given.get("needs") or [],
    )  # fmt: skip
    SubmissionIntention.objects.create(submission=submission, member=member, intention=intention)
    return intention


# --- the registrant's way back ---------------------------------------------------------------------------


def submission_sign_in(*, reference: str, passphrase: str) -> Submission:
    """The submission for this reference and passphrase; the same NotFoundError for a wrong one of either.
    Five wrong passphrases lock the reference for a quarter of an hour."""
    reference = normal_reference(reference)
    now = timezone.now()
    refused = NotFoundError("no registration with this reference and passphrase")
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(reference=reference).first() if reference else None
        if submission is None:
            _secret(passphrase)  # the same work whether the reference exists or not
            raise refused
        if submission.locked_until and submission.locked_until > now:
            raise refused
        right = secrets.compare_digest(submission.secret, _secret(passphrase))
        if right:
            Submission.objects.filter(pk=submission.pk).update(failed_logins=0, locked_until=None)
            audit_record(actor=PORTAL, action="portal.sign_in", target=submission)
        else:
            # Counted and audited in this transaction, which must commit: the refusal is raised after it.
            failed = submission.failed_logins + 1
            locked = now + dt.timedelta(minutes=LOCK_MINUTES) if failed >= LOCK_AFTER else None
            Submission.objects.filter(pk=submission.pk).update(
                failed_logins=0 if locked else failed, locked_until=locked
            )
            audit_record(actor=PORTAL, action="portal.sign_in.failed", target=submission,
                         data={"locked": locked is not None})  # fmt: skip
    if not right:
        raise refused
    return submission


def _member_person(submission: Submission, member: int) -> int:
    if submission.state != Submission.State.RECORDED:
        raise field_problem("registration", submission.reference, STILL_RECORDING)
    person = _persons_of(submission.reference, submission.members).get(member)
    if person is None:
        raise NotFoundError("no such family member in this registration")
    return person


def _not_taken(submission: Submission, member: int, reason: str) -> ValidationError:
    """The one answer a registrant gets when the registry will not take a change, whatever the reason (which
    could tell them about other records); the reason is left for staff in the audit trail."""
    with transaction.atomic():
        audit_record(actor=PORTAL, action="portal.intention.refused", target=submission,
                     data={"member": member, "reason": reason[:500]})  # fmt: skip
    return ValidationError(NOT_TAKEN, [("intention", "", NOT_TAKEN)])


def _superseded(submission: Submission, member: int, person: int) -> bool:
    """Whether a relative's own answer, given elsewhere (an interview, a call), came after the one the
    registrant gave for them here: then it stands, whatever the registrant does with theirs."""
    if member == 0:
        return False  # the registrant's own word: the newest act wins, whichever channel it came through
    latest = ReturnIntention.objects.filter(person_id=person).order_by("-version").values_list("pk", flat=True).first()
    return (
        latest is not None
        and not SubmissionIntention.objects.filter(submission=submission, intention_id=latest).exists()
    )


def portal_intention_change(*, submission_id: int, member: int, given: dict[str, Any]) -> ReturnIntention:
    """A new version of one adult's intention, given by the registrant after signing in again.

    It is checked against the registration's own answers only. What the registry holds about the person may
    differ (records of other sources were merged into it, the person was erased, a relative answered for
    themselves elsewhere since): a refusal that comes from there gets the same message whatever its reason,
    and is left for staff in the audit trail, so that the registrant learns nothing about other records."""
    submission = Submission.objects.get(pk=submission_id)
    payload = payload_of(submission)
    members = members_of(payload)
    if not 0 <= member < len(members) or not _adult(members[member], timezone.localdate()):
        raise NotFoundError("no such adult in this registration")
    problems = check_payload({**payload, "intentions": {str(member): given}})
    problems = [p for p in problems if p[0].startswith("intention")]
    if problems:
        raise ValidationError(f"{problems[0][1]}: {problems[0][2]}", problems)
    if submission.state != Submission.State.RECORDED:
        raise field_problem("registration", submission.reference, STILL_RECORDING)
    try:
        with transaction.atomic():
            Submission.objects.select_for_update().get(pk=submission.pk)
            person = _member_person(submission, member)
            if _superseded(submission, member, person):
                raise ValidationError("the relative's own answer, given elsewhere, came after this one")
            return _intention(submission, member, person, given)
    except HomewardError as exc:
        raise _not_taken(submission, member, str(exc)) from None


def own_answer(submission: Submission, member: int) -> SubmissionIntention | None:
    """The newest intention version given under this registration for this member, with its link (never one
    given elsewhere for the same person)."""
    return (
        SubmissionIntention.objects.filter(submission=submission, member=member)
        .select_related("intention")
        .order_by("-intention__recorded_at", "-id")
        .first()
    )


def portal_intention_withdraw(*, submission_id: int, member: int) -> ReturnIntention:
    """Withdraw one adult's intention: one step, no reason asked; withdrawing again changes nothing. Only an
    answer given under this registration can be withdrawn from it. When a relative's own answer given elsewhere
    came after it, that answer stands and the registrant's is withdrawn here only; the registrant sees the same
    either way."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)  # a double tap: one withdrawal
        person = _member_person(submission, member)
        own = own_answer(submission, member)
        if own is None:
            raise NotFoundError("no answer of this registration to withdraw")
        if own.withdrawn_at is not None or own.intention.decision == ReturnIntention.Decision.WITHDRAWN:
            return own.intention
        if _superseded(submission, member, person):
            SubmissionIntention.objects.filter(pk=own.pk).update(withdrawn_at=timezone.now())
            audit_record(actor=PORTAL, action="portal.intention.withdrawn_here", target=submission,
                         data={"member": member, "intention": own.intention_id})  # fmt: skip
            return own.intention
        intention = intention_withdraw_own(actor=PORTAL, person_id=person)
        SubmissionIntention.objects.create(submission=submission, member=member, intention=intention)
    return intention


def portal_consent_withdraw(*, submission_id: int, purpose: str) -> int:
    """Withdraw the registrant's consent for one purpose (every one the person gave through the portal for
    it); the number of consents withdrawn."""
    if purpose not in Consent.Purpose.values:
        raise field_problem("purpose", purpose, "unknown purpose")
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        person = _member_person(submission, 0)
        withdrawn = 0
        for consent in Consent.objects.filter(person_id=person, purpose=purpose, channel=Consent.Channel.PORTAL,
                                              withdrawn_at__isnull=True):  # fmt: skip
            consent_withdraw(actor=PORTAL, consent_id=consent.pk)
            withdrawn += 1
        if purpose not in submission.consents_withdrawn:
            submission.consents_withdrawn = [*submission.consents_withdrawn, purpose]
            submission.save(update_fields=["consents_withdrawn"])
        audit_record(actor=PORTAL, action="portal.consent.withdrawn", target=submission,
                     data={"purpose": purpose, "consents": withdrawn})  # fmt: skip
    return withdrawn


# --- campaigns and staff ---------------------------------------------------------------------------------


def campaign_create(*, actor: Any, code: str, name: str, description: str = "") -> Campaign:
    code, name = str(code or "").strip().lower(), str(name or "").strip()
    if not code or len(code) > 64 or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in code):
        raise field_problem("code", code, "letters, digits, '-' or '_', at most 64")
    if not name or len(name) > 200:
        raise field_problem("name", name, "a name of at most 200 characters")
    who = actor_of(actor)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(code=code, name=name, description=str(description or "")[:2000],
                                               created_by_id=who.user_id)  # fmt: skip
            audit_record(actor=who, action="portal.campaign.created", target=campaign, data={"code": code})
    except IntegrityError as exc:
        raise field_problem("code", code, "already used by another campaign") from exc
    return campaign
