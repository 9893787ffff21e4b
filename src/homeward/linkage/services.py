"""Record linkage in the registry: a run over all current records, reviewers' decisions, merges and splits.

A run scores the candidate pairs of every current source record (the engine), then clusters them with the
registry's own knowledge: records of one person stay together (earlier merges and reviewers' "same"
decisions), reviewers' "different" decisions never end up in one person, and a population register
(a source of kind ``registry``) holds each person once. Clusters joined at or above the sure threshold
merge their persons; pairs between the review and the sure threshold that still belong to different
persons wait in the review queue. A run never splits a person: only a reviewer does.

Every merge and split is an ``IdentityChange`` with the records it moved, audited, and undoable.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.partialdate import PartialDate
from homeward.core.progress import NullProgress, Progress
from homeward.linkage.engine import model as m
from homeward.linkage.engine.cluster import cluster_pairs
from homeward.linkage.engine.run import CLUSTER_FLOOR, evidence_for, score_records
from homeward.linkage.models import ChangedRecord, IdentityChange, LinkageRun, LinkDecision, MatchCandidate
from homeward.linkage.selectors import linkage_records, registry_sources_once
from homeward.registry.engine.family import parent_born_after_child
from homeward.registry.models import (
    Consent,
    Displacement,
    Household,
    HouseholdMember,
    Kinship,
    Person,
    SourceRecord,
    SubjectRequest,
)
from homeward.registry.services.bulk import db_datetime, insert_ignoring_duplicates, insert_rows, table
from homeward.registry.services.persons import eligibility_update, person_refresh_values

log = logging.getLogger("homeward.linkage")

MAX_QUEUED = 100_000
ABANDONED_AFTER_HOURS = 12  # review items kept per run, the most probable first


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


# --- a run ----------------------------------------------------------------------------------------------


def linkage_run(*, actor: Any, progress: Progress | None = None, retrain: bool = False) -> LinkageRun:
    """Link every current source record (see the module's docstring). Returns the finished run."""
    progress = progress or NullProgress()
    who = actor_of(actor)
    with transaction.atomic():
        # A run's work is written in one transaction at its end: a run still marked running long after it
        # started was stopped (a killed process) and left nothing half-done; it is closed as failed.
        stale = timezone.now() - dt.timedelta(hours=ABANDONED_AFTER_HOURS)
        for abandoned in LinkageRun.objects.filter(state=LinkageRun.State.RUNNING, started_at__lt=stale):
            LinkageRun.objects.filter(pk=abandoned.pk).update(
                state=LinkageRun.State.FAILED, finished_at=timezone.now(), error="stopped before it finished"
            )
            audit_record(actor=who, action="linkage.run.abandoned", target=abandoned)
        if LinkageRun.objects.filter(state=LinkageRun.State.RUNNING).exists():
            raise ValidationError("a linkage run is already going on", [("linkage", "state", "running")])
        run = LinkageRun.objects.create(started_by_id=who.user_id, sure=m.SURE, review=m.REVIEW)
        audit_record(actor=who, action="linkage.run.started", target=run, data={"retrain": retrain})
    try:
        return _run(run, who, progress, retrain=retrain)
    except Exception as exc:
        with transaction.atomic():
            LinkageRun.objects.filter(pk=run.pk).update(
                state=LinkageRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
            )
            audit_record(actor=who, action="linkage.run.failed", target=run, data={"error": str(exc)[:500]})
        raise


def _run(run: LinkageRun, who: Any, progress: Progress, *, retrain: bool) -> LinkageRun:
    progress.start(100, "reading records")
    records, person_of = linkage_records()
    count = records.num_rows
    # The model of the last run that trained one; a run that had to use the shipped model (too few records, or
    # training failed) does not keep the registry from training once it can.
    previous = (
        LinkageRun.objects.filter(state=LinkageRun.State.DONE, trained=True).exclude(model="").order_by("-id").first()
    )
    model = json.loads(previous.model) if previous is not None and not retrain else None
    shown = [0]

    def step(message: str, done: float) -> None:
        percent = int(5 + done * 70)
        progress.advance(max(0, percent - shown[0]), message)
        shown[0] = max(shown[0], percent)

    # Weak pairs are scored too, as link-file does: clustering weighs every scored pair between two clusters
    # before joining them, which is what keeps a chain of strong pairs from merging people who differ.
    scored = score_records(records, model=model, floor=CLUSTER_FLOOR, step=step)
    pairs = scored.pairs
    progress.advance(max(0, 75 - shown[0]), "clustering")
    # Records of one person stay together; reviewers' decisions bind.
    by_person: dict[int, list[str]] = defaultdict(list)
    for record_id, person_id in person_of.items():
        by_person[person_id].append(record_id)
    must = [(ids[0], other) for ids in by_person.values() if len(ids) > 1 for other in ids[1:]]
    must += scored.must  # exact copies of a record: left out of scoring, joined to the record they copy
    decisions = list(LinkDecision.objects.filter(revoked_at__isnull=True).values_list("record_a", "record_b", "same"))
    known = set(person_of)
    must += [(str(a), str(b)) for a, b, same in decisions if same and str(a) in known and str(b) in known]
    cannot = [(str(a), str(b)) for a, b, same in decisions if not same and str(a) in known and str(b) in known]
    clusters, _refused = cluster_pairs(
        scored.prepared.table["unique_id"],
        scored.prepared.table["source"],
        pairs["record_id_l"],
        pairs["record_id_r"],
        pairs["match_probability"],
        threshold=m.SURE,
        duplicate_free=registry_sources_once(),
        must=must,
        cannot=cannot,
        years=scored.prepared.table["birth_year"],
    )
    # Persons that a cluster joins: the one with most records (then the oldest) absorbs the others.
    persons_in: dict[str, set[int]] = defaultdict(set)
    for record_id, cluster_id in zip(
        clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True
    ):
        persons_in[cluster_id].add(person_of[record_id])
    sizes = Counter(person_of.values())
    merges: list[tuple[int, int]] = []
    for persons in persons_in.values():
        if len(persons) > 1:
            survivor = min(persons, key=lambda p: (-sizes[p], p))
            merges.extend((survivor, other) for other in sorted(persons) if other != survivor)
    progress.advance(5, "merging")
    cluster_of = dict(zip(clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True))
    decided = {(a, b) for a, b, _same in decisions}
    review = [
        (int(a), int(b), p, w)
        for a, b, p, w in zip(
            pairs["record_id_l"].to_pylist(),
            pairs["record_id_r"].to_pylist(),
            pairs["match_probability"].to_pylist(),
            pairs["match_weight"].to_pylist(),
            strict=True,
        )
        # Sure pairs that clustering kept apart (a register's two records, people born years apart, or
        # other records that disagree) are for a reviewer too.
        if p >= m.REVIEW and cluster_of[a] != cluster_of[b]
    ]
    review = [r for r in review if _ordered(r[0], r[1]) not in decided]
    review.sort(key=lambda r: -r[2])
    review = review[:MAX_QUEUED]
    progress.advance(5, "weighing the evidence of uncertain pairs")
    evidence = evidence_for(scored, [(str(a), str(b)) for a, b, _p, _w in review])
    with transaction.atomic():
        merged = _merge_many(_still_identities(merges), who, run=run)
        queued = _queue(run, review, evidence)
        LinkageRun.objects.filter(pk=run.pk).update(
            state=LinkageRun.State.DONE,
            finished_at=timezone.now(),
            records=count,
            pairs=sum(1 for p in pairs["match_probability"].to_pylist() if p >= m.REVIEW),
            merged=merged,
            queued=queued,
            trained=scored.trained,
            model=json.dumps(scored.model),
            notices=scored.notices + list(scored.unusable.lines()),
            seconds={k: round(v, 2) for k, v in scored.seconds.items()},
        )
        audit_record(
            actor=who,
            action="linkage.run.completed",
            target=run,
            data={"records": count, "merged": merged, "queued": queued, "trained": scored.trained},
        )
    progress.advance(max(0, 100 - shown[0] - 15), "done")
    run.refresh_from_db()
    return run


def _queue(run: LinkageRun, review: list[tuple[int, int, float, float]], evidence: dict[Any, Any]) -> int:
    """The run's review queue: its uncertain pairs, replacing what earlier runs left waiting."""
    waiting = {
        (c.record_a_id, c.record_b_id): c
        for c in MatchCandidate.objects.filter(
            state__in=[MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED]
        ).only("id", "record_a_id", "record_b_id", "state")
    }
    # Pairs met before that no longer wait: a reviewer decided them (then maybe took it back: a run does not ask
    # again, a reviewer does), or a run closed them (asked again once a run finds them again).
    closed = set(
        MatchCandidate.objects.exclude(
            state__in=[MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED]
        ).values_list("record_a_id", "record_b_id")
    )
    now = timezone.now()
    new: list[MatchCandidate] = []
    kept: set[int] = set()
    reopened = 0
    for a, b, probability, weight in review:
        a, b = _ordered(a, b)
        shown = _evidence_of(evidence, a, b)
        existing = waiting.get((a, b))
        if existing is not None:
            MatchCandidate.objects.filter(pk=existing.pk).update(
                run=run, probability=probability, match_weight=weight, evidence=shown
            )
            kept.add(existing.pk)
            continue
        if (a, b) in closed:
            reopened += MatchCandidate.objects.filter(
                record_a_id=a, record_b_id=b, state=MatchCandidate.State.CLOSED
            ).update(
                run=run, probability=probability, match_weight=weight, evidence=shown,
                state=MatchCandidate.State.PENDING, decided_by=None, decided_at=None,
            )  # fmt: skip
            continue
        new.append(
            MatchCandidate(
                run=run, record_a_id=a, record_b_id=b, probability=probability, match_weight=weight,
                evidence=shown, created_at=now,
            )
        )  # fmt: skip
    MatchCandidate.objects.bulk_create(new, batch_size=2000)
    MatchCandidate.objects.filter(
        state__in=[MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED],
        pk__in={c.pk for c in waiting.values()} - kept,
    ).update(state=MatchCandidate.State.CLOSED)
    return len(new) + len(kept) + reopened


def _evidence_of(evidence: dict[Any, Any], a: int, b: int) -> list[dict[str, Any]]:
    """The evidence of records ``a`` < ``b``, its "left" value from ``a``. The engine orders a pair by its record
    ids as text ("10" before "9"), the registry by number."""
    shown = evidence.get((str(a), str(b)))
    if shown is not None:
        return list(shown)
    swapped = evidence.get((str(b), str(a)), [])
    return [{**item, "left": item.get("right", ""), "right": item.get("left", "")} for item in swapped]


# --- merging and splitting -----------------------------------------------------------------------------


def _merge_many(merges: list[tuple[int, int]], who: Any, *, run: LinkageRun | None = None,
                decision: LinkDecision | None = None) -> int:  # fmt: skip
    """Merge each (survivor, absorbed) pair: records and links move to the survivor; one change each."""
    if not merges:
        return 0
    # A person absorbed by one merge may be the survivor of another (chains): follow them to the end.
    target = {other: survivor for survivor, other in merges}

    def root(person: int) -> int:
        seen = 0
        while person in target and seen < 10_000:
            person, seen = target[person], seen + 1
        return person

    final = [(root(survivor), other) for survivor, other in merges]
    absorbed = [other for _s, other in final]
    moving: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(absorbed), 5000):
        part = absorbed[start : start + 5000]
        for record_id, person_id in SourceRecord.objects.filter(person_id__in=part).values_list("id", "person_id"):
            moving[person_id].append(record_id)
    changes = IdentityChange.objects.bulk_create(
        [
            IdentityChange(
                kind=IdentityChange.Kind.MERGE, person_id=survivor, other_id=other, run=run, decision=decision,
                made_by_id=who.user_id,
            )
            for survivor, other in final
        ],
        batch_size=2000,
    )  # fmt: skip
    insert_rows(
        ChangedRecord,
        ("change_id", "record_id"),
        [
            (change.pk, record_id)
            for change, (_s, other) in zip(changes, final, strict=True)
            for record_id in moving[other]
        ],
    )
    _remap({other: survivor for survivor, other in final})
    survivors = sorted({survivor for survivor, _o in final})
    person_refresh_values(person_ids=survivors)
    if len(final) <= 50:
        for change in changes:
            audit_record(
                actor=who, action="linkage.person.merged", target=change,
                data={"person": change.person_id, "merged": change.other_id, "records": len(moving[change.other_id])},
            )  # fmt: skip
    else:
        audit_record(
            actor=who, action="linkage.persons.merged", target=run,
            data={"merges": len(final), "first_change": changes[0].pk, "last_change": changes[-1].pk},
        )  # fmt: skip
    return len(final)


