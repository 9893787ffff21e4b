"""The public registration flow through real pages: a submission is stored before anything else, becomes
source records of the self-registration source with consents and intentions, and its registrant comes back
with the reference and passphrase to change and withdraw their answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from homeward.audit.models import AuditEvent
from homeward.core.models import Job
from homeward.core.progress import NullProgress
from homeward.gazetteer.models import Settlement
from homeward.portal.jobs import record_job
from homeward.portal.models import Campaign, Submission, SubmissionIntention
from homeward.registry.models import Consent, Kinship, ReturnIntention, SourceRecord
from tests.conftest import SETUP

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sheets")]


def work() -> None:
    """What the worker does with the queued recording job (its handler, in this test's transaction)."""
    for job in Job.objects.filter(kind="portal.record", state="queued"):
        record_job(job, NullProgress())


def _post(client: Client, url: str, data: dict[str, Any], *, to: str | None = None) -> Any:
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    if to is not None:
        assert response["Location"] == to, response["Location"]
    return response


def begin(client: Client, *, consents: tuple[str, ...] = ("registration",)) -> Client:
    """The start page and its agreements: the person's page is next."""
    client.get("/portal/")
    _post(client, "/portal/", dict.fromkeys(consents, "on"), to="/portal/you/")
    return client


def walk(client: Client, *, campaign: str = "", family: bool = True) -> Client:
    start = client.get("/portal/" + (f"?c={campaign}" if campaign else "")).content.decode()
    assert (f'name="c" value="{campaign}"' in start) == bool(campaign)  # the campaign goes on with the form
    agreed = {"registration": "on", "planning": "on"}
    _post(client, "/portal/", {"c": campaign, **agreed} if campaign else agreed, to="/portal/you/")
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "patronymic": "Əli qızı", "sex": "F",
                                   "birth_date": "1975-03", "birth_place": "Bakı"}, to="/portal/origin/")  # fmt: skip
    found = client.post("/portal/origin/", {"q": "Карабулак", "search": "1"})  # posted: kept out of the logs
    assert "hw:test:qarabulaq" in found.content.decode()
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq", "left": "1988",
                                      "event": "wave-1"}, to="/portal/family/")  # fmt: skip
    if family:
        _post(client, "/portal/family/add/", {"relation": "father", "given_name": "Əli", "surname": "Hüseynov",
                                              "sex": "M", "birth_date": "1948", "displaced": "on",
                                              "deceased": "on"}, to="/portal/family/")  # fmt: skip
        _post(client, "/portal/family/add/", {"relation": "child", "given_name": "Leyla", "surname": "Məmmədova",
                                              "sex": "F", "birth_date": "2012"}, to="/portal/family/")  # fmt: skip
        _post(client, "/portal/family/add/", {"relation": "spouse", "given_name": "Rauf", "surname": "Məmmədov",
                                              "sex": "M", "birth_date": "1972"}, to="/portal/family/")  # fmt: skip
    _post(client, "/portal/family/", {"continue": "1"}, to="/portal/contact/")
    _post(client, "/portal/contact/", {"country": "de", "city": "Köln"}, to="/portal/intention/0/")
    answer = {"decision": "intends", "horizon": "5_years", "together": "community",
              "conditions": ["security", "housing"], "needs": ["schooling"]}  # fmt: skip
    # The father has died and the child is a minor: only the spouse is asked about next, and may be skipped.
    _post(client, "/portal/intention/0/", answer, to="/portal/intention/3/" if family else "/portal/check/")
    if family:
        _post(client, "/portal/intention/3/", {"skip": "1"}, to="/portal/check/")
    assert client.get("/portal/intention/")["Location"] == "/portal/check/"
    page = client.get("/portal/check/").content.decode()
    assert "Hüseynova" in page
    assert "Qarabulaq" in page
    # "Change" from the check page shows the answers as given, ready to change.
    again = client.get("/portal/intention/0/").content.decode()
    for name, value in (("decision", "intends"), ("horizon", "5_years"), ("conditions", "security"),
                        ("conditions", "housing"), ("needs", "schooling")):  # fmt: skip
        assert re.search(f'name="{name}" value="{value}" id="[^"]+" checked', again), (name, value)
    assert not re.search('name="conditions" value="services" id="[^"]+" checked', again)
    you = client.get("/portal/you/").content.decode()
    assert 'value="Hüseynova"' in you
    assert 'autocomplete="family-name"' in you
    return client


