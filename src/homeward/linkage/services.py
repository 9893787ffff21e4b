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

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.progress import NullProgress, Progress
from homeward.linkage.engine import model as m
from homeward.linkage.engine.cluster import cluster_pairs
from homeward.linkage.engine.run import evidence_for, score_records
from homeward.linkage.models import ChangedRecord, IdentityChange, LinkageRun, LinkDecision, MatchCandidate
from homeward.linkage.selectors import linkage_records, registry_sources_once
from homeward.registry.engine.records import name_keys
from homeward.registry.models import (
    Consent,
    Displacement,
    HouseholdMember,
    Kinship,
    Person,
    SourceRecord,
    SubjectRequest,
    ValueDecision,
)
from homeward.registry.selectors import VALUE_FIELDS
from homeward.registry.services.bulk import insert_rows, table

log = logging.getLogger("homeward.linkage")

MAX_QUEUED = 100_000  # review items kept per run, the most probable first


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


# --- a run ----------------------------------------------------------------------------------------------


def linkage_run(*, actor: Any, progress: Progress | None = None, retrain: bool = False) -> LinkageRun:
    """Link every current source record (see the module's docstring). Returns the finished run."""
    progress = progress or NullProgress()
    who = actor_of(actor)
    with transaction.atomic():
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
    previous = LinkageRun.objects.filter(state=LinkageRun.State.DONE).exclude(model="").order_by("-id").first()
    model = json.loads(previous.model) if previous is not None and not retrain else None
    shown = [0]

    def step(message: str, done: float) -> None:
        percent = int(5 + done * 70)
        progress.advance(max(0, percent - shown[0]), message)
        shown[0] = max(shown[0], percent)

    scored = score_records(records, model=model, floor=m.REVIEW, step=step)
    pairs = scored.pairs
    progress.advance(max(0, 75 - shown[0]), "clustering")
    # Records of one person stay together; reviewers' decisions bind.
    by_person: dict[int, list[str]] = defaultdict(list)
    for record_id, person_id in person_of.items():
        by_person[person_id].append(record_id)
    must = [(ids[0], other) for ids in by_person.values() if len(ids) > 1 for other in ids[1:]]
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
        if p < m.SURE and cluster_of[a] != cluster_of[b]
    ]
    review = [r for r in review if _ordered(r[0], r[1]) not in decided]
    review.sort(key=lambda r: -r[2])
    review = review[:MAX_QUEUED]
    progress.advance(5, "weighing the evidence of uncertain pairs")
    evidence = evidence_for(scored, [(str(a), str(b)) for a, b, _p, _w in review])
    with transaction.atomic():
        merged = _merge_many(merges, who, run=run)
        queued = _queue(run, review, evidence)
        LinkageRun.objects.filter(pk=run.pk).update(
            state=LinkageRun.State.DONE,
            finished_at=timezone.now(),
            records=count,
            pairs=pairs.num_rows,
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
    now = timezone.now()
    new: list[MatchCandidate] = []
    kept: set[int] = set()
    for a, b, probability, weight in review:
        a, b = _ordered(a, b)
        shown = evidence.get((str(a), str(b)), [])
        existing = waiting.get((a, b))
        if existing is not None:
            MatchCandidate.objects.filter(pk=existing.pk).update(
                run=run, probability=probability, match_weight=weight, evidence=shown
            )
            kept.add(existing.pk)
            continue
        if MatchCandidate.objects.filter(record_a_id=a, record_b_id=b).exists():
            continue  # decided earlier (the decision was revoked): not asked again by itself
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
    return len(new) + len(kept)


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
    refresh_persons(survivors)
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


def refresh_persons(person_ids: Iterable[int]) -> None:
    """Best values of many persons at once: from their current records, most trusted source first, then the
    newest; a reviewer's chosen value stays (as ``person_refresh_values`` does, in bulk)."""
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        decided = set(ValueDecision.objects.filter(person_id__in=part).values_list("person_id", "field"))
        rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in (
            SourceRecord.objects.filter(person_id__in=part, superseded=False)
            .order_by("person_id", "-source__trust", "-id")
            .values("person_id", *set(VALUE_FIELDS.values()))
        ):
            rows[row["person_id"]].append(row)
        persons = list(Person.objects.filter(pk__in=part, erased_at__isnull=True))
        for person in persons:
            records = rows.get(person.pk, [])
            for name, attr in VALUE_FIELDS.items():
                if (person.pk, name) in decided:
                    continue
                value = next((r[attr] for r in records if r[attr] not in ("", None)), None)
                setattr(person, attr, value if value is not None else (None if attr in _NULLABLE else ""))
            person.given_folded, person.surname_folded, person.surname_skeleton = name_keys(
                person.given_name, person.surname
            )
        Person.objects.bulk_update(
            persons, [*VALUE_FIELDS.values(), "given_folded", "surname_folded", "surname_skeleton"], batch_size=500
        )


_NULLABLE = {"birth_date", "death_date", "origin_settlement_id"}


def person_merge(*, actor: Any, person_id: int, other_id: int, decision: LinkDecision | None = None) -> IdentityChange:
    """Merge ``other`` into ``person`` (a reviewer's acceptance, or by hand)."""
    who = actor_of(actor)
    with transaction.atomic():
        pair = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[person_id, other_id])}
        if len(pair) != 2 or person_id == other_id:
            raise NotFoundError("person not found")
        for person in pair.values():
            if person.merged_into_id is not None or person.erased_at is not None:
                raise ValidationError("this person has been merged or erased", [("person", str(person.pk), "gone")])
        _merge_many([(person_id, other_id)], who, decision=decision)
        return IdentityChange.objects.filter(person_id=person_id, other_id=other_id).latest("id")