def _remap(mapping: dict[int, int]) -> None:
    """Point every reference to an absorbed person at its survivor; mark the absorbed persons merged."""
    if not mapping:
        return
    rec, kin, person = table(SourceRecord), table(Kinship), table(Person)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS linkage_remap")
        cursor.execute("CREATE TEMP TABLE linkage_remap (old_id BIGINT PRIMARY KEY, new_id BIGINT NOT NULL)")
        cursor.executemany("INSERT INTO linkage_remap (old_id, new_id) VALUES (%s, %s)", list(mapping.items()))
        remapped = "(SELECT new_id FROM linkage_remap WHERE old_id = {col})"
        cursor.execute(
            f"UPDATE {rec} SET person_id = {remapped.format(col=rec + '.person_id')} "  # noqa: S608
            f"WHERE person_id IN (SELECT old_id FROM linkage_remap)"
        )
        # Family links: new ends; a link that would join a person to themselves or repeat another goes.
        cursor.execute("DROP TABLE IF EXISTS linkage_kin")
        cursor.execute(
            f"""CREATE TEMP TABLE linkage_kin AS
                SELECT k.id AS id, k.kind AS kind,
                       COALESCE((SELECT new_id FROM linkage_remap WHERE old_id = k.parent_id), k.parent_id) AS p,
                       COALESCE((SELECT new_id FROM linkage_remap WHERE old_id = k.child_id), k.child_id) AS c
                FROM {kin} k
                WHERE k.parent_id IN (SELECT old_id FROM linkage_remap)
                   OR k.child_id IN (SELECT old_id FROM linkage_remap)"""  # noqa: S608
        )
        cursor.execute("UPDATE linkage_kin SET p = c, c = p WHERE kind = %s AND p > c", [Kinship.Kind.SPOUSE.value])
        cursor.execute(f"DELETE FROM {kin} WHERE id IN (SELECT id FROM linkage_kin WHERE p = c)")  # noqa: S608
        cursor.execute(
            f"""DELETE FROM {kin} WHERE id IN (
                    SELECT n.id FROM linkage_kin n WHERE EXISTS (
                        SELECT 1 FROM {kin} k WHERE k.kind = n.kind AND k.parent_id = n.p AND k.child_id = n.c
                        AND k.id NOT IN (SELECT id FROM linkage_kin))
                    OR EXISTS (SELECT 1 FROM linkage_kin o WHERE o.kind = n.kind AND o.p = n.p AND o.c = n.c
                        AND o.id < n.id))"""  # noqa: S608
        )
        cursor.execute(
            f"""UPDATE {kin} SET parent_id = (SELECT p FROM linkage_kin WHERE linkage_kin.id = {kin}.id),
                                 child_id = (SELECT c FROM linkage_kin WHERE linkage_kin.id = {kin}.id)
                WHERE id IN (SELECT id FROM linkage_kin)"""  # noqa: S608
        )
        cursor.execute("DROP TABLE linkage_kin")
        member = table(HouseholdMember)
        cursor.execute(
            f"""DELETE FROM {member} WHERE person_id IN (SELECT old_id FROM linkage_remap) AND EXISTS (
                    SELECT 1 FROM {member} o WHERE o.household_id = {member}.household_id
                    AND o.person_id = (SELECT new_id FROM linkage_remap WHERE old_id = {member}.person_id))"""  # noqa: S608
        )
        cursor.execute(
            f"""DELETE FROM {member} WHERE person_id IN (SELECT old_id FROM linkage_remap) AND EXISTS (
                    SELECT 1 FROM {member} o WHERE o.household_id = {member}.household_id AND o.id < {member}.id
                    AND o.person_id IN (SELECT old_id FROM linkage_remap)
                    AND (SELECT new_id FROM linkage_remap WHERE old_id = o.person_id)
                      = (SELECT new_id FROM linkage_remap WHERE old_id = {member}.person_id))"""  # noqa: S608
        )
        household = table(Household)
        cursor.execute(
            f"UPDATE {household} SET head_id = {remapped.format(col=household + '.head_id')} "  # noqa: S608
            f"WHERE head_id IN (SELECT old_id FROM linkage_remap)"
        )
        for model in (HouseholdMember, Displacement, Consent, SubjectRequest):
            name = table(model)
            cursor.execute(
                f"UPDATE {name} SET person_id = {remapped.format(col=name + '.person_id')} "  # noqa: S608
                f"WHERE person_id IN (SELECT old_id FROM linkage_remap)"
            )
        cursor.execute(
            f"UPDATE {person} SET merged_into_id = {remapped.format(col=person + '.id')} "  # noqa: S608
            f"WHERE id IN (SELECT old_id FROM linkage_remap)"
        )
        cursor.execute("DROP TABLE linkage_remap")


