"""Census runs, releases and exports: every write with its audit event in the same transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from homeward.audit.services import actor_of, audit_record
from homeward.census import selectors
from homeward.census.engine import outputs as out
from homeward.census.engine import snapshot as snap
from homeward.census.engine.disclosure import Protected, Rules, RulesError, protect
from homeward.census.engine.tables import (
    GEOGRAPHY_LEVELS,
    TABLES,
    CountTable,
    Snapshot,
    UnknownTableError,
    compute_tables,
)
from homeward.census.models import CensusRelease, CensusSnapshot
from homeward.core.errors import NotFoundError, ValidationError
from homeward.core.files import read_encrypted, remove_stored, store_encrypted
from homeward.core.progress import NullProgress, Progress


def census_settings() -> dict[str, Any]:
    """The disclosure rules of public releases: HOMEWARD_CENSUS in the settings, over these defaults."""
    configured = getattr(settings, "HOMEWARD_CENSUS", {}) or {}
    return {"threshold": 10, "rounding": 5, "geography": "district", **configured}


def census_run(
    *, actor: Any, reference_date: dt.date | None = None, note: str = "", progress: Progress | None = None
) -> CensusSnapshot:
    """Freeze the registry's identities into a snapshot (encrypted) and record its content hash."""
    progress = progress or NullProgress()
    rules_from()  # the settings' rules are checked before anything is made
    progress.start(100, "census snapshot")
    reference_date = reference_date or timezone.localdate()
    if reference_date > timezone.localdate():
        raise ValidationError("the reference date is in the future", [("reference_date", str(reference_date), "")])
    state, excluded = selectors.registry_state(reference_date, progress)
    raw = snap.to_bytes(state)
    digest = snap.content_hash(raw)
    progress.advance(10, "storing")
    stored = store_encrypted(raw, folder="census")
    try:
        snapshot = _record_snapshot(actor, reference_date, digest, stored, raw, state, excluded, note)
    except BaseException:
        remove_stored(stored)  # no file without its record
        raise
    progress.advance(10, "done")
    return snapshot


def _record_snapshot(
    actor: Any, reference_date: dt.date, digest: str, stored: str, raw: bytes, state: Snapshot, excluded: int, note: str
) -> CensusSnapshot:
    with transaction.atomic():
        snapshot = CensusSnapshot.objects.create(
            reference_date=reference_date,
            content_hash=digest,
            stored_file=stored,
            size_bytes=len(raw),
            persons=state.persons.num_rows,
            households=state.households.num_rows,
            excluded=excluded,
            note=note[:500],
            created_by_id=actor_of(actor).user_id,
        )
        audit_record(
            actor=actor,
            action="census.snapshot.created",
            target=snapshot,
            data={"reference_date": reference_date.isoformat(), "sha256": digest, "persons": snapshot.persons},
        )
    return snapshot


def load_snapshot(snapshot: CensusSnapshot) -> Snapshot:
    """The snapshot's tables, after checking that the stored bytes are still the ones frozen."""
    raw = read_encrypted(snapshot.stored_file)
    if snap.content_hash(raw) != snapshot.content_hash:
        raise ValidationError(
            f"snapshot {snapshot.pk}: the stored file does not match its content hash",
            [("snapshot", str(snapshot.pk), "altered")],
        )
    return snap.from_bytes(raw)


def snapshot_get(snapshot_id: int | None) -> CensusSnapshot:
    found = (
        CensusSnapshot.objects.filter(pk=snapshot_id).first()
        if snapshot_id is not None
        else CensusSnapshot.objects.order_by("-created_at", "-id").first()
    )
    if found is None:
        raise NotFoundError("no census snapshot yet: run the census first" if snapshot_id is None else
                            f"census snapshot {snapshot_id} not found")  # fmt: skip
    return found


def parents_of(state: Snapshot) -> dict[str, str]:
    s = state.settlements
    return {g: d or "_U" for g, d in zip(s.column("gid").to_pylist(), s.column("district").to_pylist(), strict=True)}


