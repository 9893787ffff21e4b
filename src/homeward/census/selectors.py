"""Reads for the census: the registry's state as snapshot tables, snapshots and releases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from django.db import connection, transaction
from django.db.models import QuerySet

from homeward.census.engine.tables import Snapshot
from homeward.census.models import CensusRelease, CensusSnapshot
from homeward.core.progress import NullProgress, Progress
from homeward.gazetteer.models import AdminUnit, PopulationFigure, Settlement
from homeward.registry.models import (
    DisplacementEvent,
    Household,
    HouseholdMember,
    ImportBatch,
    Person,
    ReturnIntention,
    Source,
    SourceRecord,
)

FETCH = 50_000


def snapshots() -> QuerySet[CensusSnapshot]:
    return CensusSnapshot.objects.select_related("created_by")


def releases() -> QuerySet[CensusRelease]:
    return CensusRelease.objects.select_related("snapshot", "created_by")


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def registry_state(reference_date: dt.date, progress: Progress | None = None) -> tuple[Snapshot, int]:
    """See ``_registry_state``; in one transaction (REPEATABLE READ on PostgreSQL, where that is possible)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _registry_state(reference_date, progress)


def _registry_state(reference_date: dt.date, progress: Progress | None = None) -> tuple[Snapshot, int]:
    """The identities after linkage as snapshot tables, and how many persons are left out (restricted,
    erased, or registered only after the reference date). Persons are numbered 1, 2, ... in the order of
    their ids: the snapshot holds no registry id. Read in one transaction, so a linkage run going on
    meanwhile is seen before or after, never half."""
    progress = progress or NullProgress()
    person, record, batch, source = _table(Person), _table(SourceRecord), _table(ImportBatch), _table(Source)
    kept = "merged_into_id IS NULL AND erased_at IS NULL AND restricted = %s"
    excluded = Person.objects.filter(merged_into__isnull=True).exclude(erased_at__isnull=True, restricted=False).count()
    # The month and kind of source of each person's first record.
    first: dict[int, tuple[str, str, dt.date]] = {}
    months = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT b.id, b.started_at, s.kind FROM {batch} b JOIN {source} s ON s.id = b.source_id"""  # noqa: S608
        )
        for batch_id, started, kind in cursor.fetchall():
            day = _date(started)
            assert day is not None  # every batch has its start time
            months[batch_id] = (day.strftime("%Y-%m"), kind, day)
        cursor.execute(
            f"""SELECT r.person_id, r.batch_id FROM {record} r JOIN (
                    SELECT person_id, MIN(id) AS first_id FROM {record} WHERE person_id IS NOT NULL GROUP BY person_id
                ) f ON f.first_id = r.id"""  # noqa: S608
        )
        while rows := cursor.fetchmany(FETCH):
            for person_id, batch_id in rows:
                first[person_id] = months[batch_id]
    late = 0
    progress.advance(10, "persons")
    cols: dict[str, list[Any]] = {k: [] for k in ("pid", "sex", "birth", "death", "generation", "eligible",
                                                  "settlement", "country", "registered", "source_kind")}  # fmt: skip
    number: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT id, sex, birth_date, death_date, generation, eligible, origin_settlement_id,
                       current_country, created_at
                FROM {person} WHERE {kept} ORDER BY id""",  # noqa: S608
            [False],
        )
        while rows := cursor.fetchmany(FETCH):
            for pk, sex, birth, death, generation, eligible, settlement, country, created in rows:
                month, kind, arrived = first.get(pk) or (_month(created), "other", _date(created))
                if arrived is not None and arrived > reference_date:
                    late += 1  # registered after the reference date: not yet in the census of that date
                    continue
                number[pk] = pid = len(number) + 1
                cols["pid"].append(pid)
                cols["sex"].append(sex or None)
                cols["birth"].append(str(birth) if birth else None)
                cols["death"].append(str(death) if death else None)
                cols["generation"].append(generation)
                cols["eligible"].append(bool(eligible))
                cols["settlement"].append(settlement)
                cols["country"].append(country or None)
                cols["registered"].append(month)
                cols["source_kind"].append(kind)
    _add_intentions(cols, number)
    progress.advance(50, "households")
    households: dict[int, int] = {}
    heads: list[int | None] = []
    for hid, head in Household.objects.order_by("id").values_list("id", "head_id").iterator(chunk_size=FETCH):
        households[hid] = len(households) + 1
        heads.append(number.get(head) if head else None)
    members: set[tuple[int, int]] = set()
    for hid, pk in HouseholdMember.objects.values_list("household_id", "person_id").iterator(chunk_size=FETCH):
        if pk in number:
            members.add((households[hid], number[pk]))
    inhabited = {h for h, _ in members}
    progress.advance(20, "settlements")
    snapshot = Snapshot(
        persons=pa.table(cols),
        households=pa.table(
            {
                "hid": [h for h in range(1, len(heads) + 1) if h in inhabited],
                "head": [heads[h - 1] for h in range(1, len(heads) + 1) if h in inhabited],
            }
        ),
        members=pa.table({"hid": [m[0] for m in sorted(members)], "pid": [m[1] for m in sorted(members)]}),
        settlements=_settlements(),
        reference_date=reference_date,
    )
    return snapshot, excluded + late