def _processable(persons: Iterable[Person]) -> None:
    """Refuse persons that are no longer identities, or whose data may not be processed (erased, restricted)."""
    for person in persons:
        if person.merged_into_id is not None or person.erased_at is not None:
            raise ValidationError("this person has been merged or erased", [("person", str(person.pk), "gone")])
        if person.restricted:
            raise ValidationError(
                "processing of this person's data is restricted", [("person", str(person.pk), "restricted")]
            )


def _still_identities(merges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The merges whose two persons are still identities that linkage may process: a run reads the registry
    minutes before it merges, and a reviewer may have merged, or the person been restricted, meanwhile."""
    involved = sorted({p for pair in merges for p in pair})
    gone: set[int] = set()
    for start in range(0, len(involved), 5000):
        gone.update(
            Person.objects.filter(pk__in=involved[start : start + 5000])
            .filter(Q(merged_into__isnull=False) | Q(erased_at__isnull=False) | Q(restricted=True))
            .values_list("pk", flat=True)
        )
    return [(survivor, other) for survivor, other in merges if survivor not in gone and other not in gone]


def person_merge(*, actor: Any, person_id: int, other_id: int, decision: LinkDecision | None = None) -> IdentityChange:
    """Merge ``other`` into ``person`` (a reviewer's acceptance, or by hand)."""
    who = actor_of(actor)
    with transaction.atomic():
        pair = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[person_id, other_id])}
        if len(pair) != 2 or person_id == other_id:
            raise NotFoundError("person not found")
        _processable(pair.values())
        _merge_many([(person_id, other_id)], who, decision=decision)
        eligibility_update(actor=who, person_ids=[person_id])
        return IdentityChange.objects.filter(person_id=person_id, other_id=other_id).latest("id")


