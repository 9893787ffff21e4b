"""Information sheets: published once per version and language and never changed; consents and intentions
are given only under a published version; the pages list, show and publish them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from homeward.audit.models import AuditEvent
from homeward.core.errors import ValidationError
from homeward.core.partialdate import PartialDate
from homeward.registry.models import Consent, InformationSheet, Person, ReturnIntention
from homeward.registry.services.intentions import intention_record
from homeward.registry.services.persons import consent_record
from homeward.registry.services.sheets import information_sheet_publish
from tests.conftest import SETUP

pytestmark = pytest.mark.django_db
TEXT = "Who runs the registry and why.\n\nWhat is stored, and who sees it."


def publish(**changes: Any) -> InformationSheet:
    values = {"version": "2027-1", "language": "en", "title": "Registration", "body": TEXT, **changes}
    return information_sheet_publish(actor=SETUP, **values)


def test_a_sheet_is_published_once_per_version_and_language_and_never_changes() -> None:
    first = publish(body="  " + TEXT.replace("\n", "\r\n") + "\n")
    assert first.body == TEXT  # line ends and surrounding blanks normalised
    assert first.sha256 == hashlib.sha256(TEXT.encode()).hexdigest()
    event = AuditEvent.objects.get(action="registry.sheet.published")
    assert event.data == {"version": "2027-1", "language": "en", "sha256": first.sha256}
    with pytest.raises(ValidationError, match="never changes") as refused:
        publish(body="A different text.")
    assert refused.value.problems[0][0] == "version"
    assert InformationSheet.objects.get(pk=first.pk).body == TEXT
    russian = publish(language="ru", title="Регистрация", body="Кто ведёт реестр и зачем.")
    assert {s.language for s in InformationSheet.objects.filter(version="2027-1")} == {"en", "ru"}
    assert russian.sha256 != first.sha256
    assert AuditEvent.objects.filter(action="registry.sheet.published").count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version": ""}, "version"),
        ({"version": "2027 1"}, "version"),
        ({"version": "x" * 65}, "version"),
        ({"language": "de"}, "language"),
        ({"title": " "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"body": ""}, "body"),
        ({"body": "b" * 20_001}, "body"),
    ],
)
def test_bad_sheets_are_refused_by_field_and_nothing_is_stored(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        publish(**changes)
    assert refused.value.problems[0][0] == field
    assert not InformationSheet.objects.exists()
    assert not AuditEvent.objects.filter(action="registry.sheet.published").exists()


def test_consents_and_intentions_need_a_published_version(make_staff: Any) -> None:
    staff = make_staff("registrar")
    person = Person.objects.create(given_name="A", surname="B", birth_date=PartialDate(1970), eligible=True)
    ask = {"actor": staff, "person_id": person.pk, "channel": "interview"}
    with pytest.raises(ValidationError, match="not a published information sheet") as refused:
        intention_record(decision="undecided", sheet_version="2027-1", **ask)
    assert refused.value.problems[0][0] == "sheet_version"
    with pytest.raises(ValidationError, match="not a published information sheet"):
        consent_record(purpose="contact", sheet_version="2027-1", **ask)
    assert not ReturnIntention.objects.exists()
    assert not Consent.objects.exists()
    # Consent given to a source registry names that registry's own form.
    given = consent_record(actor=staff, person_id=person.pk, purpose="registration", sheet_version="form R-7",
                           channel="source")  # fmt: skip
    assert given.sheet_version == "form R-7"
    publish()
    assert intention_record(decision="undecided", sheet_version=" 2027-1 ", **ask).sheet_version == "2027-1"
    assert consent_record(purpose="contact", sheet_version="2027-1", **ask).sheet_version == "2027-1"


def test_the_pages_list_show_and_publish_sheets(client_for: Any, make_staff: Any) -> None:
    person = Person.objects.create(given_name="A", surname="B", birth_date=PartialDate(1970), eligible=True)
    registrar = client_for("registrar")
    # Nothing published: the person page says so instead of offering a form that cannot succeed.
    page = registrar.get(f"/registry/persons/{person.pk}/").content.decode()
    assert 'id="no-sheet"' in page
    assert 'id="intention-form"' not in page
    listing = registrar.get("/registry/sheets/").content.decode()
    assert "No information sheet is published yet" in listing
    assert 'id="sheet-form"' not in listing  # only those who configure the registry publish
    assert registrar.post("/registry/sheets/", {"version": "2027-1"}).status_code == 403
    admin = client_for("admin")
    bad = admin.post("/registry/sheets/", {"version": "2027 1", "language": "en", "title": "T", "body": TEXT})
    assert bad.status_code == 400
    assert "letters, digits" in bad.content.decode()
    assert not InformationSheet.objects.exists()
    done = admin.post("/registry/sheets/", {"version": "2027-1", "language": "az", "title": "Qeydiyyat",
                                             "body": TEXT})  # fmt: skip
    sheet = InformationSheet.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/registry/sheets/{sheet.pk}/"
    shown = registrar.get(done["Location"]).content.decode()
    assert '<article lang="az">' in shown
    assert "<p>Who runs the registry and why.</p>" in shown
    assert "<p>What is stored, and who sees it.</p>" in shown
    assert sheet.sha256 in shown
    publish(version="2027-2")
    staff = make_staff("registrar")
    intention_record(actor=staff, person_id=person.pk, decision="undecided", sheet_version="2027-1",
                     channel="interview")  # fmt: skip
    # The person page offers the published versions, the newest first and chosen.
    page = registrar.get(f"/registry/persons/{person.pk}/").content.decode()
    assert 'id="intention-form"' in page
    assert page.index('<option value="2027-2" selected>') < page.index('<option value="2027-1">')
    # The list counts what was given under each version.
    listing = registrar.get("/registry/sheets/").content.decode()
    row = listing[listing.index('id="sheet-2027-1"') :]
    row = row[: row.index("</tr>")]
    assert [cell.split("<")[0] for cell in row.split("<td>")[2:]] == ["0", "1"]
    assert registrar.get("/registry/sheets/999999/").status_code == 404
    assert client_for("planner").get("/registry/sheets/").status_code == 403
