"""Reads of the gazetteer: search in any script, lists, a settlement with everything about it, exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from homeward.core.names import search_forms
from homeward.gazetteer.formats import Gazetteer, NameRec, PlaceRec, PopRec, UnitRec
from homeward.gazetteer.models import AdminUnit, PlaceName, SecurityAssessment, Settlement

# The highest code point: "abc" <= x < "abc" + HIGH is a prefix range that every database indexes.
HIGH = "\U0010ffff"


@dataclass
class SearchHit:
    settlement_id: int
    title: str
    matched: str
    lang: str
    unit: str
    status: str
    rank: int


def _prefix(column: str, value: str) -> Q:
    return Q(**{f"{column}__gte": value, f"{column}__lt": value + HIGH})


def settlement_search(query: str, *, limit: int = 10) -> list[SearchHit]:
    """Settlements whose names start like the query in any script or rendering, best matches first.

    Ranks: the same folded name (0), a folded prefix (1), then names whose consonant skeleton starts
    like the query's (2), for renderings that differ in vowels or in g/h/q/k, c/j/ç.
    """
    folded, skel = search_forms(query)
    if not folded:
        return []
    found: dict[int, SearchHit] = {}

    def collect(names: QuerySet[PlaceName], rank_of: Any) -> None:
        for name in names:
            rank = rank_of(name)
            hit = found.get(name.settlement_id)
            if hit is None or rank < hit.rank:
                unit = name.settlement.historical_admin_unit or name.settlement.admin_unit
                found[name.settlement_id] = SearchHit(
                    settlement_id=name.settlement_id,
                    title=name.settlement.title,
                    matched=name.toponym,
                    lang=name.lang,
                    unit=unit.name if unit else "",
                    status=name.settlement.status,
                    rank=rank,
                )

    base = PlaceName.objects.select_related(
        "settlement", "settlement__admin_unit", "settlement__historical_admin_unit"
    ).order_by("folded")
    collect(base.filter(_prefix("folded", folded))[: limit * 4], lambda n: 0 if n.folded == folded else 1)
    if len(found) < limit and len(skel.replace(" ", "")) >= 2:
        collect(base.filter(_prefix("skeleton", skel))[: limit * 4], lambda n: 2)
    hits = sorted(found.values(), key=lambda h: (h.rank, h.status != "inhabited", len(h.matched), h.title))
    return hits[:limit]


def settlements(*, query: str = "", unit_id: int | None = None, status: str = "") -> QuerySet[Settlement]:
    items = Settlement.objects.select_related("admin_unit", "historical_admin_unit").annotate(
        name_count=Count("names", distinct=True)
    )
    if query:
        items = items.filter(pk__in=[h.settlement_id for h in settlement_search(query, limit=200)])
    if unit_id:
        items = items.filter(Q(historical_admin_unit_id=unit_id) | Q(admin_unit_id=unit_id))
    if status:
        items = items.filter(status=status)
    return items.order_by("title")


def settlement_detail(settlement_id: int) -> Settlement | None:
    return (
        Settlement.objects.select_related("admin_unit", "historical_admin_unit", "merged_into")
        .prefetch_related(
            Prefetch("names", queryset=PlaceName.objects.order_by("start_earliest", "end_earliest", "lang")),
            "population",
            "links",
            Prefetch("assessments", queryset=SecurityAssessment.objects.select_related("recorded_by")),
        )
        .filter(pk=settlement_id)
        .first()
    )


def latest_assessment(settlement: Settlement) -> SecurityAssessment | None:
    """The newest assessment of the settlement, else of the nearest unit containing it (the return gate)."""
    own = settlement.assessments.order_by("-assessed_on", "-id").first()
    if own is not None:
        return own
    unit = settlement.admin_unit
    seen: set[int] = set()
    while unit is not None and unit.pk not in seen:
        seen.add(unit.pk)
        found = unit.assessments.order_by("-assessed_on", "-id").first()
        if found is not None:
            return found
        unit = unit.parent
    return None


def admin_units() -> QuerySet[AdminUnit]:
    return AdminUnit.objects.select_related("parent").order_by("level", "name")


def gazetteer_counts() -> dict[str, int]:
    return {
        "settlements": Settlement.objects.count(),
        "names": PlaceName.objects.count(),
        "units": AdminUnit.objects.count(),
    }


def name_record(name: PlaceName) -> NameRec:
    return NameRec(
        toponym=name.toponym,
        lang=name.lang,
        kind=name.kind,
        start_earliest=name.start_earliest,
        start_latest=name.start_latest,
        end_earliest=name.end_earliest,
        end_latest=name.end_latest,
        citations=list(name.citations or []),
    )


def _place_record(s: Settlement) -> PlaceRec:
    return PlaceRec(
        gid=s.gid,
        title=s.title,
        kind=s.kind,
        status=s.status,
        latitude=None if s.latitude is None else float(s.latitude),
        longitude=None if s.longitude is None else float(s.longitude),
        outline=s.outline,
        admin_unit=s.admin_unit.code if s.admin_unit else None,
        historical_admin_unit=s.historical_admin_unit.code if s.historical_admin_unit else None,
        merged_into=s.merged_into.gid if s.merged_into else None,
        description=s.description,
        names=[name_record(n) for n in s.names.all()],
        population=[PopRec(p.year, p.total, p.community, p.source, p.note) for p in s.population.all()],
        links=[(link.type, link.identifier) for link in s.links.all()],
    )


def export_places(batch: int = 500) -> Iterator[PlaceRec]:
    ids = list(Settlement.objects.order_by("gid").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = (
            Settlement.objects.filter(pk__in=ids[start : start + batch])
            .select_related("admin_unit", "historical_admin_unit", "merged_into")
            .prefetch_related(Prefetch("names", queryset=PlaceName.objects.order_by("id")), "population", "links")
            .order_by("gid")
        )
        yield from (_place_record(s) for s in chunk)


def export_gazetteer() -> Gazetteer:
    units = [
        UnitRec(
            code=u.code,
            name=u.name,
            level=u.level,
            parent=u.parent.code if u.parent else None,
            names=dict(u.names),
            valid_from=u.valid_from,
            valid_to=u.valid_to,
        )
        for u in AdminUnit.objects.select_related("parent").order_by("code")
    ]
    return Gazetteer(units=units, places=list(export_places()))