def change_undo(*, actor: Any, change_id: int, reason: str = "") -> IdentityChange:
    """Undo a merge: the records it moved (and the links, displacements and household memberships they
    gave) go back to the person they came from, which is an identity again. The two are then different
    persons: a reviewer's "different" decision between their records keeps later runs from merging them
    again (to ask a reviewer again instead, take back the decision on the pair in the review queue)."""
    who = actor_of(actor)
    with transaction.atomic():
        change = _undo(who, change_id, reason=reason, keep_apart=True)
        eligibility_update(actor=who, person_ids=[change.person_id, change.other_id])
        return change


def _undo(who: Any, change_id: int, *, reason: str, keep_apart: bool) -> IdentityChange:
    change = IdentityChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise NotFoundError("change not found")
    if change.undone_at is not None:
        raise ValidationError("this change has already been undone", [("change", str(change_id), "undone")])
    if change.kind != IdentityChange.Kind.MERGE:
        raise ValidationError("only a merge can be undone; merge the split persons instead")
    restored = Person.objects.select_for_update().get(pk=change.other_id)
    if restored.erased_at is not None:
        raise ValidationError("the merged person has been erased", [("person", str(restored.pk), "erased")])
    record_ids = list(ChangedRecord.objects.filter(change=change).values_list("record_id", flat=True))
    holders = set(SourceRecord.objects.filter(pk__in=record_ids).values_list("person_id", flat=True)) - {None}
    Person.objects.filter(pk=change.other_id).update(merged_into=None)
    _move_records(record_ids, change.other_id, refresh=holders)
    now = timezone.now()
    IdentityChange.objects.filter(pk=change.pk).update(undone_at=now)
    candidate_id = None
    if change.decision_id is not None:
        LinkDecision.objects.filter(pk=change.decision_id, revoked_at__isnull=True).update(revoked_at=now)
        candidate_id = LinkDecision.objects.filter(pk=change.decision_id).values_list("candidate_id", flat=True).first()
    if keep_apart:
        staying = set(SourceRecord.objects.filter(person_id__in=holders).values_list("id", flat=True))
        _keep_apart(record_ids, staying, who, reason=reason or "merge undone")
        if candidate_id is not None:
            # The pair a reviewer called the same person: now decided otherwise, by this undo.
            MatchCandidate.objects.filter(pk=candidate_id).update(
                state=MatchCandidate.State.REJECTED, decided_by_id=who.user_id, decided_at=now
            )
            pair = MatchCandidate.objects.filter(pk=candidate_id).values_list("record_a_id", "record_b_id").first()
            if pair is not None:
                LinkDecision.objects.filter(
                    record_a_id=pair[0], record_b_id=pair[1], same=False, revoked_at__isnull=True
                ).update(candidate_id=candidate_id)
    audit_record(
        actor=who, action="linkage.merge.undone", target=change,
        data={"person": change.person_id, "restored": change.other_id, "records": len(record_ids),
              "reason": reason[:500]},
    )  # fmt: skip
    change.refresh_from_db()
    return change


