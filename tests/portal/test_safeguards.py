"""What keeps a registrant's data private and their answers whole: their pages act only on what they gave, a
lockout holds, nothing is cached, the stored table gives nothing back, and the flow's edge cases finish."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from homeward.audit.models import AuditEvent
from homeward.core.crypto import decrypt_value
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.models import Settlement
from homeward.portal.models import Submission, SubmissionIntention
from homeward.portal.services import LOCK_AFTER, draft_digest, submission_sign_in
from homeward.registry.models import Consent, Person, ReturnIntention, SourceRecord
from homeward.registry.services.intentions import intention_record
from homeward.registry.services.sheets import information_sheet_publish
from tests.conftest import SETUP
from tests.portal.test_flow import _post, begin, walk, work

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sheets")]


def _sent(client: Client) -> tuple[str, str]:
    _post(client, "/portal/check/", {}, to="/portal/done/")
    page = client.get("/portal/done/").content.decode()
    reference = re.search(r'id="reference">([^<]+)<', page).group(1)
    return reference, re.search(r'id="passphrase">([^<]+)<', page).group(1)


def _signed_in(reference: str, passphrase: str) -> Client:
    back = Client()
    _post(back, "/portal/return/", {"reference": reference, "passphrase": passphrase}, to="/portal/mine/")
    return back


def _recorded() -> tuple[str, str, Person]:
    """A registration walked, sent and recorded: its reference, passphrase and the registrant's person."""
    reference, passphrase = _sent(walk(Client(), family=False))
    work()
    return reference, passphrase, SourceRecord.objects.get(external_id=f"{reference}-0").person


def test_the_registrant_acts_only_on_answers_given_under_their_registration(
    portal_home: Settlement, make_staff: Any
) -> None:
    reference, passphrase, me = _recorded()
    back = _signed_in(reference, passphrase)
    _post(back, "/portal/mine/intention/0/withdraw/", {}, to="/portal/mine/")
    # Later an officer records, in an interview, an answer of the same person (or of a record merged into it).
    officer = make_staff("registrar")
    intention_record(actor=officer, person_id=me.pk, decision="intends", sheet_version="2026-1", channel="interview",
                     horizon="someday", together="own")  # fmt: skip
    before = ReturnIntention.objects.filter(person=me).count()
    # The registrant's own answer is withdrawn already: withdrawing it again (a replayed form) changes nothing,
    # and in particular not the answer the person gave in the interview.
    response = back.post("/portal/mine/intention/0/withdraw/", {}, follow=True)
    assert "The answer was withdrawn" in response.content.decode()
    assert ReturnIntention.objects.filter(person=me).count() == before
    assert ReturnIntention.objects.filter(person=me).latest("version").decision == "intends"
    page = back.get("/portal/mine/").content.decode()
    assert "interview" not in page
    assert "one day" not in page  # the officer's horizon is not shown to the registrant

    # A refusal that comes from the registry (here the person's birth date, corrected from another source) gets
    # the same plain message whatever its reason, and is left for staff in the audit trail.
    Person.objects.filter(pk=me.pk).update(birth_date=PartialDate.parse("2015"))
    refused = back.post("/portal/mine/intention/0/", {"decision": "undecided"})
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "could not be saved" in text
    assert "child" not in text
    assert "2015" not in text
    assert AuditEvent.objects.filter(action="portal.intention.refused").count() == 1
    assert ReturnIntention.objects.filter(person=me).count() == before


def test_a_withdrawal_already_given_elsewhere_still_withdraws_the_registrants_own_answer(
    portal_home: Settlement, make_staff: Any
) -> None:
    reference, passphrase, me = _recorded()
    from homeward.registry.services.intentions import intention_withdraw

    intention_withdraw(actor=make_staff("registrar"), person_id=me.pk, channel="phone")
    back = _signed_in(reference, passphrase)
    response = back.post("/portal/mine/intention/0/withdraw/", {}, follow=True)
    assert "The answer was withdrawn" in response.content.decode()  # no sign of the phone call
    submission = Submission.objects.get(reference=reference)
    assert SubmissionIntention.objects.filter(submission=submission).latest("id").intention.decision == "withdrawn"


