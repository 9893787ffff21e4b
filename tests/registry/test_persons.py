"""Persons: eligibility from the family graph, family links, value decisions and provenance, consent, and the
data subject's rights (access, restriction, erasure). The family-graph engine is tested on its own first."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

import pytest
from django.utils import timezone

from homeward.audit.models import AuditEvent
from homeward.audit.services import actor_of
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.partialdate import PartialDate
from homeward.gazetteer.models import Settlement
from homeward.registry.engine.family import compute_generations, find_cycles, is_ancestor, parent_born_after_child
from homeward.registry.engine.records import name_keys
from homeward.registry.models import (
    Consent,
    ImportBatch,
    Kinship,
    Person,
    Source,
    SourceRecord,
    SubjectRequest,
    ValueDecision,
)
from homeward.registry.selectors import (
    eligibility_chain,
    family_tree,
    person_export,
    person_provenance,
    person_search,
)
from homeward.registry.services.persons import (
    consent_record,
    consent_withdraw,
    displacement_add,
    eligibility_recompute,
    eligibility_update,
    event_save,
    kinship_add,
    kinship_remove,
    origin_region_set,
    person_choose_value,
    person_erase,
    person_refresh_values,
    person_restrict,
    subject_access_fulfil,
    subject_request_open,
)
from tests.conftest import SETUP
from tests.registry.conftest import ORIGIN_GID, ORIGIN_NAME_GID

# --- the engine, without a database --------------------------------------------------------------------


def test_generations_count_parent_links_down_from_the_nearest_displaced_ancestor() -> None:
    # 1 displaced; 1 -> 2 -> 3 -> 4; 5 displaced too and parent of 4; 6 -> 7 with no displaced ancestor.
    edges = [(1, 2), (2, 3), (3, 4), (5, 4), (6, 7), (2, 8)]
    result = compute_generations({1, 5}, edges)
    assert result.generation == {1: 0, 2: 1, 3: 2, 4: 1, 5: 0, 8: 2}
    assert result.via[4] == 5  # the nearer ancestor
    assert result.via[3] == 2
    assert compute_generations([], edges).generation == {}
    # A root is generation 0 even when it also descends from another displaced person.
    assert compute_generations([1, 2], [(1, 2), (2, 3)]).generation == {1: 0, 2: 0, 3: 1}


def test_cycles_are_found_without_the_descendants_hanging_off_them() -> None:
    assert find_cycles([(1, 2), (2, 3), (3, 4)]) == set()
    assert find_cycles([(1, 2), (2, 1)]) == {1, 2}
    assert find_cycles([(1, 2), (2, 3), (3, 1), (3, 4), (4, 5), (0, 1)]) == {1, 2, 3}
    assert find_cycles([(7, 7)]) == {7}
    assert find_cycles([(1, 2), (2, 1), (5, 6), (6, 5), (2, 5)]) == {1, 2, 5, 6}
    assert find_cycles([]) == set()


def test_ancestry_and_impossible_birth_dates() -> None:
    parents = {3: [2], 2: [1], 5: [4]}

    def parents_of(ids: list[int]) -> list[int]:
        return [p for i in ids for p in parents.get(i, [])]

    assert is_ancestor(1, 3, parents_of)
    assert is_ancestor(3, 3, parents_of)
    assert not is_ancestor(4, 3, parents_of)
    assert not is_ancestor(3, 1, parents_of)
    # Only dates that prove it make a parent born after the child.
    assert parent_born_after_child(PartialDate(1951), PartialDate(1950, 12, 31))
    assert not parent_born_after_child(PartialDate(1950), PartialDate(1950, 6))
    assert not parent_born_after_child(PartialDate(1950, 7), PartialDate(1950))
    assert not parent_born_after_child(None, PartialDate(1950))


# --- persons in the database --------------------------------------------------------------------------


def make_person(given: str, surname: str, *, born: str = "", sex: str = "") -> Person:
    keys = name_keys(given, surname)
    return Person.objects.create(  # type: ignore[misc]
        given_name=given,
        surname=surname,
        sex=sex,
        birth_date=PartialDate.parse(born) if born else None,
        given_folded=keys[0],
        surname_folded=keys[1],
        surname_skeleton=keys[2],
    )


def settlement(gid: str) -> int:
    return Settlement.objects.get(gid=gid).pk


def displace(person: Person, gid: str = ORIGIN_GID, *, event: str = "wave-1", date: str = "1950") -> None:
    displacement_add(
        actor=SETUP,
        person_id=person.pk,
        settlement_id=settlement(gid),
        date_from=PartialDate.parse(date) if date else None,
        event_code=event,
        evidence="interview 2024-03",
    )


def link(parent: Person, child: Person) -> Kinship:
    return kinship_add(actor=SETUP, kind="parent", parent_id=parent.pk, child_id=child.pk)


def generations(*persons: Person) -> list[int | None]:
    return [Person.objects.get(pk=p.pk).generation for p in persons]


@pytest.fixture
def region(gazetteer: None) -> None:
    """The origin region: the historical district of ORIGIN_GID (hw:unit:d4) only."""
    origin_region_set(actor=SETUP, unit_codes=["hw:unit:d4"])


@pytest.fixture
def family(region: None, waves: None) -> dict[str, Person]:
    """Əli (displaced 1950) and Gülnarə; their son Rauf; Rauf's daughter Leyla by Sevinc; Leyla's son Elçin."""
    people = {
        "ali": make_person("Əli", "Məmmədov", born="1920", sex="M"),
        "gulnare": make_person("Gülnarə", "Məmmədova", born="1925", sex="F"),
        "rauf": make_person("Rauf", "Məmmədov", born="1950", sex="M"),
        "sevinc": make_person("Sevinc", "Quliyeva", born="1955", sex="F"),
        "leyla": make_person("Leyla", "Məmmədova", born="1978", sex="F"),
        "elcin": make_person("Elçin", "Həsənov", born="2001", sex="M"),
    }
    displace(people["ali"])
    link(people["ali"], people["rauf"])
    link(people["gulnare"], people["rauf"])
    link(people["rauf"], people["leyla"])
    link(people["sevinc"], people["leyla"])
    link(people["leyla"], people["elcin"])  # through the mother
    return people


@pytest.mark.django_db
def test_descendants_of_the_displaced_are_generations_through_either_parent(family: dict[str, Person]) -> None:
    ali, gulnare, rauf, sevinc, leyla, elcin = family.values()
    # Kept up to date link by link...
    assert generations(ali, gulnare, rauf, sevinc, leyla, elcin) == [0, None, 1, None, 2, 3]
    # ...and the same when computed from scratch.
    Person.objects.update(generation=None, eligible=False)
    counts = eligibility_recompute(actor=SETUP)
    assert counts == {"persons": 6, "eligible": 4, "displaced": 1, "links": 5, "changed": 4}
    assert generations(ali, gulnare, rauf, sevinc, leyla, elcin) == [0, None, 1, None, 2, 3]
    assert set(Person.objects.filter(eligible=True)) == {ali, rauf, leyla, elcin}
    assert eligibility_recompute(actor=SETUP)["changed"] == 0
    # A displaced mother makes her descendants nearer generations.
    displace(sevinc, date="1989", event="wave-2")
    assert generations(sevinc, leyla, elcin) == [0, 1, 2]


@pytest.mark.django_db
def test_a_dated_displacement_without_event_qualifies_within_a_qualifying_wave(region: None, waves: None) -> None:
    dated = make_person("Həsən", "Əliyev", born="1930")
    displace(dated, event="", date="1951-04")
    assert generations(dated) == [0]
    outside = make_person("Hüseyn", "Əliyev", born="1930")
    displace(outside, event="", date="1960")
    assert generations(outside) == [None]


@pytest.mark.django_db
def test_no_eligibility_from_a_non_qualifying_event_or_outside_the_origin_region(region: None, waves: None) -> None:
    event_save(actor=SETUP, code="labour", label="labour migration", start=PartialDate(1950), end=None,
               qualifies=False)  # fmt: skip
    labour = make_person("Tofiq", "Quliyev", born="1930")
    displace(labour, event="labour", date="1950")  # within wave-1's years, but the event does not qualify
    elsewhere = make_person("Vaqif", "Quliyev", born="1930")
    displace(elsewhere, ORIGIN_NAME_GID)  # hw:unit:d3: outside the region
    child = make_person("Nazim", "Quliyev", born="1960")
    link(labour, child)
    link(elsewhere, child)
    assert generations(labour, elsewhere, child) == [None, None, None]
    eligibility_recompute(actor=SETUP)
    assert not Person.objects.filter(eligible=True).exists()
    # With the whole historical region as the origin, the settlement outside d4 counts.
    origin_region_set(actor=SETUP, unit_codes=["hw:unit:old"])
    eligibility_recompute(actor=SETUP)
    assert generations(labour, elsewhere, child) == [None, 0, 1]


@pytest.mark.django_db
def test_adding_and_removing_a_link_updates_the_whole_subtree(family: dict[str, Person]) -> None:
    ali = family["ali"]
    orphan = make_person("Kamran", "Məmmədov", born="1948", sex="M")
    son = make_person("Orxan", "Məmmədov", born="1975", sex="M")
    grandson = make_person("Tural", "Məmmədov", born="2000", sex="M")
    link(orphan, son)
    link(son, grandson)
    assert generations(orphan, son, grandson) == [None, None, None]

    added = link(ali, orphan)
    assert generations(orphan, son, grandson) == [1, 2, 3]
    assert Person.objects.get(pk=grandson.pk).eligible

    with pytest.raises(ValidationError):
        kinship_remove(actor=SETUP, link_id=added.pk, reason=" ")
    kinship_remove(actor=SETUP, link_id=added.pk, reason="recorded in error")
    assert generations(orphan, son, grandson) == [None, None, None]
    assert not Person.objects.filter(pk__in=[orphan.pk, son.pk, grandson.pk], eligible=True).exists()
    assert AuditEvent.objects.filter(action="registry.kinship.removed", target_id=str(added.pk)).exists()
    with pytest.raises(NotFoundError):
        kinship_remove(actor=SETUP, link_id=added.pk, reason="again")
    # eligibility_update on people outside any link changes nothing.
    assert eligibility_update(actor=SETUP, person_ids=[ali.pk]) == 0


@pytest.mark.django_db
def test_links_that_cannot_be_are_refused(family: dict[str, Person]) -> None:
    ali, rauf, elcin = family["ali"], family["rauf"], family["elcin"]
    links = Kinship.objects.count()
    # Without dates, only the family graph can tell a cycle.
    first, second, third = make_person("Nadir", "Qasımov"), make_person("Natiq", "Qasımov"), make_person("Zaur", "")
    link(first, second)
    link(second, third)
    links = Kinship.objects.count()
    with pytest.raises(ValidationError, match="own ancestor"):
        link(third, first)
    with pytest.raises(ValidationError, match="own ancestor"):
        link(second, first)
    # With dates, a descendant is also born after their ancestor: that is said first.
    with pytest.raises(ValidationError, match="born after the child"):
        link(elcin, ali)
    late = make_person("Samir", "Məmmədov", born="1990", sex="M")
    with pytest.raises(ValidationError, match="born after the child"):
        link(late, rauf)
    with pytest.raises(ValidationError, match="themselves"):
        link(rauf, rauf)
    with pytest.raises(ValidationError, match="already linked"):
        link(ali, rauf)
    assert Kinship.objects.count() == links
    # Spouses are stored once, the lower id first, whichever way they are given.
    spouse = kinship_add(actor=SETUP, kind="spouse", parent_id=family["gulnare"].pk, child_id=ali.pk)
    assert (spouse.parent_id, spouse.child_id) == (ali.pk, family["gulnare"].pk)
    with pytest.raises(ValidationError, match="already linked"):
        kinship_add(actor=SETUP, kind="spouse", parent_id=ali.pk, child_id=family["gulnare"].pk)


@pytest.mark.django_db
def test_the_eligibility_chain_walks_up_to_the_displaced_ancestor(family: dict[str, Person]) -> None:
    elcin = Person.objects.get(pk=family["elcin"].pk)
    chain = eligibility_chain(elcin)
    assert [(step.person.pk, step.generation) for step in chain] == [
        (family["elcin"].pk, 3),
        (family["leyla"].pk, 2),
        (family["rauf"].pk, 1),
        (family["ali"].pk, 0),
    ]
    # Each step shows the link up to the next one, its parent; only the last was displaced, and links no further.
    for lower, upper in itertools.pairwise(chain):
        assert lower.link is not None
        assert (lower.link.parent_id, lower.link.child_id) == (upper.person.pk, lower.person.pk)
    assert chain[-1].link is None
    assert [len(step.displacements) for step in chain] == [0, 0, 0, 1]
    assert chain[-1].displacements[0].settlement.gid == ORIGIN_GID  # type: ignore[union-attr]
    assert eligibility_chain(Person.objects.get(pk=family["sevinc"].pk)) == []


@pytest.mark.django_db
def test_the_family_tree_shows_at_most_width_children_and_counts_the_rest(family: dict[str, Person]) -> None:
    rauf = family["rauf"]
    for i in range(5):
        link(rauf, make_person(f"Uşaq{i}", "Məmmədov", born=f"198{i}"))
    ancestors, descendants = family_tree(Person.objects.get(pk=rauf.pk), up=2, down=2, width=3)
    # Up: father first, then mother; nobody above them.
    assert [n.person.pk for n in ancestors.children] == [family["ali"].pk, family["gulnare"].pk]
    assert [n.depth for n in ancestors.children] == [-1, -1]
    assert all(not n.children for n in ancestors.children)
    # Down: six children, three shown (the eldest first), three counted.
    assert len(descendants.children) == 3
    assert descendants.more == 3
    assert descendants.children[0].person.pk == family["leyla"].pk
    leyla = descendants.children[0]
    assert [n.person.pk for n in leyla.children] == [family["elcin"].pk]
    assert leyla.children[0].depth == 2
    assert leyla.more == 0
    _, shallow = family_tree(Person.objects.get(pk=rauf.pk), down=1, width=12)
    assert len(shallow.children) == 6
    assert shallow.more == 0
    assert all(not n.children for n in shallow.children)


# --- values, records and decisions ---------------------------------------------------------------------


def add_record(person: Person, source_code: str, trust: int, external_id: str, **values: Any) -> SourceRecord:
    source, _ = Source.objects.get_or_create(code=source_code, defaults={"name": source_code, "trust": trust})
    batch, _ = ImportBatch.objects.get_or_create(
        source=source, sha256=source_code * 2, defaults={"filename": f"{source_code}.csv", "format": "csv"}
    )
    given, surname = values.get("given_name", ""), values.get("surname", "")
    keys = name_keys(given, surname)
    return SourceRecord.objects.create(
        source=source,
        batch=batch,
        external_id=external_id,
        content_hash=hashlib.md5(f"{external_id}{values}".encode(), usedforsecurity=False).hexdigest(),
        row_number=2,
        person=person,
        given_folded=keys[0],
        surname_folded=keys[1],
        surname_skeleton=keys[2],
        **values,
    )


@pytest.fixture
def recorded(db: Any) -> tuple[Person, list[SourceRecord]]:
    """A person known to three sources (as linkage would have merged them), which disagree on two values."""
    person = make_person("", "")
    records = [
        add_record(person, "az-registry", 5, "azr-1", given_name="Gülnarə", surname="Məmmədova",
                   birth_date=PartialDate(1925, 3, 8)),
        add_record(person, "ru-registry", 4, "rur-1", given_name="Гюльнара", surname="Мамедова",
                   birth_date=PartialDate(1925, 3, 8)),
        add_record(person, "portal", 2, "web-1", given_name="Gulnara", surname="Məmmədova",
                   birth_date=PartialDate(1926)),
    ]  # fmt: skip
    person_refresh_values(person_ids=[person.pk])
    person.refresh_from_db()
    return person, records


@pytest.mark.django_db
def test_best_values_come_from_the_most_trusted_source(recorded: tuple[Person, list[SourceRecord]]) -> None:
    person, _ = recorded
    assert (person.given_name, person.surname, person.birth_date) == ("Gülnarə", "Məmmədova", PartialDate(1925, 3, 8))
    assert person.surname_folded == "mamadova"


@pytest.mark.django_db
def test_provenance_lists_supporting_and_contradicting_records(recorded: tuple[Person, list[SourceRecord]]) -> None:
    person, (azr, rur, web) = recorded
    fields = {entry.field: entry for entry in person_provenance(person)}
    surname = fields["surname"]
    assert surname.value == "Məmmədova"
    assert surname.supporting == [azr, web]  # most trusted first
    assert [(e.value, e.records) for e in surname.contradicting] == [("Мамедова", [rur])]
    birth = fields["birth_date"]
    assert birth.supporting == [azr, rur]
    assert [(e.value, e.records) for e in birth.contradicting] == [("1926", [web])]
    assert fields["patronymic"].supporting == []
    assert fields["patronymic"].contradicting == []
    assert surname.decision is None


@pytest.mark.django_db
def test_choosing_a_value_from_a_record_is_a_decision_that_wins_over_sources(
    recorded: tuple[Person, list[SourceRecord]], make_staff: Any
) -> None:
    person, (_azr, rur, _web) = recorded
    reviewer = actor_of(make_staff())

    decision = person_choose_value(actor=reviewer, person_id=person.pk, field="given_name", record_id=rur.pk)

    person.refresh_from_db()
    assert person.given_name == "Гюльнара"
    assert person.given_folded == name_keys("Гюльнара", "")[0]
    assert (decision.field, decision.value, decision.previous) == ("given_name", "Гюльнара", "Gülnarə")
    assert decision.source_record == rur
    assert decision.decided_by_id == reviewer.user_id
    event = AuditEvent.objects.get(action="registry.person.value_chosen")
    assert (event.target_type, event.target_id) == ("registry.person", str(person.pk))
    assert event.data == {"field": "given_name", "record": rur.pk, "typed": False}
    assert event.actor_id == reviewer.user_id
    # The sources are read again (a new import): the decision stays.
    person_refresh_values(person_ids=[person.pk])
    person.refresh_from_db()
    assert person.given_name == "Гюльнара"
    provenance = {entry.field: entry for entry in person_provenance(person)}
    assert provenance["given_name"].decision == decision
    assert provenance["given_name"].supporting == [rur]


@pytest.mark.django_db
def test_a_typed_value_needs_a_reason_and_a_valid_value(recorded: tuple[Person, list[SourceRecord]]) -> None:
    person, records = recorded
    with pytest.raises(ValidationError, match="reason"):
        person_choose_value(actor=SETUP, person_id=person.pk, field="birth_date", value="1925-03")
    with pytest.raises(ValidationError):
        person_choose_value(actor=SETUP, person_id=person.pk, field="birth_date", value="8 March", reason="passport")
    with pytest.raises(ValidationError, match="no such field"):
        person_choose_value(actor=SETUP, person_id=person.pk, field="generation", value="0", reason="x")
    other = make_person("Leyla", "Məmmədova")
    with pytest.raises(ValidationError, match="not one of this person's"):
        person_choose_value(actor=SETUP, person_id=other.pk, field="surname", record_id=records[0].pk)
    assert not ValueDecision.objects.exists()
    assert not AuditEvent.objects.filter(action="registry.person.value_chosen").exists()

    decision = person_choose_value(
        actor=SETUP, person_id=person.pk, field="birth_date", value="1925-03", reason="passport seen at interview"
    )

    person.refresh_from_db()
    assert person.birth_date == PartialDate(1925, 3)
    assert (decision.value, decision.previous, decision.reason) == (
        "1925-03",
        "1925-03-08",
        "passport seen at interview",
    )
    assert decision.source_record is None
    assert AuditEvent.objects.get(action="registry.person.value_chosen").data == {
        "field": "birth_date",
        "record": None,
        "typed": True,
    }


# --- search -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["Мамедова", "Mammadova", "mamedova", "MƏMMƏDOVA", "Mamedova Gul", "gülnarə"])
def test_a_name_is_found_however_it_is_written(query: str) -> None:
    gulnare = make_person("Gülnarə", "Məmmədova")
    make_person("Gülnarə", "Həsənova")
    make_person("Leyla", "Quliyeva")
    found = list(person_search(query=query))
    assert gulnare in found
    assert all(p.surname != "Quliyeva" for p in found)


@pytest.mark.django_db
def test_search_finds_nobody_for_another_name() -> None:
    make_person("Gülnarə", "Məmmədova")
    assert list(person_search(query="Quliyeva")) == []
    assert list(person_search(query="Mamedova Leyla")) == []


# --- consent ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("sheets")
def test_consent_is_recorded_and_withdrawn(make_staff: Any) -> None:
    person = make_person("Leyla", "Məmmədova")
    registrar = actor_of(make_staff())
    with pytest.raises(ValidationError, match="partner"):
        consent_record(actor=registrar, person_id=person.pk, purpose="sharing", sheet_version="v2", channel="portal")
    with pytest.raises(ValidationError):
        consent_record(actor=registrar, person_id=person.pk, purpose="contact", sheet_version=" ", channel="portal")
    with pytest.raises(ValidationError):
        consent_record(actor=registrar, person_id=person.pk, purpose="marketing", sheet_version="v2", channel="portal")

    consent = consent_record(
        actor=registrar, person_id=person.pk, purpose="sharing", sheet_version="v2", channel="interview",
        partner="Return Housing Agency",
    )  # fmt: skip

    assert consent.withdrawn_at is None
    assert consent.recorded_by_id == registrar.user_id
    assert AuditEvent.objects.filter(action="registry.consent.given", target_id=str(consent.pk)).exists()
    withdrawn = consent_withdraw(actor=registrar, consent_id=consent.pk)
    assert withdrawn.withdrawn_at is not None
    first = withdrawn.withdrawn_at
    assert consent_withdraw(actor=registrar, consent_id=consent.pk).withdrawn_at == first
    assert AuditEvent.objects.filter(action="registry.consent.withdrawn").count() == 1
    with pytest.raises(NotFoundError):
        consent_withdraw(actor=registrar, consent_id=consent.pk + 100)


# --- the data subject's rights -------------------------------------------------------------------------


def open_request(person: Person, kind: str) -> SubjectRequest:
    return subject_request_open(
        actor=SETUP, person_id=person.pk, kind=kind, received_on=timezone.localdate(), channel="letter"
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("sheets")
def test_an_access_request_exports_records_and_consents(recorded: tuple[Person, list[SourceRecord]]) -> None:
    person, _records = recorded
    consent_record(actor=SETUP, person_id=person.pk, purpose="registration", sheet_version="v1", channel="paper")
    with pytest.raises(ValidationError, match="future"):
        subject_request_open(
            actor=SETUP, person_id=person.pk, kind="access", received_on=timezone.localdate() + dt.timedelta(days=1)
        )
    request = open_request(person, "access")
    assert request.due_on == request.received_on + dt.timedelta(days=30)

    export = person_export(person)

    assert export["person"]["surname"] == "Məmmədova"
    assert {(r["source"], r["record_id"]) for r in export["source_records"]} == {
        ("az-registry", "azr-1"),
        ("ru-registry", "rur-1"),
        ("portal", "web-1"),
    }
    assert [c["purpose"] for c in export["consents"]] == ["registration"]
    assert [(r["kind"], r["state"]) for r in export["requests"]] == [("access", "open")]
    json.dumps(export)  # plain JSON, to hand over

    done = subject_access_fulfil(actor=SETUP, request_id=request.pk, export=export)
    assert done.state == "done"
    digest = hashlib.sha256(json.dumps(export, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert digest in done.outcome
    with pytest.raises(ValidationError, match="already closed"):
        subject_access_fulfil(actor=SETUP, request_id=request.pk, export=export)
    assert SubjectRequest.objects.get(pk=request.pk).outcome == done.outcome


@pytest.mark.django_db
def test_restriction_hides_the_person_from_search() -> None:
    person = make_person("Leyla", "Məmmədova")
    other = make_person("Gülnarə", "Məmmədova")
    request = open_request(person, "restrict")
    with pytest.raises(ValidationError, match="kind"):
        person_erase(actor=SETUP, request_id=request.pk)

    person_restrict(actor=SETUP, request_id=request.pk)

    assert Person.objects.get(pk=person.pk).restricted
    assert list(person_search(query="Məmmədova")) == [other]
    assert person in person_search(query="Məmmədova", include_restricted=True)
    assert SubjectRequest.objects.get(pk=request.pk).state == "done"
    with pytest.raises(ValidationError, match="already closed"):
        person_restrict(actor=SETUP, request_id=request.pk)


@pytest.mark.django_db
@pytest.mark.usefixtures("sheets")
def test_erasure_blanks_the_person_and_their_records_and_keeps_the_exceptions(
    recorded: tuple[Person, list[SourceRecord]], family: dict[str, Person]
) -> None:
    person, records = recorded
    link(family["ali"], person)
    consent = consent_record(actor=SETUP, person_id=person.pk, purpose="contact", sheet_version="v1", channel="phone")
    assert Person.objects.get(pk=person.pk).generation == 1
    request = open_request(person, "erase")

    person_erase(actor=SETUP, request_id=request.pk, exceptions="pending property claim: birth date kept on paper")

    erased = Person.objects.get(pk=person.pk)
    assert (erased.given_name, erased.surname, erased.birth_date) == ("", "", None)
    assert (erased.given_folded, erased.surname_folded, erased.surname_skeleton) == ("", "", "")
    assert erased.erased_at is not None
    assert erased.restricted
    assert (erased.generation, erased.eligible) == (None, False)
    for record in SourceRecord.objects.filter(pk__in=[r.pk for r in records]):
        assert (record.given_name, record.surname, record.birth_date, record.raw) == ("", "", None, {})
        # Nor do the name keys made from the names remain.
        assert (record.given_folded, record.surname_folded, record.surname_skeleton) == ("", "", "")
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is not None
    closed = SubjectRequest.objects.get(pk=request.pk)
    assert closed.state == "done"
    assert closed.exceptions == "pending property claim: birth date kept on paper"
    assert "3 source records" in closed.outcome
    assert person not in person_search(query="Gulnara", include_restricted=True)
    assert person not in person_search(query="Məmmədova", include_restricted=True)
    # The erasure cannot be done twice, and an erased person takes no new values.
    with pytest.raises(ValidationError, match="already closed"):
        person_erase(actor=SETUP, request_id=request.pk)
    with pytest.raises(ValidationError, match="erased"):
        person_choose_value(actor=SETUP, person_id=person.pk, field="surname", value="X", reason="y")
    person_refresh_values(person_ids=[person.pk])
    assert Person.objects.get(pk=person.pk).surname == ""


@pytest.mark.django_db
@pytest.mark.usefixtures("sheets")
def test_the_signed_in_user_given_as_actor_is_recorded_as_who_did_it(
    recorded: tuple[Person, list[SourceRecord]], make_staff: Any
) -> None:
    """The pages pass the signed-in user itself as the actor (not an audit Actor): it is still who decided."""
    person, records = recorded
    user = make_staff()
    decision = person_choose_value(actor=user, person_id=person.pk, field="surname", record_id=records[1].pk)
    child = make_person("Leyla", "Məmmədova")
    kinship = kinship_add(actor=user, kind="parent", parent_id=person.pk, child_id=child.pk)
    consent = consent_record(actor=user, person_id=person.pk, purpose="contact", sheet_version="v1", channel="phone")
    request = subject_request_open(actor=user, person_id=person.pk, kind="restrict", received_on=timezone.localdate())
    person_restrict(actor=user, request_id=request.pk)

    assert ValueDecision.objects.get(pk=decision.pk).decided_by == user
    assert Kinship.objects.get(pk=kinship.pk).recorded_by == user
    assert Consent.objects.get(pk=consent.pk).recorded_by == user
    assert SubjectRequest.objects.get(pk=request.pk).handled_by == user
    assert AuditEvent.objects.filter(action="registry.person.value_chosen", actor_id=user.pk).exists()