def _keep_apart(moving: Iterable[int], staying: Iterable[int], who: Any, *, reason: str) -> None:
    """Reviewers' "different" decisions between two sets of records (a reviewer's "same" between them goes)."""
    moving, staying = sorted(set(moving)), sorted(set(staying) - set(moving))
    if not moving or not staying:
        return
    now = timezone.now()
    for start in range(0, len(moving), 500):
        part = moving[start : start + 500]
        LinkDecision.objects.filter(revoked_at__isnull=True, same=True).filter(
            Q(record_a_id__in=part, record_b_id__in=staying) | Q(record_a_id__in=staying, record_b_id__in=part)
        ).update(revoked_at=now)
    LinkDecision.objects.bulk_create(
        [
            LinkDecision(record_a_id=min(a, b), record_b_id=max(a, b), same=False, reason=reason[:500],
                         decided_by_id=who.user_id)
            for a in moving for b in staying
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )  # fmt: skip


def _move_records(record_ids: list[int], person_id: int, *, refresh: Iterable[int] = ()) -> None:
    """Records, and what they gave (displacements, household memberships, family links), to ``person_id``;
    the values of ``person_id`` and of ``refresh`` (the persons the records leave) are brought up to date."""
    SourceRecord.objects.filter(pk__in=record_ids).update(person_id=person_id)
    Displacement.objects.filter(source_record_id__in=record_ids).update(person_id=person_id)
    for member in HouseholdMember.objects.filter(source_record_id__in=record_ids):
        clash = HouseholdMember.objects.filter(household_id=member.household_id, person_id=person_id).exclude(
            pk=member.pk
        )
        if clash.exists():
            member.delete()
        else:
            HouseholdMember.objects.filter(pk=member.pk).update(person_id=person_id)
    # A membership a merge dropped (the survivor was in the household already) comes back from its record.
    for record in SourceRecord.objects.filter(pk__in=record_ids, superseded=False).exclude(household_ref=""):
        household = Household.objects.filter(source_id=record.source_id, external_id=record.household_ref).first()
        if household is None:
            continue
        if not HouseholdMember.objects.filter(household=household, person_id=person_id).exists():
            HouseholdMember.objects.create(
                household=household, person_id=person_id, relation=record.relation_to_head or "other",
                source_record=record,
            )  # fmt: skip
        if record.relation_to_head == HouseholdMember.Relation.HEAD:
            Household.objects.filter(pk=household.pk).update(head_id=person_id)
    person_refresh_values(person_ids={person_id, *refresh})
    _relink(record_ids)


_REFERENCES = (
    ("father_ref", Kinship.Kind.PARENT), ("mother_ref", Kinship.Kind.PARENT), ("spouse_ref", Kinship.Kind.SPOUSE),
)  # fmt: skip
_KINSHIP_COLUMNS = ("kind", "parent_id", "child_id", "adoptive", "source_record_id", "note", "created_at")


def _relink(record_ids: list[int]) -> None:
    """Family links given by the moved records, or by records of their source that name one of them, made
    again (as an import makes them) between the persons that hold the records now: each end follows its
    record, and a link that a merge dropped as a repeat of another comes back."""
    moved = list(
        SourceRecord.objects.filter(pk__in=record_ids, superseded=False).values_list("id", "source_id", "external_id")
    )
    givers = {record_id for record_id, _s, _e in moved}
    named: dict[int, set[str]] = defaultdict(set)
    for _r, source_id, external_id in moved:
        named[source_id].add(external_id)
    for source_id, external_ids in named.items():
        ids = sorted(external_ids)
        for start in range(0, len(ids), 2000):
            part = ids[start : start + 2000]
            givers.update(
                SourceRecord.objects.filter(source_id=source_id, superseded=False)
                .filter(Q(father_ref__in=part) | Q(mother_ref__in=part) | Q(spouse_ref__in=part))
                .values_list("id", flat=True)
            )
    if not givers:
        return
    rows = list(
        SourceRecord.objects.filter(pk__in=givers, person__isnull=False).values(
            "id", "source_id", "person_id", *(ref for ref, _kind in _REFERENCES)
        )
    )
    wanted: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        for ref, _kind in _REFERENCES:
            if row[ref]:
                wanted[row["source_id"]].add(row[ref])
    holder: dict[tuple[int, str], int] = {}
    for source_id, external_ids in wanted.items():
        for external_id, holding in SourceRecord.objects.filter(
            source_id=source_id, superseded=False, external_id__in=sorted(external_ids), person__isnull=False
        ).values_list("external_id", "person_id"):
            holder[(source_id, external_id)] = holding
    persons = {row["person_id"] for row in rows} | set(holder.values())
    births = cast(
        dict[int, PartialDate | None], dict(Person.objects.filter(pk__in=persons).values_list("id", "birth_date"))
    )
    Kinship.objects.filter(source_record_id__in=givers).delete()
    now = db_datetime(timezone.now())
    links: list[tuple[Any, ...]] = []
    for row in rows:
        own = row["person_id"]
        for ref, kind in _REFERENCES:
            relative = holder.get((row["source_id"], row[ref])) if row[ref] else None
            if relative is None or relative == own:
                continue
            if kind == Kinship.Kind.PARENT:
                if not parent_born_after_child(births.get(relative), births.get(own)):
                    links.append((kind.value, relative, own, False, row["id"], "", now))
            else:
                links.append((kind.value, min(own, relative), max(own, relative), False, row["id"], "", now))
    insert_ignoring_duplicates(Kinship, _KINSHIP_COLUMNS, links)


def person_split(*, actor: Any, person_id: int, record_ids: list[int], reason: str) -> Person:
    """Make a new person of some of a person's records (a wrong merge); the two are never merged again by
    a linkage run (a reviewer's "different" decision between their records)."""
    who = actor_of(actor)
    if not reason.strip():
        raise ValidationError("say why the records are another person", [("reason", "", "required")])
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id, erased_at__isnull=True).first()
        if person is None:
            raise NotFoundError("person not found")
        _processable([person])
        mine = set(SourceRecord.objects.filter(person_id=person_id).values_list("id", flat=True))
        moving = sorted(set(record_ids))
        if not moving or not set(moving) <= mine:
            raise ValidationError("choose records of this person", [("records", "", "not this person's")])
        if len(moving) == len(mine):
            raise ValidationError("at least one record must stay with the person", [("records", "", "all")])
        # Each record made a person of its own when it was imported: that one keeps it as its first record.
        taken = set(Person.objects.filter(first_record_id__in=moving).values_list("first_record_id", flat=True))
        new = Person.objects.create(first_record_id=next((r for r in moving if r not in taken), None))
        change = IdentityChange.objects.create(
            kind=IdentityChange.Kind.SPLIT, person_id=person_id, other=new, made_by_id=who.user_id
        )
        insert_rows(ChangedRecord, ("change_id", "record_id"), [(change.pk, r) for r in moving])
        _move_records(moving, new.pk, refresh=[person_id])
        _keep_apart(moving, mine - set(moving), who, reason=reason)
        audit_record(
            actor=who, action="linkage.person.split", target=change,
            data={"person": person_id, "new_person": new.pk, "records": moving, "reason": reason[:500]},
        )  # fmt: skip
        eligibility_update(actor=who, person_ids=[person_id, new.pk])
        new.refresh_from_db()
        return new