def test_a_family_registers_and_becomes_records_consents_and_an_intention(portal_home: Settlement) -> None:
    Campaign.objects.create(code="spring", name="Spring letters")
    client = walk(Client(), campaign="spring")
    _post(client, "/portal/check/", {}, to="/portal/done/")
    assert Submission.objects.get().state == "received"  # stored; recorded by the worker
    assert SourceRecord.objects.count() == 0
    assert Job.objects.filter(kind="portal.record", state="queued").count() == 1
    work()
    page = client.get("/portal/done/").content.decode()
    reference = re.search(r'id="reference">([^<]+)<', page).group(1)
    passphrase = re.search(r'id="passphrase">([^<]+)<', page).group(1)
    submission = Submission.objects.get()
    assert (submission.reference, submission.state, submission.members) == (reference, "recorded", 4)
    assert submission.campaign.code == "spring"
    assert passphrase.replace("-", "") not in submission.secret
    assert len(passphrase) == 19
    with connection.cursor() as cursor:  # stored encrypted: the table never holds the answers in clear
        cursor.execute("SELECT payload FROM portal_submission")
        stored = cursor.fetchone()[0]
    assert "Hüseynova" not in stored
    assert "Aynur" not in stored
    records = {r.external_id: r for r in SourceRecord.objects.filter(source__code="portal")}
    assert sorted(records) == [f"{reference}-{n}" for n in range(4)]
    me, father = records[f"{reference}-0"], records[f"{reference}-1"]
    assert (me.surname, me.origin_settlement_id, me.current_country, str(me.birth_date)) == (
        "Hüseynova",
        portal_home.pk,
        "DE",
        "1975-03",
    )
    assert str(father.displacement_date) == "1988"
    assert father.death_date is None
    assert Kinship.objects.filter(parent=father.person, child=me.person).exists()
    assert Kinship.objects.filter(parent=me.person, child=records[f"{reference}-2"].person).exists()
    assert sorted(Consent.objects.filter(person=me.person).values_list("purpose", "channel", "sheet_version")) == [
        ("planning", "portal", "2026-1"),
        ("registration", "portal", "2026-1"),
    ]
    intention = ReturnIntention.objects.get(person=me.person)
    assert (intention.decision, intention.channel, intention.recorded_by_id, intention.conditions) == (
        "intends",
        "portal",
        None,
        ["security", "housing"],
    )
    assert not ReturnIntention.objects.filter(person=records[f"{reference}-3"].person).exists()  # skipped
    assert Job.objects.filter(kind="portal.match").count() == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="portal.").order_by("id").values_list("action", flat=True)
    )
    assert actions[:2] == ["portal.submission.received", "portal.submission.recorded"]

    # Back with the reference and passphrase: change the answer, then withdraw it in one step.
    back = Client()
    wrong = back.post("/portal/return/", {"reference": reference, "passphrase": "AAAA-AAAA-AAAA-AAAA"})
    assert wrong.status_code == 200
    assert "do not match" in wrong.content.decode()
    _post(back, "/portal/return/", {"reference": reference.lower(), "passphrase": passphrase.replace("-", " ")},
          to="/portal/mine/")  # fmt: skip
    mine = back.get("/portal/mine/").content.decode()
    assert "Hüseynova" in mine
    assert "intends to return" in mine
    _post(back, "/portal/mine/intention/0/", {"decision": "undecided"}, to="/portal/mine/")
    _post(back, "/portal/mine/intention/0/withdraw/", {}, to="/portal/mine/")
    versions = list(
        ReturnIntention.objects.filter(person=me.person).order_by("version").values_list("decision", flat=True)
    )
    assert versions == ["intends", "undecided", "withdrawn"]
    assert SubmissionIntention.objects.filter(submission=submission).count() == 3
    _post(back, "/portal/mine/consent/planning/withdraw/", {}, to="/portal/mine/")
    assert Consent.objects.get(person=me.person, purpose="planning").withdrawn_at is not None
    assert "withdrawn" in back.get("/portal/mine/").content.decode()


