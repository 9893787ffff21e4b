"""Record linkage pages: the review queue, a pair side by side with its evidence, deciding, taking back, a
person's identity page with its split form and undo, who may see them, and the audit of every pair read.

The synthetic community is imported and linked once for the module (``tests/linkage/conftest.py``); each test
runs in a transaction rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest

from homeward.access.roles import MATRIX, Cap, Role
from homeward.audit.models import AuditEvent
from homeward.core.names import detect_script
from homeward.linkage.models import ChangedRecord, IdentityChange, LinkDecision, MatchCandidate
from homeward.linkage.selectors import next_candidate
from homeward.linkage.services import candidate_decide
from homeward.registry.models import Person, SourceRecord
from homeward.registry.services.persons import person_restrict, subject_request_open
from tests.conftest import SETUP

pytestmark = pytest.mark.usefixtures("db", "linked_registry")

NOT_REVIEWERS = sorted(set(Role) - MATRIX[Cap.LINKAGE_REVIEW])


def _pending() -> list[MatchCandidate]:
    return list(MatchCandidate.objects.filter(state=MatchCandidate.State.PENDING).order_by("-probability", "id"))


def _person_of(record_id: int) -> int:
    person_id = SourceRecord.objects.filter(pk=record_id).values_list("person_id", flat=True).get()
    assert person_id is not None
    return person_id


def _cross_script() -> MatchCandidate:
    """A waiting pair whose two records write the given name in different scripts (Latin and Cyrillic)."""
    for candidate in _pending():
        a = SourceRecord.objects.get(pk=candidate.record_a_id)
        b = SourceRecord.objects.get(pk=candidate.record_b_id)
        if {detect_script(a.given_name), detect_script(b.given_name)} == {"Latn", "Cyrl"}:
            return candidate
    raise AssertionError("no waiting pair across scripts")


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def _section(page: str, start: str, end: str) -> str:
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


def test_queue_lists_the_waiting_pairs_most_probable_first(client_for: Any) -> None:
    pending = _pending()
    assert len(pending) > 50  # more than one page of 50
    page = _text(client_for(Role.REVIEWER).get("/linkage/"))
    assert f"Waiting ({len(pending)})" in page
    listed = [int(n) for n in re.findall(r'href="/linkage/candidates/(\d+)/"', page)]
    assert listed == [c.pk for c in pending[:50]]
    first = pending[0]
    record = SourceRecord.objects.get(pk=first.record_a_id)
    assert f"{record.given_name} {record.surname}" in page
    second = _text(client_for(Role.REVIEWER).get("/linkage/", {"page": 2}))
    assert [int(n) for n in re.findall(r'href="/linkage/candidates/(\d+)/"', second)] == [c.pk for c in pending[50:100]]
    # Only a role that may start runs is offered the button.
    assert "Start a linkage run" not in page
    assert "Start a linkage run" in _text(client_for(Role.REGISTRAR).get("/linkage/"))


def test_a_pair_shows_both_records_as_written_with_the_evidence_and_its_reading_is_audited(
    client_for: Any,
) -> None:
    candidate = _cross_script()
    client = client_for(Role.REVIEWER)
    before = AuditEvent.objects.filter(action="linkage.candidate.viewed", target_id=str(candidate.pk)).count()
    page = _text(client.get(f"/linkage/candidates/{candidate.pk}/"))
    viewed = AuditEvent.objects.filter(action="linkage.candidate.viewed", target_id=str(candidate.pk))
    assert viewed.count() == before + 1
    assert viewed.order_by("-seq").first().actor_id == client.user.pk  # type: ignore[union-attr]
    sides = _section(page, 'class="side-by-side"', "</table>")
    for record_id in (candidate.record_a_id, candidate.record_b_id):
        record = SourceRecord.objects.get(pk=record_id)
        for value in (record.given_name, record.surname, record.external_id):
            assert value in sides, value
        assert f'href="/linkage/persons/{record.person_id}/"' in sides
    assert "Cyrl" in sides
    assert "Latn" in sides
    # The first record's column comes first.
    a, b = (SourceRecord.objects.get(pk=r) for r in (candidate.record_a_id, candidate.record_b_id))
    assert sides.index(a.external_id) < sides.index(b.external_id)
    evidence = _section(page, 'id="h-evidence"', "</section>")
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td>', evidence)
    assert len(rows) == len(candidate.evidence) >= 5
    labels = [label for label, _l, _r in rows]
    assert {"Given name", "Surname (root)", "Birth date"} <= set(labels)
    given = next(e for e in candidate.evidence if e["field"] == "given")
    assert ("Given name", given["left"], given["right"]) in rows
    assert f"{round(candidate.probability * 100, 1)}%" in page
    assert 'data-key="a"' in page


def test_deciding_moves_to_the_next_pair_and_changes_the_state(client_for: Any) -> None:
    client = client_for(Role.REVIEWER)
    first, second, third = _pending()[:3]
    a, b = first.record_a_id, first.record_b_id
    response = client.post(f"/linkage/candidates/{first.pk}/decide/", {"decision": "same", "reason": ""})
    assert response.status_code == 302
    assert response["Location"] == f"/linkage/candidates/{second.pk}/"
    assert MatchCandidate.objects.get(pk=first.pk).state == MatchCandidate.State.ACCEPTED
    assert _person_of(a) == _person_of(b)
    response = client.post(f"/linkage/candidates/{second.pk}/decide/", {"decision": "different", "reason": "twins"})
    assert response["Location"] == f"/linkage/candidates/{third.pk}/"
    assert MatchCandidate.objects.get(pk=second.pk).state == MatchCandidate.State.REJECTED
    assert LinkDecision.objects.get(candidate=second).reason == "twins"
    response = client.post(f"/linkage/candidates/{third.pk}/decide/", {"decision": "defer"})
    assert MatchCandidate.objects.get(pk=third.pk).state == MatchCandidate.State.DEFERRED
    following = next_candidate()
    assert following is not None
    assert response["Location"] == f"/linkage/candidates/{following.pk}/"
    # A decided pair offers taking the decision back instead of the form; deciding it again is refused.
    page = _text(client.get(f"/linkage/candidates/{first.pk}/"))
    assert "Decided: the same person." in page
    assert 'id="decide"' not in page
    response = client.post(f"/linkage/candidates/{first.pk}/decide/", {"decision": "different"}, follow=True)
    assert "decided already" in _text(response)
    assert MatchCandidate.objects.get(pk=first.pk).state == MatchCandidate.State.ACCEPTED
    # No choice: nothing changes.
    client.post(f"/linkage/candidates/{following.pk}/decide/", {"decision": "perhaps"})
    assert MatchCandidate.objects.get(pk=following.pk).state == MatchCandidate.State.PENDING


def test_taking_a_decision_back_separates_the_persons_again(client_for: Any) -> None:
    client = client_for(Role.REGISTRAR)
    candidate = _pending()[0]
    a, b = candidate.record_a_id, candidate.record_b_id
    person_a, person_b = _person_of(a), _person_of(b)
    client.post(f"/linkage/candidates/{candidate.pk}/decide/", {"decision": "same"})
    assert _person_of(a) == _person_of(b)
    response = client.post(f"/linkage/candidates/{candidate.pk}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == f"/linkage/candidates/{candidate.pk}/"
    assert (_person_of(a), _person_of(b)) == (person_a, person_b)
    assert MatchCandidate.objects.get(pk=candidate.pk).state == MatchCandidate.State.PENDING
    page = _text(client.get(response["Location"]))
    assert "The decision was taken back" in page
    assert 'id="decide"' in page


def test_identity_page_lists_the_records_and_splits_them(client_for: Any) -> None:
    change = IdentityChange.objects.filter(run__isnull=False).order_by("id").first()
    assert change is not None
    person_id = change.person_id
    records = list(SourceRecord.objects.filter(person_id=person_id).order_by("id"))
    assert len(records) >= 2
    client = client_for(Role.REVIEWER)
    page = _text(client.get(f"/linkage/persons/{person_id}/"))
    for record in records:
        assert f'name="records" value="{record.pk}"' in page
        assert record.external_id in page
    assert f"person {change.other_id} merged into person {person_id}" in page
    assert f'action="/linkage/changes/{change.pk}/undo/"' in page
    absorbed = _text(client.get(f"/linkage/persons/{change.other_id}/"))
    assert f"This person was merged into person {person_id}." in absorbed
    moving = list(ChangedRecord.objects.filter(change=change).values_list("record_id", flat=True))
    # Without a reason, or with every record, nothing is split.
    client.post(f"/linkage/persons/{person_id}/split/", {"records": moving, "reason": ""})
    client.post(f"/linkage/persons/{person_id}/split/", {"records": [r.pk for r in records], "reason": "all of them"})
    assert SourceRecord.objects.filter(person_id=person_id).count() == len(records)
    response = client.post(f"/linkage/persons/{person_id}/split/", {"records": moving, "reason": "other papers"})
    assert response.status_code == 302
    new = Person.objects.get(records__pk=moving[0])
    assert new.pk != person_id
    assert response["Location"] == f"/linkage/persons/{new.pk}/"
    assert set(new.records.values_list("id", flat=True)) == set(moving)
    page = _text(client.get(response["Location"]))
    assert f"The records are now person {new.pk}." in page
    assert f"person {new.pk} split off from person {person_id}" in page


def test_undo_restores_the_merged_person(client_for: Any) -> None:
    change = IdentityChange.objects.filter(run__isnull=False).order_by("id").first()
    assert change is not None
    client = client_for(Role.REVIEWER)
    response = client.post(f"/linkage/changes/{change.pk}/undo/", {"reason": "not him"})
    assert response.status_code == 302
    assert response["Location"] == f"/linkage/persons/{change.other_id}/"
    change.refresh_from_db()
    assert change.undone_at is not None
    moved = set(ChangedRecord.objects.filter(change=change).values_list("record_id", flat=True))
    assert set(SourceRecord.objects.filter(person_id=change.other_id).values_list("id", flat=True)) == moved
    assert Person.objects.get(pk=change.other_id).merged_into_id is None
    page = _text(client.get(response["Location"]))
    assert f"person {change.other_id} is separate again" in page
    assert "undone" in page
    # Once is enough; a change that does not exist is not found.
    again = client.post(f"/linkage/changes/{change.pk}/undo/", follow=True)
    assert "already been undone" in _text(again)
    assert client.post("/linkage/changes/999999/undo/").status_code == 404


@pytest.mark.parametrize("role", NOT_REVIEWERS)
def test_roles_without_review_are_refused(client_for: Any, role: Role) -> None:
    candidate = _pending()[0]
    person_id = _person_of(candidate.record_a_id)
    client = client_for(role)
    for path in (
        "/linkage/",
        "/linkage/next/",
        f"/linkage/candidates/{candidate.pk}/",
        f"/linkage/persons/{person_id}/",
    ):
        assert client.get(path).status_code == 403, path
    for path, data in (
        (f"/linkage/candidates/{candidate.pk}/decide/", {"decision": "same"}),
        (f"/linkage/persons/{person_id}/split/", {"records": [candidate.record_a_id], "reason": "x"}),
        ("/linkage/run/", {}),
    ):
        assert client.post(path, data).status_code == 403, path
    assert MatchCandidate.objects.get(pk=candidate.pk).state == MatchCandidate.State.PENDING
    assert not AuditEvent.objects.filter(action="linkage.candidate.viewed", actor_id=client.user.pk).exists()


def test_reviewers_do_not_start_runs(client_for: Any) -> None:
    assert client_for(Role.REVIEWER).post("/linkage/run/").status_code == 403
    response = client_for(Role.REGISTRAR).post("/linkage/run/")
    assert response.status_code == 302
    assert re.fullmatch(r"/jobs/\d+/", response["Location"])


def test_a_pair_with_a_restricted_person_is_hidden_from_reviewers(client_for: Any, make_staff: Any) -> None:
    candidate = _pending()[0]
    request = subject_request_open(
        actor=SETUP, person_id=_person_of(candidate.record_b_id), kind="restrict", received_on=dt.date.today()
    )
    person_restrict(actor=make_staff(Role.ADMIN), request_id=request.pk)
    reviewer = client_for(Role.REVIEWER)
    assert reviewer.get(f"/linkage/candidates/{candidate.pk}/").status_code == 404
    assert reviewer.post(f"/linkage/candidates/{candidate.pk}/decide/", {"decision": "same"}).status_code == 404
    assert f'href="/linkage/candidates/{candidate.pk}/"' not in _text(reviewer.get("/linkage/"))
    assert reviewer.get("/linkage/next/")["Location"] != f"/linkage/candidates/{candidate.pk}/"
    admin = client_for(Role.ADMIN)
    assert admin.get(f"/linkage/candidates/{candidate.pk}/").status_code == 200
    assert MatchCandidate.objects.get(pk=candidate.pk).state == MatchCandidate.State.PENDING


def test_next_goes_to_the_most_probable_waiting_pair(client_for: Any) -> None:
    client = client_for(Role.REVIEWER)
    pending = _pending()
    response = client.get("/linkage/next/")
    assert response.status_code == 302
    assert response["Location"] == f"/linkage/candidates/{pending[0].pk}/"
    # "Next pair" on a pair's page (key N) skips it: the one after it, the deferred ones after the last
    # waiting one, then from the start again.
    page = _text(client.get(response["Location"]))
    assert f'href="/linkage/next/?after={pending[0].pk}" data-key="n"' in page
    assert client.get(f"/linkage/next/?after={pending[0].pk}")["Location"] == f"/linkage/candidates/{pending[1].pk}/"
    candidate_decide(actor=client.user, candidate_id=pending[1].pk, decision="defer")
    assert client.get(f"/linkage/next/?after={pending[0].pk}")["Location"] == f"/linkage/candidates/{pending[2].pk}/"
    last = f"/linkage/next/?after={pending[-1].pk}"
    assert client.get(last)["Location"] == f"/linkage/candidates/{pending[1].pk}/"
    after_deferred = f"/linkage/next/?after={pending[1].pk}"
    assert client.get(after_deferred)["Location"] == f"/linkage/candidates/{pending[0].pk}/"
    assert client.get("/linkage/next/?after=99999999999999999999999")["Location"] == (
        f"/linkage/candidates/{pending[0].pk}/"
    )
    for candidate in _pending():
        candidate_decide(actor=client.user, candidate_id=candidate.pk, decision="different")
    assert client.get("/linkage/next/")["Location"] == f"/linkage/candidates/{pending[1].pk}/"  # deferred
    candidate_decide(actor=client.user, candidate_id=pending[1].pk, decision="same")
    response = client.get("/linkage/next/", follow=True)
    assert response.redirect_chain[-1][0] == "/linkage/"
    assert "No pair is waiting for review." in _text(response)
