"""Staff's view of the portal: campaigns and what each brought, submissions as they arrive, answers by sheet
version, and recording the waiting submissions again as a background job."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from homeward.access.roles import Role
from homeward.audit.models import AuditEvent
from homeward.core.models import Job
from homeward.portal.models import Campaign, Submission
from homeward.portal.services import submissions_record_waiting
from homeward.registry.models import SourceRecord
from tests.portal.test_flow import walk, work

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sheets", "portal_home")]


def test_an_administrator_starts_a_campaign_and_sees_what_it_brought(client_for: Any) -> None:
    admin = client_for(Role.ADMIN)
    response = admin.post("/portal/staff/", {"code": "radio", "name": "Radio programme"})
    assert response.status_code == 302
    campaign = Campaign.objects.get(code="radio")
    assert AuditEvent.objects.filter(action="portal.campaign.created", target_id=str(campaign.pk)).exists()
    again = admin.post("/portal/staff/", {"code": "radio", "name": "Again"})
    assert "already used" in again.content.decode()
    walk(Client(), campaign="radio", family=False).post("/portal/check/", {})
    walk(Client(), family=False).post("/portal/check/", {})
    work()
    page = admin.get("/portal/staff/").content.decode()
    assert "?c=radio" in page
    row = page.split('<th scope="row">radio</th>', 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td><td>1</td>" in row  # one registration, recorded
    assert Submission.objects.filter(campaign=campaign).count() == 1
    assert "2026-1" in page  # answers by sheet version


def test_a_registrar_sees_submissions_but_cannot_start_campaigns(client_for: Any) -> None:
    registrar = client_for(Role.REGISTRAR)
    assert registrar.post("/portal/staff/", {"code": "x", "name": "X"}).status_code == 200
    assert not Campaign.objects.exists()
    assert client_for(Role.PLANNER).get("/portal/staff/").status_code == 403


def test_waiting_submissions_are_recorded_again_by_a_job(client_for: Any) -> None:
    walk(Client(), family=False).post("/portal/check/", {})
    Job.objects.filter(kind="portal.record").delete()  # as if the queued job had been lost
    registrar = client_for(Role.REGISTRAR)
    assert "Record them now" in registrar.get("/portal/staff/").content.decode()
    response = registrar.post("/portal/staff/", {"record": "1"})
    job = Job.objects.get(kind="portal.record")
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert submissions_record_waiting() == (1, 0)
    assert Submission.objects.get().state == "recorded"


def test_a_settlement_not_listed_is_kept_in_the_familys_words_for_staff() -> None:
    client = Client()
    client.get("/portal/")
    client.post("/portal/", {"registration": "on"})
    client.post("/portal/you/", {"given_name": "Aynur", "surname": "X", "birth_date": "1980"})
    client.post("/portal/origin/", {"text": "Yuxarı Çay, by the river, upper valley"})
    client.post("/portal/family/", {"continue": "1"})
    client.post("/portal/contact/", {})
    client.post("/portal/intention/0/", {"decision": "undecided"})
    assert client.post("/portal/check/", {})["Location"] == "/portal/done/"
    work()
    record = SourceRecord.objects.get(source__code="portal")
    assert (record.origin_settlement_id, record.origin_text) == (None, "Yuxarı Çay, by the river, upper valley")


def test_the_command_line_starts_a_campaign_records_waiting_registrations_and_counts() -> None:
    out = io.StringIO()
    call_command("portal", "campaign", "letters", "Letters to members", stdout=out)
    assert "/portal/?c=letters" in out.getvalue()
    with pytest.raises(CommandError, match="already used"):
        call_command("portal", "campaign", "letters", "Again", stdout=io.StringIO())
    walk(Client(), campaign="letters", family=False).post("/portal/check/", {})
    out = io.StringIO()
    call_command("portal", "record", stdout=out)
    assert "1 registrations recorded, 0 could not be" in out.getvalue()
    out = io.StringIO()
    call_command("portal", "list", stdout=out)
    assert "registrations: 1 recorded, 0 waiting" in out.getvalue()
    assert "letters" in out.getvalue()