def _whole(name: str, value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValidationError(
            f"{name}: not a whole number: {value!r}", [(name, str(value)[:50], "not a whole number")]
        ) from None


def _checked_rules(threshold: Any, rounding: Any, geography: Any, *, where: str) -> tuple[Rules, str]:
    values = {"threshold": _whole("threshold", threshold), "rounding": _whole("rounding", rounding)}
    if geography not in GEOGRAPHY_LEVELS:
        raise ValidationError(
            f"{where}geography: one of {', '.join(GEOGRAPHY_LEVELS)}, not {geography!r}",
            [("geography", str(geography)[:50], "unknown level")],
        )
    try:
        rules = Rules(threshold=values["threshold"], rounding=values["rounding"])
    except RulesError as exc:
        field = str(exc).split(":")[0]
        raise ValidationError(f"{where}{exc}", [(field, str(values.get(field, "")), "out of range")]) from None
    if rules.rounding > rules.threshold:
        raise ValidationError(
            f"{where}rounding: a base of {rules.rounding} above the threshold {rules.threshold} would publish counts "
            f"of the threshold and more as 0",
            [("rounding", str(rules.rounding), "above the threshold")],
        )
    return rules, geography


def rules_from(threshold: Any = None, rounding: Any = None, geography: Any = None) -> tuple[Rules, str]:
    """The rules of a public release: the settings, or stricter values given instead (a higher threshold, a
    coarser rounding or geography). Laxer values are refused: releases under laxer rules could be played
    against the others. A clear error names any value that makes no sense."""
    base = census_settings()
    floor, floor_geography = _checked_rules(base["threshold"], base["rounding"], base["geography"],
                                            where="HOMEWARD_CENSUS setting ")  # fmt: skip
    rules, geography = _checked_rules(
        floor.threshold if threshold is None else threshold,
        floor.rounding if rounding is None else rounding,
        floor_geography if geography is None else geography,
        where="",
    )
    if rules.threshold < floor.threshold or rules.rounding < floor.rounding:
        raise ValidationError(
            f"threshold and rounding: at least those configured ({floor.threshold} and {floor.rounding}; "
            f"HOMEWARD_CENSUS_THRESHOLD and HOMEWARD_CENSUS_ROUNDING set them)",
            [("threshold", str(rules.threshold), "below the configured one")],
        )
    if GEOGRAPHY_LEVELS.index(geography) > GEOGRAPHY_LEVELS.index(floor_geography):
        raise ValidationError(
            f"geography: {geography} is finer than the configured {floor_geography} (HOMEWARD_CENSUS_GEOGRAPHY)",
            [("geography", geography, "finer than configured")],
        )
    return rules, geography


def public_tables(geography: str) -> list[str]:
    """The tables a public release may hold: none below the allowed geography."""
    allowed = GEOGRAPHY_LEVELS[: GEOGRAPHY_LEVELS.index(geography) + 1]
    return [t.code for t in TABLES if not t.geography or t.geography in allowed]


@dataclass
class ReleaseResult:
    release: CensusRelease
    outputs: list[out.Output]
    meta: out.Meta


def census_release(
    *,
    actor: Any,
    snapshot_id: int | None = None,
    threshold: Any = None,
    rounding: Any = None,
    geography: Any = None,
    progress: Progress | None = None,
) -> ReleaseResult:
    """A public release from one snapshot: disclosure-controlled tables, recorded with what they publish;
    warns when a count differs from the previous public release's by less than the threshold."""
    progress = progress or NullProgress()
    rules, geography = rules_from(threshold, rounding, geography)
    snapshot = snapshot_get(snapshot_id)
    made = CensusRelease.objects.filter(snapshot=snapshot, public=True).order_by("id").first()
    if made is not None:
        # Two releases of one snapshot under different rules would give away what each withholds.
        if (made.threshold, made.rounding, made.geography) != (rules.threshold, rules.rounding, geography):
            raise ValidationError(
                f"snapshot {snapshot.pk} already has public release {made.pk} (threshold {made.threshold}, "
                f"rounding {made.rounding}, {made.geography}): a release under other rules needs a new snapshot",
                [("snapshot", str(snapshot.pk), "already released")],
            )
        outputs, meta = release_outputs(made)
        return ReleaseResult(made, outputs, meta)
    progress.start(100, "census tables")
    state = load_snapshot(snapshot)
    tables = compute_tables(state, public_tables(geography), fold_below=rules.threshold)
    progress.advance(20, "disclosure control")
    protected, audit = protect(tables, rules, parents=parents_of(state))
    progress.advance(70, "release")
    cells = {p.table.code: [[*k, v, s] for k, v, s in out.Output(p.table, p).rows()] for p in protected}
    meta = out.Meta(snapshot.content_hash, snapshot.reference_date.isoformat(), True, rules.threshold, rules.rounding)
    outputs = [out.Output(p.table, p) for p in protected]
    digest = hashlib.sha256(out.tidy_csv(outputs, meta)).hexdigest()
    with transaction.atomic():
        previous = CensusRelease.objects.filter(public=True).order_by("-created_at", "-id").first()
        warnings = _differences(previous, protected, rules.threshold) if previous else []
        release = CensusRelease.objects.create(
            snapshot=snapshot,
            public=True,
            threshold=rules.threshold,
            rounding=rules.rounding,
            geography=geography,
            cells=cells,
            outputs_hash=digest,
            warnings=warnings,
            suppressed=sum(int((p.published < 0).sum()) for p in protected),
            linear_programs=audit.linear_programs,
            created_by_id=actor_of(actor).user_id,
        )
        audit_record(
            actor=actor,
            action="census.release.created",
            target=release,
            data={"snapshot": snapshot.pk, "threshold": rules.threshold, "rounding": rules.rounding,
                  "geography": geography, "sha256": digest, "warnings": len(warnings)},
        )  # fmt: skip
    progress.advance(10, "done")
    return ReleaseResult(release, outputs, meta)


def _differences(previous: CensusRelease, protected: list[Protected], threshold: int) -> list[str]:
    """Published counts that changed by less than the threshold since the previous public release: the
    difference of two releases would show a handful of people (e.g. two registrations in one village)."""
    found = []
    for p in protected:
        before = {tuple(c[:-2]): c[-2] for c in previous.cells.get(p.table.code, [])}
        for key, value, _status in out.Output(p.table, p).rows():
            old = before.get(tuple(key))
            if value is not None and old is not None and 0 < abs(value - old) < threshold:
                found.append(f"{p.table.code} {'/'.join(key)}: {old} -> {value}")
    return found


def internal_tables(
    snapshot_id: int | None = None, codes: list[str] | None = None
) -> tuple[CensusSnapshot, list[CountTable]]:
    """Exact tables of a snapshot, for authorised staff."""
    snapshot = snapshot_get(snapshot_id)
    try:
        return snapshot, compute_tables(load_snapshot(snapshot), codes)
    except UnknownTableError as exc:
        raise ValidationError(str(exc), [("table", ",".join(codes or []), "unknown")]) from None


def _exact_outputs(snapshot_id: int | None) -> tuple[CensusSnapshot, list[out.Output], out.Meta]:
    snapshot, tables = internal_tables(snapshot_id)
    meta = out.Meta(snapshot.content_hash, snapshot.reference_date.isoformat(), False)
    return snapshot, [out.Output(t) for t in tables], meta


def census_export(
    *,
    actor: Any,
    out_dir: Path,
    fmt: str,
    public: bool,
    snapshot_id: int | None = None,
    threshold: Any = None,
    rounding: Any = None,
    geography: Any = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write the tables of a snapshot: with ``public``, only a (recorded) disclosure-controlled release;
    otherwise the exact tables, for internal use. Either export is audited."""
    if fmt not in out.FORMATS:
        raise ValidationError(f"format: one of {', '.join(out.FORMATS)}, not {fmt!r}", [("format", fmt, "")])
    if not public and (threshold, rounding, geography) != (None, None, None):
        raise ValidationError(
            "threshold, rounding and geography apply to public releases only: add --public, or leave them out "
            "for the exact tables",
            [("public", "", "rules without --public")],
        )
    if public:
        result = census_release(
            actor=actor, snapshot_id=snapshot_id, threshold=threshold, rounding=rounding, geography=geography,
            progress=progress,
        )  # fmt: skip
        files = out.write(result.outputs, result.meta, fmt, out_dir)
        target: Any = result.release
    else:
        target, outputs, meta = _exact_outputs(snapshot_id)
        files = out.write(outputs, meta, fmt, out_dir)
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="census.exported",
                target=target,
                data={"public": public, "format": fmt, "files": [f.name for f in files]},
            )
    except BaseException:
        for path in files:  # no export without its audit event
            path.unlink(missing_ok=True)
        raise
    return files


def census_run_start(*, actor: Any, note: str = "") -> Any:
    """Queue a census run (snapshot and public release) as a background job; returns the Job."""
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    rules_from()
    with transaction.atomic():
        job = job_enqueue(kind="census.run", params={"note": note[:500]}, created_by_id=who.user_id)
        audit_record(actor=who, action="census.run.queued", target=job)
    return job


def release_outputs(release: CensusRelease) -> tuple[list[out.Output], out.Meta]:
    """A recorded public release's tables, recomputed from its snapshot under its own rules: the same bytes
    as when it was made (checked against the hash recorded then)."""
    state = load_snapshot(release.snapshot)
    # In the tables' own order: PostgreSQL's jsonb does not keep the order of an object's keys.
    tables = compute_tables(state, [t.code for t in TABLES if t.code in release.cells], fold_below=release.threshold)
    protected, _ = protect(tables, Rules(threshold=release.threshold, rounding=release.rounding),
                           parents=parents_of(state))  # fmt: skip
    outputs = [out.Output(p.table, p) for p in protected]
    meta = out.Meta(release.snapshot.content_hash, release.snapshot.reference_date.isoformat(), True,
                    release.threshold, release.rounding)  # fmt: skip
    if hashlib.sha256(out.tidy_csv(outputs, meta)).hexdigest() != release.outputs_hash:
        raise ValidationError(f"release {release.pk}: the tables no longer reproduce", [("release", "", "")])
    return outputs, meta


def census_download(
    *, actor: Any, fmt: str, snapshot_id: int | None = None, release_id: int | None = None
) -> tuple[str, bytes]:
    """One file of a public release (``release_id``) or of a snapshot's exact tables, audited."""
    if fmt not in out.FORMATS:
        raise ValidationError(f"format: one of {', '.join(out.FORMATS)}", [("format", fmt[:20], "")])
    if release_id is not None:
        release = CensusRelease.objects.select_related("snapshot").filter(pk=release_id).first()
        if release is None:
            raise NotFoundError("release not found")
        outputs, meta = release_outputs(release)
        target: Any = release
    else:
        target, outputs, meta = _exact_outputs(snapshot_id)
    stem = f"census-{'public-release' if meta.public else 'internal'}-{target.pk}"
    name, data = next(iter(out.render(outputs, meta, fmt, stem).items()))
    with transaction.atomic():
        audit_record(actor=actor, action="census.downloaded", target=target,
                     data={"public": meta.public, "format": fmt})  # fmt: skip
    return name, data