def _add_intentions(cols: dict[str, list[Any]], number: dict[int, int]) -> None:
    """Each person's latest return intention: of the person, or of a record merged into them since (the
    latest given wins). Persons with none have nulls."""
    survivor = dict(Person.objects.filter(merged_into__isnull=False).values_list("id", "merged_into_id"))

    def final(pk: int) -> int:
        seen = set()
        while pk in survivor and pk not in seen:
            seen.add(pk)
            pk = survivor[pk]
        return pk

    latest: dict[int, tuple[Any, ...]] = {}
    rows = ReturnIntention.objects.order_by("recorded_at", "id").values_list(
        "person_id", "decision", "horizon", "together", "destination_id", "conditions"
    )
    for person_id, decision, horizon, together, destination, conditions in rows.iterator(chunk_size=FETCH):
        pid = number.get(final(person_id))
        if pid is not None:
            cited = ",".join(sorted({str(c) for c in (conditions if isinstance(conditions, list) else ()) if c}))
            # "" when none cited (null would read as not known, as in snapshots from before conditions)
            latest[pid] = (decision, horizon or None, together or None, destination, cited)
    blank = (None, None, None, None, None)
    values = [latest.get(pid, blank) for pid in cols["pid"]]
    for i, key in enumerate(("intention", "horizon", "together", "destination", "conditions")):
        cols[key] = [v[i] for v in values]


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def _month(value: Any) -> str | None:
    day = _date(value)
    return None if day is None else day.strftime("%Y-%m")


def _settlements() -> pa.Table:
    """Every settlement of the gazetteer with its origin district and pre-displacement population.

    The district is the one the settlement belonged to at the time of displacement (its historical unit)
    when the gazetteer records one, else its current one. The population is the gazetteer's latest figure
    from before the first qualifying displacement event (the community's own figure when given, else the
    total), or none."""
    units = {u.pk: u for u in AdminUnit.objects.all()}
    starts = [e.start.year for e in DisplacementEvent.objects.filter(qualifies=True) if e.start]
    first_event = min(starts) if starts else None
    figures: dict[int, list[tuple[int, int | None]]] = {}
    for sid, year, total, community in PopulationFigure.objects.values_list(
        "settlement_id", "year", "total", "community"
    ):
        value = community if community is not None else total
        if value is not None:
            figures.setdefault(sid, []).append((year, value))
    cols: dict[str, list[Any]] = {k: [] for k in ("sid", "gid", "title", "district", "district_name", "population",
                                                  "population_year")}  # fmt: skip
    for s in Settlement.objects.order_by("id").only("id", "gid", "title", "admin_unit_id", "historical_admin_unit_id"):
        unit = units.get(s.historical_admin_unit_id or s.admin_unit_id or -1)
        known = sorted(figures.get(s.pk, []))
        # A figure from after the displacement is no measure of the population before it: none is used then.
        before = [f for f in known if first_event is None or f[0] < first_event]
        chosen = before[-1] if before else (None, None)
        cols["sid"].append(s.pk)
        cols["gid"].append(s.gid)
        cols["title"].append(s.title)
        cols["district"].append(unit.code if unit else None)
        cols["district_name"].append(unit.name if unit else None)
        cols["population"].append(chosen[1])
        cols["population_year"].append(chosen[0])
    return pa.table(cols)