# --- the review queue ----------------------------------------------------------------------------------


def candidate_decide(*, actor: Any, candidate_id: int, decision: str, reason: str = "") -> MatchCandidate:
    """A reviewer's answer: ``same`` (merge the two persons), ``different`` (never merge them), or ``defer``."""
    who = actor_of(actor)
    if decision not in ("same", "different", "defer"):
        raise ValidationError("decide same, different or defer", [("decision", decision, "invalid")])
    with transaction.atomic():
        candidate = MatchCandidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None:
            raise NotFoundError("candidate not found")
        if candidate.state not in (MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED) or (
            decision != "defer"
            and LinkDecision.objects.filter(
                record_a_id=candidate.record_a_id, record_b_id=candidate.record_b_id, revoked_at__isnull=True
            ).exists()
        ):
            raise ValidationError("this pair has been decided already", [("candidate", str(candidate_id), "decided")])
        now = timezone.now()
        if decision == "defer":
            MatchCandidate.objects.filter(pk=candidate.pk).update(state=MatchCandidate.State.DEFERRED)
            audit_record(actor=who, action="linkage.candidate.deferred", target=candidate)
            candidate.refresh_from_db()
            return candidate
        same = decision == "same"
        a = SourceRecord.objects.select_related("person").get(pk=candidate.record_a_id)
        b = SourceRecord.objects.select_related("person").get(pk=candidate.record_b_id)
        if same:
            _processable(r.person for r in (a, b) if r.person is not None)
        made = LinkDecision.objects.create(
            record_a_id=candidate.record_a_id, record_b_id=candidate.record_b_id, same=same, reason=reason[:500],
            candidate=candidate, decided_by_id=who.user_id,
        )  # fmt: skip
        MatchCandidate.objects.filter(pk=candidate.pk).update(
            state=MatchCandidate.State.ACCEPTED if same else MatchCandidate.State.REJECTED,
            decided_by_id=who.user_id,
            decided_at=now,
        )
        audit_record(
            actor=who, action="linkage.candidate.decided", target=candidate,
            data={"same": same, "decision": made.pk, "probability": round(candidate.probability, 4)},
        )  # fmt: skip
        if same and a.person_id != b.person_id and a.person_id is not None and b.person_id is not None:
            sizes = Counter(
                SourceRecord.objects.filter(person_id__in=[a.person_id, b.person_id]).values_list(
                    "person_id", flat=True
                )
            )
            survivor, other = sorted([a.person_id, b.person_id], key=lambda p: (-sizes[p], p))
            _merge_many([(survivor, other)], who, decision=made)
            eligibility_update(actor=who, person_ids=[survivor])
        candidate.refresh_from_db()
        return candidate