def test_the_same_page_sent_twice_makes_one_submission_with_the_same_passphrase(portal_home: Settlement) -> None:
    client = walk(Client(), family=False)
    draft = client.cookies["homeward_portal"].value
    assert "Aynur" not in draft  # the answers so far are encrypted on the device
    _post(client, "/portal/check/", {}, to="/portal/done/")
    first = client.get("/portal/done/").content.decode()
    # A double tap: the browser sends the check page again with the same draft.
    replay = Client()
    replay.cookies["homeward_portal"] = draft
    _post(replay, "/portal/check/", {}, to="/portal/done/")
    second = replay.get("/portal/done/").content.decode()
    shown = [re.search(r'id="passphrase">([^<]+)<', page).group(1) for page in (first, second)]
    assert shown[0] == shown[1]
    assert Submission.objects.count() == 1
    # Once shown, the reference page does not show it again, and the check page starts afresh.
    assert client.get("/portal/done/")["Location"] == "/portal/"
    assert client.post("/portal/check/", {})["Location"] == "/portal/"
    work()
    assert SourceRecord.objects.count() == 1


def test_bad_answers_are_named_next_to_the_field_and_nothing_is_stored(portal_home: Settlement) -> None:
    client = Client()
    client.get("/portal/")
    refused = client.post("/portal/", {})  # nothing ticked: told why, next to the agreement, and no draft begun
    assert refused.status_code == 200
    assert "Without this agreement we cannot register you" in refused.content.decode()
    assert client.get("/portal/you/")["Location"] == "/portal/"
    client = begin(Client())
    cases = [
        ({"given_name": "=cmd|' /C calc'!A0", "surname": "X"}, "cannot start with"),
        ({"given_name": "A" * 10_000, "surname": "X"}, "Ensure this value has at most 200 characters"),
        ({"given_name": "Aynur", "surname": "X", "birth_date": "2999"}, "in the future"),
        ({"given_name": "Aynur", "surname": "X", "birth_date": "12/03/1970"}, "Write a year"),
        ({"given_name": "", "surname": "X"}, "This field is required"),
        ({"given_name": "A\u0439\u043d\u0443\u0440", "surname": "X"}, "mixes letters of two alphabets"),
        ({"given_name": "Aynur \U0001f600", "surname": "X"}, "Write only letters"),
    ]
    for data, message in cases:
        page = client.post("/portal/you/", data)
        assert page.status_code == 200, data
        assert message in page.content.decode(), (data, message)
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "X", "birth_date": "1980"})
    _post(client, "/portal/origin/", {"text": "Somewhere not listed, upper valley"})
    older = client.post("/portal/family/add/", {"relation": "child", "given_name": "C", "birth_date": "1970"})
    assert "A child must be born after you" in older.content.decode()
    parent = client.post("/portal/family/add/", {"relation": "mother", "given_name": "M", "birth_date": "1990"})
    assert "A parent or grandparent must be born before you" in parent.content.decode()
    assert Submission.objects.count() == 0
    assert SourceRecord.objects.count() == 0


