"""Return intentions: the person's own, versioned, withdrawable in one step, recorded by staff only with the
channel and their account."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from homeward.audit.models import AuditEvent
from homeward.audit.services import system_actor
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.models import Settlement
from homeward.registry.models import Person, ReturnIntention
from homeward.registry.services.intentions import intention_record, intention_withdraw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sheets")]

SHEET = {"sheet_version": "2026-1"}


@pytest.fixture
def adult() -> Person:
    home = Settlement.objects.create(gid="hw:test:home", title="Home")
    return Person.objects.create(given_name="A", surname="B", birth_date=PartialDate(1970), origin_settlement=home,
                                 eligible=True)  # fmt: skip


def test_each_change_is_a_new_version_and_withdrawal_is_one_step(adult: Person, make_staff: Any) -> None:
    staff = make_staff("registrar")
    first = intention_record(actor=staff, person_id=adult.pk, decision="undecided", channel="interview",
                             conditions=["security", "housing"], **SHEET)  # fmt: skip
    second = intention_record(actor=staff, person_id=adult.pk, decision="intends", horizon="12_months",
                              together="community", channel="phone", needs=["health"], **SHEET)  # fmt: skip
    third = intention_withdraw(actor=staff, person_id=adult.pk, channel="phone")
    assert [i.version for i in (first, second, third)] == [1, 2, 3]
    assert (third.decision, third.horizon, third.together, third.conditions) == ("withdrawn", "", "", [])
    assert third.recorded_by_id == staff.pk
    history = list(adult.intentions.values_list("version", "decision"))
    assert history == [(3, "withdrawn"), (2, "intends"), (1, "undecided")]
    assert first.conditions == ["security", "housing"]
    assert second.needs == ["health"]
    assert AuditEvent.objects.filter(action="registry.intention.recorded").count() == 2
    assert AuditEvent.objects.filter(action="registry.intention.withdrawn").count() == 1
    with pytest.raises(ValidationError, match="no intention to withdraw"):
        intention_withdraw(actor=staff, person_id=adult.pk, channel="phone")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "portal"}, "channel"),
        ({"decision": "withdrawn"}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"sheet_version": " "}, "sheet_version"),
        ({"horizon": ""}, "horizon"),
        ({"together": ""}, "together"),
        ({"together": "elsewhere"}, "destination"),
        ({"conditions": ["weather"]}, "conditions"),
        ({"needs": ["a pony"]}, "needs"),
        ({"conditions_note": "x" * 1001}, "conditions_note"),
    ],
)
def test_bad_intentions_are_refused_by_field_and_nothing_is_stored(
    adult: Person, make_staff: Any, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"decision": "intends", "horizon": "5_years", "together": "community",
                              "channel": "interview", **SHEET, **changes}  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        intention_record(actor=make_staff("registrar"), person_id=adult.pk, **values)
    assert caught.value.problems[0][0] == field
    assert not ReturnIntention.objects.exists()


def test_only_staff_record_for_adults_and_going_elsewhere_names_another_place(adult: Person, make_staff: Any) -> None:
    staff = make_staff("registrar")
    ask = {"decision": "intends", "horizon": "someday", "channel": "interview", **SHEET}
    with pytest.raises(ValidationError) as caught:
        intention_record(actor=system_actor("script"), person_id=adult.pk, together="community", **ask)
    assert caught.value.problems[0][0] == "recorded_by"
    child = Person.objects.create(birth_date=PartialDate(dt.date.today().year - 10), eligible=True)
    with pytest.raises(ValidationError, match="household's adults"):
        intention_record(actor=staff, person_id=child.pk, together="community", **ask)
    with pytest.raises(ValidationError, match="origin settlement"):
        intention_record(actor=staff, person_id=adult.pk, together="elsewhere",
                         destination_id=adult.origin_settlement_id, **ask)  # fmt: skip
    other = Settlement.objects.create(gid="hw:test:other", title="Other")
    made = intention_record(actor=staff, person_id=adult.pk, together="elsewhere", destination_id=other.pk, **ask)
    assert made.destination_id == other.pk
    with pytest.raises(NotFoundError):
        intention_record(actor=staff, person_id=999_999, together="community", **ask)


def test_the_person_page_records_shows_and_withdraws(adult: Person, client_for: Any) -> None:
    client = client_for("registrar")
    response = client.post(f"/registry/persons/{adult.pk}/intentions/", {
        "decision": "intends", "horizon": "12_months", "together": "elsewhere", "destination": "nowhere",
        "sheet_version": "2026-1", "channel": "interview",
    }, follow=True)  # fmt: skip
    assert "going elsewhere names the settlement" in response.content.decode()
    assert not ReturnIntention.objects.exists()
    client.post(f"/registry/persons/{adult.pk}/intentions/", {
        "decision": "intends", "horizon": "12_months", "together": "community", "conditions": ["security"],
        "sheet_version": "2026-1", "channel": "interview",
    })  # fmt: skip
    page = client.get(f"/registry/persons/{adult.pk}/").content.decode()
    assert "intends to return" in page
    assert "within 12 months" in page
    assert "security" in page
    client.post(f"/registry/persons/{adult.pk}/intentions/withdraw/", {"channel": "phone"})
    assert adult.intentions.first().decision == "withdrawn"
    reviewer = client_for("reviewer")
    assert reviewer.post(f"/registry/persons/{adult.pk}/intentions/withdraw/", {"channel": "phone"}).status_code == 403