def decision_revoke(*, actor: Any, candidate_id: int) -> MatchCandidate:
    """Take a decision back: a merge it made is undone, and the pair waits for a reviewer again."""
    who = actor_of(actor)
    with transaction.atomic():
        candidate = MatchCandidate.objects.select_for_update().filter(pk=candidate_id).first()
        if candidate is None:
            raise NotFoundError("candidate not found")
        made = LinkDecision.objects.filter(candidate=candidate, revoked_at__isnull=True).first()
        if made is None:
            raise ValidationError("this pair has no decision to take back", [("candidate", str(candidate_id), "")])
        change = IdentityChange.objects.filter(decision=made, undone_at__isnull=True).first()
        if change is not None:
            _undo(who, change.pk, reason="decision taken back", keep_apart=False)
            eligibility_update(actor=who, person_ids=[change.person_id, change.other_id])
        LinkDecision.objects.filter(pk=made.pk).update(revoked_at=timezone.now())
        MatchCandidate.objects.filter(pk=candidate.pk).update(
            state=MatchCandidate.State.PENDING, decided_by=None, decided_at=None
        )
        audit_record(actor=who, action="linkage.decision.revoked", target=candidate, data={"decision": made.pk})
        candidate.refresh_from_db()
        return candidate


def linkage_start(*, actor: Any, retrain: bool = False) -> Any:
    """Queue a linkage run as a background job; returns the Job."""
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    with transaction.atomic():
        job = job_enqueue(kind="linkage.run", params={"retrain": retrain}, created_by_id=who.user_id)
        audit_record(actor=who, action="linkage.run.queued", target=job, data={"retrain": retrain})
    return job