def test_a_bot_filling_the_hidden_field_is_turned_away_quietly(portal_home: Settlement) -> None:
    client = begin(Client())
    response = client.post("/portal/you/", {"given_name": "Bot", "surname": "Bot", "website": "http://spam"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/origin/")["Location"] == "/portal/"  # the draft is gone
    assert Submission.objects.count() == 0


def test_over_the_rate_limit_a_friendly_page_asks_to_come_back(portal_home: Settlement, settings: Any) -> None:
    settings.PORTAL_SENDER_PER_HOUR = 1
    walk(Client(), family=False).post("/portal/check/", {})
    client = walk(Client(), family=False)
    response = client.post("/portal/check/", {})
    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    assert "try again" in response.content.decode().lower()
    assert Submission.objects.count() == 1
    settings.PORTAL_SENDER_PER_HOUR = 20
    assert client.post("/portal/check/", {}).status_code == 302  # the answers were kept: sent once it is quiet
    assert Submission.objects.count() == 2


def test_with_htmx_each_page_sent_answers_with_the_next_page_in_one_request(portal_home: Settlement) -> None:
    client = Client(HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")

    def sent(url: str, data: dict[str, Any], to: str, shows: str) -> str:
        response = client.post(url, data)
        assert response.status_code == 200, (url, response.status_code)
        assert response["HX-Push-Url"] == to  # the browser's address and history follow
        page = response.content.decode()
        assert shows in page, (url, shows)
        assert "no-store" in response["Cache-Control"]
        assert f'name="next" type="hidden" value="{to}"' in page  # the language switch comes back to this page
        return page

    client.get("/portal/")
    sent("/portal/", {"registration": "on"}, "/portal/you/", "About you")
    sent("/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"}, "/portal/origin/",
         "Where your family comes from")  # fmt: skip
    refused = client.post("/portal/origin/", {})  # a problem: the same page again, with the problem named
    assert refused.status_code == 200
    assert "HX-Push-Url" not in refused
    sent("/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"}, "/portal/family/", "Your family")
    sent("/portal/family/", {"continue": "1"}, "/portal/contact/", "Where you live now")
    sent("/portal/contact/", {}, "/portal/intention/0/", "Would you return?")
    sent("/portal/intention/0/", {"decision": "undecided"}, "/portal/check/", "Check your answers")
    done = sent("/portal/check/", {}, "/portal/done/", 'id="passphrase"')
    reference = re.search(r'id="reference">([^<]+)<', done).group(1)
    assert client.get("/portal/done/")["Location"] == "/portal/"  # shown once
    work()
    assert Submission.objects.get().reference == reference
    assert Submission.objects.get().state == "recorded"


def test_the_agreements_are_given_under_the_sheet_and_changed_from_the_check_page(portal_home: Settlement) -> None:
    client = Client()
    start = client.get("/portal/").content.decode()
    # The sheet, then each agreement as its own box, then the button: one page, one request.
    assert start.index("Information sheet, version") < start.index('name="registration"') < start.index(">Start<")
    walk(client, family=False)
    assert client.get("/portal/check/").status_code == 200
    _post(client, "/portal/consent/", {"registration": "on", "contact": "on"}, to="/portal/check/")
    assert client.post("/portal/check/", {}).status_code == 302
    work()
    assert set(Consent.objects.values_list("purpose", flat=True)) == {"registration", "contact"}


def test_the_family_page_holds_the_form_to_add_a_member(portal_home: Settlement) -> None:
    client = begin(Client())
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"}, to="/portal/family/")
    empty = client.get("/portal/family/").content.decode()
    # Nobody listed yet: the form is open, posting to the page that adds, the surname offered.
    assert '<details class="add-member" open>' in empty
    assert 'action="/portal/family/add/"' in empty
    assert 'name="surname" id="id_surname" value="Hüseynova"' in empty
    _post(client, "/portal/family/add/", {"relation": "spouse", "given_name": "Rauf", "birth_date": "1970"},
          to="/portal/family/")  # fmt: skip
    listed = client.get("/portal/family/").content.decode()
    assert "<strong>Rauf</strong>, wife or husband" in listed
    assert '<details class="add-member">' in listed  # folded once someone is listed
    refused = client.post("/portal/family/add/", {"relation": "child", "given_name": "", "birth_date": "1990"})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()


def test_a_settlement_chosen_from_the_list_is_checked_by_its_id(portal_home: Settlement) -> None:
    client = begin(Client())
    _post(client, "/portal/you/", {"given_name": "Aynur", "surname": "Hüseynova", "birth_date": "1975"})
    # An id that is not in the gazetteer: refused next to the field, the search shown again, nothing kept.
    refused = client.post("/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:nowhere"})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Select a valid choice" in page
    assert 'value="hw:test:qarabulaq"' in page
    assert client.get("/portal/family/")["Location"] == "/portal/"
    # A bad year with a good settlement: the list is shown again with the settlement still chosen.
    again = client.post("/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq", "left": "2999"})
    assert again.status_code == 200
    assert 'value="hw:test:qarabulaq" id="id_settlement_0" checked' in again.content.decode()
    with CaptureQueriesContext(connection) as queries:
        _post(client, "/portal/origin/", {"q": "Карабулак", "settlement": "hw:test:qarabulaq"}, to="/portal/family/")
    assert not [q for q in queries.captured_queries if "gazetteer_namekey" in q["sql"]]  # no search: the id alone
    _post(client, "/portal/family/", {"continue": "1"})
    _post(client, "/portal/contact/", {})
    _post(client, "/portal/intention/0/", {"decision": "undecided"}, to="/portal/check/")
    # Shown as the list showed it: under the name the search matched, in the script it was searched in.
    assert "<dd>Qarabulaq (Карабулак)</dd>" in client.get("/portal/check/").content.decode()
    _post(client, "/portal/origin/", {"q": "", "settlement": "hw:test:qarabulaq", "left": "1990"}, to="/portal/check/")
    assert "<dd>Qarabulaq</dd>" in client.get("/portal/check/").content.decode()  # no search: its own title