def test_five_wrong_passphrases_lock_the_reference_and_each_try_is_audited(portal_home: Settlement) -> None:
    reference, passphrase = _sent(walk(Client(), family=False))
    client = Client()
    for _ in range(LOCK_AFTER):
        wrong = client.post("/portal/return/", {"reference": reference, "passphrase": "AAAA-AAAA-AAAA-AAAA"})
        assert "do not match" in wrong.content.decode()
    submission = Submission.objects.get(reference=reference)
    assert submission.locked_until is not None
    assert AuditEvent.objects.filter(action="portal.sign_in.failed").count() == LOCK_AFTER
    # Locked: even the right passphrase gets the same answer for a quarter of an hour.
    right = client.post("/portal/return/", {"reference": reference, "passphrase": passphrase})
    assert right.status_code == 200
    assert "do not match" in right.content.decode()
    Submission.objects.filter(pk=submission.pk).update(locked_until=None)
    assert submission_sign_in(reference=reference, passphrase=passphrase).pk == submission.pk


def test_pages_with_answers_are_never_cached_and_the_table_gives_back_no_draft(portal_home: Settlement) -> None:
    client = walk(Client(), family=False)
    for path in ("/portal/check/", "/portal/you/", "/portal/return/"):
        assert "no-store" in client.get(path)["Cache-Control"], path
    token = json.loads(
        zlib.decompress(
            base64.b64decode(decrypt_value(client.cookies["homeward_portal"].value, context="portal.draft"))
        )
    )["id"]
    reference, passphrase = _sent(client)
    assert "no-store" in _signed_in(reference, passphrase).get("/portal/mine/")["Cache-Control"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT draft, secret FROM portal_submission")
        draft, secret = cursor.fetchone()
    # What is stored of the draft's token is a keyed hash: the passphrase cannot be drawn from the table.
    assert draft == draft_digest(token) != token
    assert secret != draft


def test_the_sender_is_the_connection_not_a_header_the_client_writes(portal_home: Settlement, settings: Any) -> None:
    settings.PORTAL_SENDER_PER_HOUR = 1
    walk(Client(HTTP_X_FORWARDED_FOR="10.0.0.1"), family=False).post("/portal/check/", {})
    # Another forwarded address from the same connection is the same sender: over the limit.
    again = walk(Client(HTTP_X_FORWARDED_FOR="10.0.0.2"), family=False).post("/portal/check/", {})
    assert again.status_code == 429
    assert Submission.objects.count() == 1


def test_the_settlement_search_is_posted_so_the_home_village_stays_out_of_addresses(portal_home: Settlement) -> None:
    client = begin(Client())
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova"}, to="/portal/origin/")
    assert "hw:test:qarabulaq" not in client.get("/portal/origin/", {"q": "Карабулак"}).content.decode()
    found = client.post("/portal/origin/", {"q": "Карабулак", "search": "1"}).content.decode()
    assert "hw:test:qarabulaq" in found
    assert 'method="get"' not in found


def test_going_elsewhere_to_the_home_settlement_is_refused_next_to_the_field(portal_home: Settlement) -> None:
    client = walk(Client(), family=False)
    page = client.post("/portal/intention/0/", {"decision": "intends", "horizon": "someday", "together": "elsewhere",
                                               "destination": "Qarabulaq"})  # fmt: skip
    assert page.status_code == 200
    assert "This is the home settlement" in page.content.decode()


def test_changed_answers_under_a_draft_already_sent_are_not_lost_silently(portal_home: Settlement) -> None:
    client = walk(Client(), family=False)
    stale = client.cookies["homeward_portal"].value
    _sent(client)
    # The old draft replayed (a second tab) with another answer: refused, and told where to change answers.
    replay = Client()
    replay.cookies["homeward_portal"] = stale
    _post(replay, "/portal/contact/", {"country": "FR", "city": "Lyon"}, to="/portal/check/")
    response = replay.post("/portal/check/", {}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/return/", response.content.decode()[-3000:]
    assert "sent already" in response.content.decode()
    assert Submission.objects.count() == 1


def test_family_edits_keep_the_others_answers_and_carry_deaths_and_parents(portal_home: Settlement) -> None:
    client = begin(Client())
    # The registrant's sex is not given: the children's parents follow from the husband's.
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"})
    members = [
        {"relation": "father", "given_name": "Əli", "birth_date": "1940", "deceased": "on", "death_date": "1999"},
        {"relation": "spouse", "given_name": "Rauf", "sex": "M", "birth_date": "1970"},
        {"relation": "child", "given_name": "Nərgiz", "birth_date": "1996"},
        {"relation": "mother", "given_name": "Səbinə", "birth_date": "1945", "deceased": "on", "death_date": "1930"},
    ]
    for member in members[:3]:
        _post(client, "/portal/family/add/", member, to="/portal/family/")
    refused = client.post("/portal/family/add/", members[3])
    assert "cannot die before they were born" in refused.content.decode()
    _post(client, "/portal/family/", {"continue": "1"})
    _post(client, "/portal/contact/", {"country": "DE"})
    _post(client, "/portal/intention/0/", {"decision": "undecided"}, to="/portal/intention/2/")
    _post(client, "/portal/intention/2/", {"decision": "does_not_intend"}, to="/portal/intention/3/")
    _post(client, "/portal/intention/3/", {"decision": "undecided"}, to="/portal/check/")
    # Removing the father from the check page keeps the others' answers, and the check page is next.
    assert client.get("/portal/check/").status_code == 200
    family = client.get("/portal/family/").content.decode()
    keys = re.findall(r'name="remove" value="([^"]+)"', family)
    assert len(keys) == 3
    assert "0" not in keys
    _post(client, "/portal/family/", {"remove": keys[0]}, to="/portal/family/")
    _post(client, "/portal/family/", {"continue": "1"}, to="/portal/check/")
    check = client.get("/portal/check/")
    assert check.status_code == 200
    text = check.content.decode()
    assert "does not intend to return" in text
    assert "Əli" not in text
    reference, _ = _sent(client)
    work()
    records = {r.external_id: r for r in SourceRecord.objects.filter(source__code="portal")}
    me, husband, child = (records[f"{reference}-{n}"] for n in range(3))
    assert (child.mother_ref, child.father_ref) == (me.external_id,
                                                                                    husband.external_id)  # fmt: skip
    assert ReturnIntention.objects.get(person=husband.person).decision == "does_not_intend"


def test_a_death_date_is_carried_to_the_records(portal_home: Settlement) -> None:
    client = begin(Client())
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"})
    _post(client, "/portal/family/add/", {"relation": "father", "given_name": "Əli", "birth_date": "1940",
                                          "death_date": "1999-05"}, to="/portal/family/")  # fmt: skip
    _post(client, "/portal/family/", {"continue": "1"})
    _post(client, "/portal/contact/", {})
    _post(client, "/portal/intention/0/", {"decision": "undecided"}, to="/portal/check/")  # the father is not asked
    reference, _ = _sent(client)
    work()
    father = SourceRecord.objects.get(external_id=f"{reference}-1")
    assert str(father.death_date) == "1999-05"


def test_a_registrant_under_18_finishes_without_an_intention(portal_home: Settlement) -> None:
    client = begin(Client())
    _post(client, "/portal/you/", {"given_name": "Leyla", "surname": "Məmmədova", "birth_date": "2012"})
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"})
    _post(client, "/portal/family/", {"continue": "1"})
    _post(client, "/portal/contact/", {}, to="/portal/intention/0/")
    assert client.get("/portal/intention/0/")["Location"] == "/portal/check/"
    reference, _ = _sent(client)
    work()
    assert Submission.objects.get(reference=reference).state == "recorded"
    assert not ReturnIntention.objects.exists()


def test_the_check_page_leads_to_the_first_step_not_answered(portal_home: Settlement) -> None:
    client = begin(Client())
    assert client.get("/portal/check/")["Location"] == "/portal/you/"
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    assert client.get("/portal/check/")["Location"] == "/portal/origin/"


def test_consent_is_recorded_under_the_sheet_version_the_page_showed(portal_home: Settlement) -> None:
    client = Client()
    start = client.get("/portal/").content.decode()
    assert 'name="sheet" value="2026-1"' in start
    # A newer version is published while the registrant reads the one shown.
    information_sheet_publish(actor=SETUP, version="2026-2", language="en", title="Sheet 2026-2", body="Newer.")
    _post(client, "/portal/", {"sheet": "2026-1", "registration": "on"}, to="/portal/you/")
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"})
    _post(client, "/portal/family/", {"continue": "1"})
    _post(client, "/portal/contact/", {})
    _post(client, "/portal/intention/0/", {"decision": "undecided"})
    reference, _ = _sent(client)
    work()
    me = SourceRecord.objects.get(external_id=f"{reference}-0").person
    assert list(Consent.objects.filter(person=me).values_list("sheet_version", flat=True)) == ["2026-1"]


def test_an_intention_the_registry_refuses_leaves_the_rest_of_the_group_recorded(portal_home: Settlement) -> None:
    from homeward.portal.services import submission_receive, submissions_record_waiting

    other = Settlement.objects.create(gid="hw:test:other", title="Other")

    def payload(name: str, intention: dict[str, Any]) -> dict[str, Any]:
        return {"sheet": "2026-1", "consents": ["registration", "planning"],
                "you": {"given_name": name, "surname": "Hüseynova", "birth_date": "1970"},
                "origin": {"settlement": portal_home.gid}, "family": [], "contact": {},
                "intentions": {"0": intention}}  # fmt: skip

    elsewhere = {"decision": "intends", "horizon": "someday", "together": "elsewhere", "destination": other.gid}
    first = submission_receive(payload=payload("Aynur", elsewhere), draft="group-draft-one-0001", language="en")
    second = submission_receive(payload=payload("Leyla", {"decision": "undecided"}), draft="group-draft-two-0002",
                                language="en")  # fmt: skip
    other.delete()  # the gazetteer was corrected between sending and recording
    assert submissions_record_waiting() == (2, 0)
    assert set(Submission.objects.values_list("state", flat=True)) == {"recorded"}
    refused = AuditEvent.objects.get(action="portal.intention.refused")
    assert refused.target_id == str(first.submission.pk)
    leyla = SourceRecord.objects.get(external_id=f"{second.reference}-0").person
    aynur = SourceRecord.objects.get(external_id=f"{first.reference}-0").person
    assert ReturnIntention.objects.get(person=leyla).decision == "undecided"
    assert not ReturnIntention.objects.filter(person=aynur).exists()
    assert Consent.objects.filter(person=aynur).count() == 2  # the rest of her registration is in


def test_an_answer_given_for_a_relative_never_overrides_the_relatives_own(
    portal_home: Settlement, make_staff: Any
) -> None:
    client = begin(Client())
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"})
    _post(client, "/portal/family/add/", {"relation": "spouse", "given_name": "Rauf", "sex": "M", "birth_date": "1970"})
    _post(client, "/portal/family/", {"continue": "1"})
    _post(client, "/portal/contact/", {})
    _post(client, "/portal/intention/0/", {"decision": "undecided"}, to="/portal/intention/1/")
    _post(client, "/portal/intention/1/", {"decision": "intends", "horizon": "someday", "together": "community"})
    reference, passphrase = _sent(client)
    work()
    rauf = SourceRecord.objects.get(external_id=f"{reference}-1").person
    # Rauf then tells an officer himself that he does not intend to return.
    intention_record(actor=make_staff("registrar"), person_id=rauf.pk, decision="does_not_intend",
                     sheet_version="2026-1", channel="interview")  # fmt: skip
    back = _signed_in(reference, passphrase)
    changed = back.post("/portal/mine/intention/1/", {"decision": "intends", "horizon": "12_months",
                                                      "together": "own"})  # fmt: skip
    assert "could not be saved" in changed.content.decode()
    withdrawn = back.post("/portal/mine/intention/1/withdraw/", {}, follow=True).content.decode()
    assert "The answer was withdrawn" in withdrawn  # the same as any withdrawal
    assert ReturnIntention.objects.filter(person=rauf).latest("version").decision == "does_not_intend"  # his stands
    history = withdrawn.split('id="member-1"', 1)[1]
    assert "answer withdrawn" in history
    assert "does not intend" not in history
    # A double tap on the registrant's own withdrawal makes one version.
    me = SourceRecord.objects.get(external_id=f"{reference}-0").person
    for _ in range(2):
        _post(back, "/portal/mine/intention/0/withdraw/", {}, to="/portal/mine/")
    assert list(ReturnIntention.objects.filter(person=me).values_list("decision", flat=True).order_by("version")) == [
        "undecided", "withdrawn"]  # fmt: skip


def test_a_change_for_a_person_erased_since_gets_the_plain_message(portal_home: Settlement) -> None:
    reference, passphrase, me = _recorded()
    Person.objects.filter(pk=me.pk).update(erased_at=timezone.now())  # erased on request meanwhile
    page = _signed_in(reference, passphrase).post("/portal/mine/intention/0/", {"decision": "undecided"})
    text = page.content.decode()
    assert "could not be saved" in text
    assert f"person {me.pk}" not in text
    assert "not found" not in text
    assert AuditEvent.objects.filter(action="portal.intention.refused").exists()


def test_a_registration_the_import_holds_leaves_the_others_of_its_group_recorded(portal_home: Settlement) -> None:
    from homeward.portal.services import submission_receive, submissions_record_waiting

    gone = Settlement.objects.create(gid="hw:test:gone", title="Gone")

    def payload(name: str, home: str) -> dict[str, Any]:
        return {"sheet": "2026-1", "consents": ["registration", "planning"],
                "you": {"given_name": name, "surname": "Hüseynova", "birth_date": "1970"},
                "origin": {"settlement": home}, "family": [], "contact": {},
                "intentions": {"0": {"decision": "undecided"}}}  # fmt: skip

    held = submission_receive(payload=payload("Aynur", gone.gid), draft="group-draft-held-0001", language="en")
    kept = submission_receive(payload=payload("Leyla", portal_home.gid), draft="group-draft-kept-0002", language="en")
    gone.delete()  # the gazetteer was corrected between sending and recording: the import holds Aynur's record
    # The group as a whole cannot be finished; each registration is then finished on its own.
    assert submissions_record_waiting() == (1, 1)
    states = dict(Submission.objects.values_list("reference", "state"))
    assert states == {held.reference: "received", kept.reference: "recorded"}
    assert "held by the import" in Submission.objects.get(reference=held.reference).error
    leyla = SourceRecord.objects.get(external_id=f"{kept.reference}-0").person
    assert Consent.objects.filter(person=leyla).count() == 2
    assert ReturnIntention.objects.get(person=leyla).decision == "undecided"
    recorded = AuditEvent.objects.filter(action="portal.submission.recorded")
    assert list(recorded.values_list("target_id", flat=True)) == [str(kept.submission.pk)]