def forget_records(record_ids: list[int]) -> None:
    """An erased person's records: the review queue keeps no copy of their values (evidence is dropped,
    open pairs closed). Called by the registry's erasure, in its transaction."""
    from django.db.models import Q

    touching = MatchCandidate.objects.filter(Q(record_a_id__in=record_ids) | Q(record_b_id__in=record_ids))
    touching.update(evidence=[])
    touching.filter(state__in=[MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED]).update(
        state=MatchCandidate.State.CLOSED
    )


# --- real-time matching of new records ------------------------------------------------------------------

# The index of the registry's records for real-time matching, kept by the process that matches (the worker):
# built from the model of the last run; rebuilt after a new run, after an erasure, and at the latest after
# MATCHER_MAX_AGE (a build reads every record: minutes at a million). Each record matched in real time is
# added to it, so the next registrations are matched against it too; records of other sources are matched by
# the next run.
MATCHER_MAX_AGE = dt.timedelta(hours=24)
_matcher: dict[str, Any] = {}


def _realtime_matcher(run: LinkageRun) -> Any:
    from homeward.linkage.engine.realtime import RealtimeMatcher
    from homeward.registry.models import SubjectRequest

    now = timezone.now()
    built = _matcher.get("built", now - 2 * MATCHER_MAX_AGE)
    # An erasure since the build: the erased person's names and dates leave the worker's memory now.
    erased = SubjectRequest.objects.filter(kind=SubjectRequest.Kind.ERASE, completed_at__gte=built).exists()
    if _matcher.get("run") != run.pk or now - built > MATCHER_MAX_AGE or erased:
        records, _person_of = linkage_records()
        _matcher.update(run=run.pk, built=now, matcher=RealtimeMatcher(records, json.loads(run.model)))
    return _matcher["matcher"]


def records_match(*, actor: Any, record_ids: list[int]) -> int:
    """Match new records (a portal submission) against the registry with the last run's model, and queue the
    possible matches for staff to confirm; the number of pairs queued. Nothing is merged here."""
    run = LinkageRun.objects.filter(state=LinkageRun.State.DONE).exclude(model="").order_by("-id").first()
    if run is None or not record_ids:
        return 0
    matcher = _realtime_matcher(run)
    new = {str(pk) for pk in record_ids}
    records, _person_of = linkage_records(record_ids=record_ids)
    wanted = [row for row in records.to_pylist() if row["record_id"] in new]
    decided = {
        (a, b) for a, b in LinkDecision.objects.filter(revoked_at__isnull=True).values_list("record_a", "record_b")
    }
    queued: list[MatchCandidate] = []
    now = timezone.now()
    for row in wanted:
        mine = int(row["record_id"])
        for found in matcher.match(row, threshold=m.REVIEW):
            other = int(found.record_id)
            if other in record_ids or other == mine:
                continue
            a, b = _ordered(mine, other)
            if (a, b) in decided:
                continue
            evidence = [{"field": name, "level": label, "weight": round(weight, 2), "left": "", "right": ""}
                        for name, label, weight in found.evidence]  # fmt: skip
            queued.append(
                MatchCandidate(
                    run=run, record_a_id=a, record_b_id=b, probability=found.match_probability,
                    match_weight=found.match_weight, evidence=evidence, created_at=now,
                )
            )  # fmt: skip
    matcher.add(wanted)
    with transaction.atomic():
        # Pairs already in the queue (or decided) keep their state.
        existing = set(
            MatchCandidate.objects.filter(record_a_id__in=[c.record_a_id for c in queued] or [0]).values_list(
                "record_a_id", "record_b_id"
            )
        )
        fresh = [c for c in queued if (c.record_a_id, c.record_b_id) not in existing]
        # Only records still in use, of persons neither erased nor restricted (the index may be older).
        live = set(
            SourceRecord.objects.filter(pk__in={c.record_b_id for c in fresh} | {c.record_a_id for c in fresh},
                                        superseded=False)
            .exclude(person__erased_at__isnull=False)
            .exclude(person__restricted=True)
            .values_list("pk", flat=True)
        )  # fmt: skip
        fresh = [c for c in fresh if c.record_a_id in live and c.record_b_id in live]
        MatchCandidate.objects.bulk_create(fresh, ignore_conflicts=True)
        audit_record(actor=actor, action="linkage.realtime.matched",
                     data={"records": sorted(record_ids)[:50], "queued": len(fresh), "run": run.pk})  # fmt: skip
    return len(fresh)