def test_the_sheets_and_events_are_kept_in_the_process_and_a_change_is_seen_at_once(
    portal_home: Settlement, settings: Any, django_assert_num_queries: Any
) -> None:
    from homeward.portal import selectors
    from homeward.registry.models import DisplacementEvent, InformationSheet
    from homeward.registry.services.sheets import information_sheet_publish

    settings.PORTAL_REFERENCE_SECONDS = 60
    selectors.forget()
    assert selectors.current_sheet("en").version == "2026-1"
    assert selectors.events() == [("wave-1", "First wave")]
    with django_assert_num_queries(0):
        assert selectors.current_sheet("az").version == "2026-1"  # no Azerbaijani text: the English one
        assert selectors.shown_sheet("v1", "en").version == "v1"
        assert selectors.event_label("wave-1") == "First wave"
    information_sheet_publish(actor=SETUP, version="2026-2", language="az", title="Vərəqə", body="Yeni.")
    DisplacementEvent.objects.create(code="wave-2", label="Second wave")
    assert selectors.current_sheet("az").title == "Vərəqə"
    assert selectors.current_sheet("en").version == "2026-2"  # the newest version, in the only language it has
    assert selectors.event_label("wave-2") == "Second wave"
    # A version published by another process (no signal here): the page that showed it is still honoured.
    InformationSheet.objects.bulk_create([InformationSheet(
        version="2026-3", language="en", title="Sheet 2026-3", body="Newest.", sha256="0" * 64,
        published_at=timezone.now(),
    )])  # fmt: skip
    assert selectors.current_sheet("en").version == "2026-2"  # the newest this process knows, for a while
    assert selectors.shown_sheet("2026-3", "en").title == "Sheet 2026-3"
    assert selectors.current_sheet("en").version == "2026-3"
    selectors.forget()
