"""A portal registration is matched in real time against the linked registry with the last run's model: the
possible persons go to the review queue for staff to confirm, nothing is merged, and the registrant's own
pages show nothing of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from homeward.core.models import Job
from homeward.core.progress import NullProgress
from homeward.linkage.models import MatchCandidate
from homeward.portal.jobs import match_job
from homeward.portal.services import submission_receive, submission_record, submission_sign_in
from homeward.registry.models import Person, SourceRecord

pytestmark = pytest.mark.usefixtures("linked_registry", "db", "sheets")


def _registration(record: SourceRecord, draft: str) -> dict[str, Any]:
    return {
        "sheet": "2026-1", "consents": ["registration"],
        "you": {"given_name": record.given_name, "surname": record.surname, "patronymic": record.patronymic,
                "sex": record.sex, "birth_date": str(record.birth_date), "birth_place": ""},
        "origin": {"settlement": record.origin_settlement.gid}, "family": [], "contact": {},
        "intentions": {"0": {"decision": "undecided"}},
    }  # fmt: skip


def test_a_registration_is_matched_and_waits_for_staff_never_merged() -> None:
    record = (
        SourceRecord.objects.filter(origin_settlement__isnull=False, birth_date__isnull=False, superseded=False)
        .exclude(given_name="").exclude(surname="").exclude(sex="").order_by("id").first()
    )  # fmt: skip
    persons_before = Person.objects.filter(merged_into__isnull=True).count()
    receipt = submission_receive(payload=_registration(record, "m1"), draft="matching-test-draft-1", language="az")
    submission_record(submission_id=receipt.submission.pk)
    job = Job.objects.get(kind="portal.match")
    # The job's handler, as the worker calls it (the worker itself reopens connections, which a test in a
    # transaction cannot).
    outcome = match_job(job, NullProgress())
    assert outcome["records"] == 1
    assert outcome["queued"] >= 1
    mine = SourceRecord.objects.get(external_id=f"{receipt.reference}-0")
    waiting = MatchCandidate.objects.filter(state="pending").filter(record_a=mine) | MatchCandidate.objects.filter(
        state="pending", record_b=mine
    )
    others = {c.record_b_id if c.record_a_id == mine.pk else c.record_a_id for c in waiting}
    assert record.pk in others
    assert all(c.probability >= 0.5 and c.evidence for c in waiting)
    # Nothing merged: the registrant's record is its own person until staff confirm.
    assert Person.objects.filter(merged_into__isnull=True).count() == persons_before + 1
    assert mine.person_id != record.person_id
    # The registrant's own page tells nothing of the match.
    client = Client()
    signed = submission_sign_in(reference=receipt.reference, passphrase=receipt.passphrase)
    session = client.session
    session["portal_submission"] = signed.pk
    session.save()
    page = client.get("/portal/mine/").content.decode()
    assert record.given_name in page
    for word in ("match", "already in the registry", "same person", "review"):
        assert word not in page.lower()


def test_records_of_restricted_or_erased_persons_are_never_proposed() -> None:
    record = (
        SourceRecord.objects.filter(origin_settlement__isnull=False, birth_date__isnull=False, superseded=False)
        .exclude(given_name="").exclude(surname="").exclude(sex="").order_by("id").first()
    )  # fmt: skip
    from homeward.linkage import services as linkage
    from homeward.linkage.models import LinkageRun

    linkage._matcher.clear()
    linkage._realtime_matcher(LinkageRun.objects.filter(state="done").exclude(model="").latest("id"))
    # The person asked for processing to be restricted after the matching index was built.
    Person.objects.filter(pk=record.person_id).update(restricted=True)
    receipt = submission_receive(payload=_registration(record, "m2"), draft="matching-test-draft-2", language="az")
    submission_record(submission_id=receipt.submission.pk)
    match_job(Job.objects.get(kind="portal.match"), NullProgress())
    mine = SourceRecord.objects.get(external_id=f"{receipt.reference}-0")
    proposed = MatchCandidate.objects.filter(record_a=mine) | MatchCandidate.objects.filter(record_b=mine)
    # Without the restriction this record is proposed (the test above): now it is left out.
    assert record.pk not in {c.record_a_id for c in proposed} | {c.record_b_id for c in proposed}


def test_the_same_person_registered_twice_a_minute_apart_is_proposed_for_the_second() -> None:
    from homeward.linkage import services as linkage
    from homeward.linkage.models import LinkageRun

    linkage._matcher.clear()
    # The worker's index, built before either registration came in.
    linkage._realtime_matcher(LinkageRun.objects.filter(state="done").exclude(model="").latest("id"))
    record = SourceRecord.objects.filter(origin_settlement__isnull=False, superseded=False).order_by("id").first()
    payload = _registration(record, "m3")
    # Somebody not in the registry at all: only the first registration can match the second.
    payload["you"] = {"given_name": "Zərifə", "surname": "Qədirbəyli", "patronymic": "Nəsir qızı", "sex": "F",
                      "birth_date": "1961-04-23", "birth_place": "Şuşa"}  # fmt: skip
    first = submission_receive(payload=payload, draft="matching-test-draft-3", language="az")
    submission_record(submission_id=first.submission.pk)
    match_job(Job.objects.get(kind="portal.match"), NullProgress())
    second = submission_receive(payload=payload, draft="matching-test-draft-4", language="ru")
    submission_record(submission_id=second.submission.pk)
    match_job(Job.objects.filter(kind="portal.match").latest("id"), NullProgress())
    a = SourceRecord.objects.get(external_id=f"{first.reference}-0")
    b = SourceRecord.objects.get(external_id=f"{second.reference}-0")
    pair = MatchCandidate.objects.get(record_a_id=min(a.pk, b.pk), record_b_id=max(a.pk, b.pk))
    assert pair.state == "pending"
    assert pair.probability > 0.9