def change_undo(*, actor: Any, change_id: int, reason: str = "") -> IdentityChange:
    """Undo a merge: the records it moved (and the links, displacements and household memberships they
    gave) go back to the person they came from, which is an identity again."""
    who = actor_of(actor)
    with transaction.atomic():
        change = IdentityChange.objects.select_for_update().filter(pk=change_id).first()
        if change is None:
            raise NotFoundError("change not found")
        if change.undone_at is not None:
            raise ValidationError("this change has already been undone", [("change", str(change_id), "undone")])
        if change.kind != IdentityChange.Kind.MERGE:
            raise ValidationError("only a merge can be undone; merge the split persons instead")
        record_ids = list(ChangedRecord.objects.filter(change=change).values_list("record_id", flat=True))
        holders = set(SourceRecord.objects.filter(pk__in=record_ids).values_list("person_id", flat=True))
        _move_records(record_ids, change.other_id)
        Person.objects.filter(pk=change.other_id).update(merged_into=None)
        IdentityChange.objects.filter(pk=change.pk).update(undone_at=timezone.now())
        if change.decision_id is not None:
            LinkDecision.objects.filter(pk=change.decision_id, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        refresh_persons({change.other_id, *holders} - {None})
        audit_record(
            actor=who, action="linkage.merge.undone", target=change,
            data={"person": change.person_id, "restored": change.other_id, "records": len(record_ids),
                  "reason": reason[:500]},
        )  # fmt: skip
        change.refresh_from_db()
        return change


def _move_records(record_ids: list[int], person_id: int) -> None:
    """Records, and what they gave (links, displacements, memberships), to ``person_id``."""
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
    # A link given by a moved record keeps its other end: the moved record's own end follows the record.
    for link in Kinship.objects.filter(source_record_id__in=record_ids).select_related("source_record"):
        record = link.source_record
        assert record is not None
        own = _own_end(link, record)
        parent, child = (person_id, link.child_id) if own == "parent" else (link.parent_id, person_id)
        if parent == child:
            link.delete()
            continue
        if link.kind == Kinship.Kind.SPOUSE and parent > child:
            parent, child = child, parent
        if Kinship.objects.filter(kind=link.kind, parent_id=parent, child_id=child).exclude(pk=link.pk).exists():
            link.delete()
        else:
            Kinship.objects.filter(pk=link.pk).update(parent_id=parent, child_id=child)


def _own_end(link: Kinship, record: SourceRecord) -> str:
    """Which end of a link its record describes: a record names its parents and spouse, so it is the child
    of a parent link and either end of a spouse link (the one that is not the named spouse's person)."""
    if link.kind == Kinship.Kind.PARENT:
        return "child"
    spouse = (
        SourceRecord.objects.filter(source_id=record.source_id, external_id=record.spouse_ref, superseded=False)
        .values_list("person_id", flat=True)
        .first()
    )
    return "child" if spouse == link.parent_id else "parent"


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
        mine = set(SourceRecord.objects.filter(person_id=person_id).values_list("id", flat=True))
        moving = sorted(set(record_ids))
        if not moving or not set(moving) <= mine:
            raise ValidationError("choose records of this person", [("records", "", "not this person's")])
        if len(moving) == len(mine):
            raise ValidationError("at least one record must stay with the person", [("records", "", "all")])
        new = Person.objects.create(first_record_id=moving[0])
        change = IdentityChange.objects.create(
            kind=IdentityChange.Kind.SPLIT, person_id=person_id, other=new, made_by_id=who.user_id
        )
        insert_rows(ChangedRecord, ("change_id", "record_id"), [(change.pk, r) for r in moving])
        _move_records(moving, new.pk)
        staying = sorted(mine - set(moving))
        LinkDecision.objects.filter(
            revoked_at__isnull=True, same=True, record_a_id__in=[*moving, *staying], record_b_id__in=[*moving, *staying]
        ).update(revoked_at=timezone.now())
        LinkDecision.objects.bulk_create(
            [
                LinkDecision(record_a_id=min(a, b), record_b_id=max(a, b), same=False, reason=reason[:500],
                             decided_by_id=who.user_id)
                for a in moving for b in staying
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        refresh_persons([person_id, new.pk])
        audit_record(
            actor=who, action="linkage.person.split", target=change,
            data={"person": person_id, "new_person": new.pk, "records": moving, "reason": reason[:500]},
        )  # fmt: skip
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
        if candidate.state not in (MatchCandidate.State.PENDING, MatchCandidate.State.DEFERRED):
            raise ValidationError("this pair has been decided already", [("candidate", str(candidate_id), "decided")])
        now = timezone.now()
        if decision == "defer":
            MatchCandidate.objects.filter(pk=candidate.pk).update(state=MatchCandidate.State.DEFERRED)
            audit_record(actor=who, action="linkage.candidate.deferred", target=candidate)
            candidate.refresh_from_db()
            return candidate
        same = decision == "same"
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
        if same:
            a = SourceRecord.objects.get(pk=candidate.record_a_id)
            b = SourceRecord.objects.get(pk=candidate.record_b_id)
            if a.person_id != b.person_id and a.person_id is not None and b.person_id is not None:
                sizes = Counter(
                    SourceRecord.objects.filter(person_id__in=[a.person_id, b.person_id]).values_list(
                        "person_id", flat=True
                    )
                )
                survivor, other = sorted([a.person_id, b.person_id], key=lambda p: (-sizes[p], p))
                _merge_many([(survivor, other)], who, decision=made)
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
            change_undo(actor=who, change_id=change.pk, reason="decision taken back")
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
