"""Every write to the gazetteer, each in one transaction with its audit event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction

from homeward.audit.services import audit_record
from homeward.core.errors import ValidationError
from homeward.core.names import search_forms, word_keys
from homeward.core.progress import NullProgress, Progress
from homeward.gazetteer.formats import (
    Gazetteer,
    NameRec,
    PlaceRec,
    Problem,
    check_name,
    check_place,
    read_any,
)
from homeward.gazetteer.models import (
    AdminUnit,
    ExternalLink,
    NameKey,
    PlaceName,
    PopulationFigure,
    SecurityAssessment,
    Settlement,
)
from homeward.gazetteer.selectors import NAME_FIELDS, name_record, place_record

MAX_IMPORT_BYTES = 200 * 1024 * 1024
BATCH = 500


@dataclass
class ImportResult:
    format: str
    sha256: str
    units: int = 0
    settlements_created: int = 0
    settlements_updated: int = 0
    names: int = 0
    population: int = 0
    names_replaced: int = 0
    population_replaced: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "sha256": self.sha256,
            "units": self.units,
            "settlements_created": self.settlements_created,
            "settlements_updated": self.settlements_updated,
            "names": self.names,
            "population": self.population,
            "names_replaced": self.names_replaced,
            "population_replaced": self.population_replaced,
            "problems": [{"where": p.where, "field": p.field, "reason": p.reason} for p in self.problems[:1000]],
            "problem_count": len(self.problems),
        }


def _problems_error(problems: list[Problem], *, lead: str = "") -> ValidationError:
    """One error carrying every problem; its message shows the first five."""
    shown = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ValidationError(f"{lead}{shown}{more}", [(p.where, p.field, p.reason) for p in problems])


def _name_row(settlement_id: int, name: NameRec) -> PlaceName:
    folded, skel = search_forms(name.toponym)
    row = PlaceName(settlement_id=settlement_id, citations=name.citations, folded=folded[:200], skeleton=skel[:200])
    for f in NAME_FIELDS:
        setattr(row, f, getattr(name, f))
    row.toponym = row.toponym.strip()
    return row


def _index(names: list[PlaceName]) -> None:
    """Write the search keys of names that have just been saved."""
    NameKey.objects.bulk_create(
        NameKey(name_id=n.pk, settlement_id=n.settlement_id, folded=f[:200], skeleton=k[:200])
        for n in names
        for f, k in word_keys(n.toponym)
    )


def _check_references(gaz: Gazetteer) -> None:
    known_units = {u.code for u in gaz.units} | set(AdminUnit.objects.values_list("code", flat=True))
    for unit in gaz.units:
        if unit.parent and unit.parent not in known_units:
            gaz.problems.append(Problem(f"unit {unit.code}", "parent", f"unknown administrative unit {unit.parent!r}"))
    known_places = {p.gid for p in gaz.places} | set(Settlement.objects.values_list("gid", flat=True))
    for i, place in enumerate(gaz.places):
        where = f"feature {i + 1} ({place.gid})"
        for attr in ("admin_unit", "historical_admin_unit"):
            code = getattr(place, attr)
            if code and code not in known_units:
                gaz.problems.append(Problem(where, attr, f"unknown administrative unit {code!r}"))
        if place.merged_into and place.merged_into not in known_places:
            gaz.problems.append(Problem(where, "merged_into", f"unknown settlement {place.merged_into!r}"))


def gazetteer_import(*, actor: Any, raw: bytes, filename: str = "", progress: Progress | None = None) -> ImportResult:
    """Import an LPF or CSV file: every problem is reported and nothing is written unless there is none.

    Settlements are matched by id: a known one gets the file's attributes, names, population figures and
    links (replacing its earlier ones); a new one is created. Administrative units are matched by code.
    """
    progress = progress or NullProgress()
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationError(
            f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MB", [("file", "size", "too large")]
        )
    fmt, gaz = read_any(raw)
    result = ImportResult(format=fmt, sha256=digest)
    if not gaz.problems:
        _check_references(gaz)
    if gaz.problems:
        raise _problems_error(gaz.problems, lead=f"nothing was imported: {len(gaz.problems)} problem(s): ")
    progress.start(len(gaz.places), "importing settlements")
    with transaction.atomic():
        units = _import_units(gaz)
        result.units = len(gaz.units)
        existing = {s.gid: s for s in Settlement.objects.filter(gid__in=[p.gid for p in gaz.places])}
        fields = ALL_FIELDS if gaz.fields is None else gaz.fields
        for start in range(0, len(gaz.places), BATCH):
            chunk = gaz.places[start : start + BATCH]
            _import_places(chunk, existing, units, result, fields)
            progress.advance(len(chunk))
        if "merged_into" in fields:
            targets = dict(Settlement.objects.filter(
                gid__in={p.merged_into for p in gaz.places if p.merged_into}).values_list("gid", "pk"))  # fmt: skip
            for place in gaz.places:
                Settlement.objects.filter(gid=place.gid).update(
                    merged_into_id=targets.get(place.merged_into) if place.merged_into else None
                )
        audit_record(
            actor=actor,
            action="gazetteer.imported",
            target_type="gazetteer.file",
            target_id=digest[:16],
            data={k: v for k, v in result.as_dict().items() if k != "problems"} | {"filename": filename},
        )
    return result


def _import_units(gaz: Gazetteer) -> dict[str, AdminUnit]:
    units = {u.code: u for u in AdminUnit.objects.all()}
    for rec in gaz.units:
        unit = units.get(rec.code) or AdminUnit(code=rec.code)
        unit.name, unit.level, unit.names = rec.name, rec.level, rec.names
        unit.valid_from, unit.valid_to = rec.valid_from, rec.valid_to
        unit.parent = None
        unit.save()
        units[rec.code] = unit
    for rec in gaz.units:
        if rec.parent:
            AdminUnit.objects.filter(pk=units[rec.code].pk).update(parent=units[rec.parent])
    return units


# What an LPF file sets on a settlement; a CSV file sets only the columns it has (Gazetteer.fields).
ALL_FIELDS = frozenset({"title", "kind", "status", "coordinates", "outline", "admin_unit", "historical_admin_unit",
                        "description", "merged_into", "names", "population", "links"})  # fmt: skip


def _apply(settlement: Settlement, rec: PlaceRec, units: dict[str, AdminUnit], fields: frozenset[str]) -> None:
    new = settlement.pk is None
    if new or "title" in fields:
        settlement.title = rec.title.strip()
    if new or "kind" in fields:
        settlement.kind = rec.kind
    if new or "status" in fields:
        settlement.status = rec.status
    if new or "coordinates" in fields:
        settlement.latitude = None if rec.latitude is None else round(rec.latitude, 6)
        settlement.longitude = None if rec.longitude is None else round(rec.longitude, 6)
    if "outline" in fields:
        settlement.outline = rec.outline
    if new or "admin_unit" in fields:
        settlement.admin_unit = units.get(rec.admin_unit) if rec.admin_unit else None
    if new or "historical_admin_unit" in fields:
        code = rec.historical_admin_unit
        settlement.historical_admin_unit = units.get(code) if code else None
    if "description" in fields:
        settlement.description = rec.description


def _import_places(
    chunk: list[PlaceRec],
    existing: dict[str, Settlement],
    units: dict[str, AdminUnit],
    result: ImportResult,
    fields: frozenset[str],
) -> None:
    new, old = [], []
    for rec in chunk:
        settlement = existing.get(rec.gid)
        if settlement is None:
            settlement = Settlement(gid=rec.gid)
            new.append(settlement)
        else:
            old.append(settlement)
        _apply(settlement, rec, units, fields)
    Settlement.objects.bulk_create(new)
    columns = ["title", "kind", "status", "latitude", "longitude", "outline", "admin_unit", "historical_admin_unit",
               "description"]  # fmt: skip
    if old:
        Settlement.objects.bulk_update(old, columns)
    result.settlements_created += len(new)
    result.settlements_updated += len(old)
    ids = {s.gid: s.pk for s in Settlement.objects.filter(gid__in=[r.gid for r in chunk])}
    touched = list(ids.values())
    result.names_replaced += (
        PlaceName.objects.filter(settlement_id__in=touched).delete()[1].get("gazetteer.PlaceName", 0)
    )
    names = PlaceName.objects.bulk_create([_name_row(ids[r.gid], n) for r in chunk for n in r.names])
    _index(names)
    result.names += len(names)
    if "population" in fields:
        result.population_replaced += PopulationFigure.objects.filter(settlement_id__in=touched).delete()[0]
        PopulationFigure.objects.bulk_create(
            PopulationFigure(settlement_id=ids[r.gid], year=p.year, total=p.total, community=p.community,
                             source=p.source, note=p.note)
            for r in chunk for p in r.population
        )  # fmt: skip
        result.population += sum(len(r.population) for r in chunk)
    if "links" in fields:
        ExternalLink.objects.filter(settlement_id__in=touched).delete()
        ExternalLink.objects.bulk_create(
            ExternalLink(settlement_id=ids[r.gid], type=t, identifier=i)
            for r in chunk
            for t, i in dict.fromkeys(r.links)
        )


# ------------------------------------------------------------------------------------- single edits


def _with_names(record: PlaceRec, names: list[NameRec]) -> PlaceRec:
    record.names = names
    return record


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise _problems_error(problems)


def settlement_update(*, actor: Any, settlement_id: int, changes: dict[str, Any]) -> Settlement:
    allowed = {"title", "kind", "status", "latitude", "longitude", "description", "admin_unit_id",
               "historical_admin_unit_id"}  # fmt: skip
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))}")
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(pk=settlement_id)
        before = {k: str(getattr(settlement, k)) for k in changes}
        for key, value in changes.items():
            setattr(settlement, key, value)
        problems: list[Problem] = []
        check_place(place_record(settlement), "settlement", problems)
        _raise_if(problems)
        settlement.save()
        audit_record(
            actor=actor,
            action="gazetteer.settlement.changed",
            target=settlement,
            data={"before": before, "after": {k: str(v) for k, v in changes.items()}},
        )
    return settlement


def place_name_add(*, actor: Any, settlement_id: int, name: NameRec) -> PlaceName:
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(pk=settlement_id)
        problems: list[Problem] = []
        check_name(name, "name", problems)
        _raise_if(problems)
        names = [name_record(n) for n in settlement.names.all()] + [name]
        check_place(_with_names(place_record(settlement), names), "settlement", problems)
        _raise_if(problems)
        row = _name_row(settlement.pk, name)
        row.save()
        _index([row])
        audit_record(
            actor=actor,
            action="gazetteer.name.added",
            target=settlement,
            data={"toponym": name.toponym, "lang": name.lang, "kind": name.kind},
        )
    return row


def place_name_remove(*, actor: Any, name_id: int) -> None:
    with transaction.atomic():
        name = PlaceName.objects.select_for_update().get(pk=name_id)
        audit_record(
            actor=actor,
            action="gazetteer.name.removed",
            target_type="gazetteer.settlement",
            target_id=name.settlement_id,
            data={"toponym": name.toponym, "lang": name.lang, "kind": name.kind},
        )
        name.delete()


def population_record(
    *, actor: Any, settlement_id: int, year: int, total: int | None, community: int | None, source: str, note: str = ""
) -> PopulationFigure:
    from homeward.gazetteer.formats import PopRec

    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(pk=settlement_id)
        problems: list[Problem] = []
        rec = place_record(settlement)
        rec.population = [PopRec(year, total, community, source, note)]
        check_place(rec, "population", problems)
        if PopulationFigure.objects.filter(settlement=settlement, year=year, source=source).exists():
            problems.append(Problem(f"population {year}", "year", "already recorded for this source"))
        _raise_if(problems)
        figure = PopulationFigure.objects.create(
            settlement=settlement, year=year, total=total, community=community, source=source, note=note
        )
        audit_record(
            actor=actor,
            action="gazetteer.population.recorded",
            target=settlement,
            data={"year": year, "total": total, "community": community, "source": source},
        )
    return figure


def security_assess(
    *,
    actor: Any,
    level: str,
    assessed_on: date,
    source: str,
    note: str = "",
    settlement_id: int | None = None,
    admin_unit_id: int | None = None,
) -> SecurityAssessment:
    """Record an assessment of a settlement or a unit; the newest one is what the return plan reads."""
    if (settlement_id is None) == (admin_unit_id is None):
        raise ValidationError("an assessment is of one settlement or one administrative unit")
    if level not in SecurityAssessment.Level.values:
        raise ValidationError(f"{level!r} is not an assessment level", [("", "level", "unknown")])
    if not source.strip():
        raise ValidationError("the source of the assessment is required", [("", "source", "required")])
    with transaction.atomic():
        assessment = SecurityAssessment.objects.create(
            settlement_id=settlement_id,
            admin_unit_id=admin_unit_id,
            level=level,
            assessed_on=assessed_on,
            source=source.strip(),
            note=note,
            recorded_by_id=getattr(actor, "pk", None),
        )
        audit_record(
            actor=actor,
            action="gazetteer.security.assessed",
            target=assessment.settlement or assessment.admin_unit,
            data={"level": level, "assessed_on": assessed_on.isoformat(), "source": source},
        )
    return assessment


def gazetteer_import_start(*, actor: Any, raw: bytes, filename: str) -> Any:
    """Store the upload encrypted and queue its import as a background job; returns the Job."""
    from homeward.audit.services import actor_of
    from homeward.core.files import store_encrypted
    from homeward.core.jobs import job_enqueue

    who = actor_of(actor)
    stored = store_encrypted(raw, folder="imports")
    with transaction.atomic():
        job = job_enqueue(
            kind="gazetteer.import", params={"file": stored, "filename": filename}, created_by_id=who.user_id
        )
        audit_record(actor=who, action="gazetteer.import.started", target=job, data={"filename": filename})
    return job
