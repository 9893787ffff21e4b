"""Reads of the gazetteer: search in any script, lists, a settlement with everything about it, exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from homeward.core.names import search_forms
from homeward.core.queries import prefix_q
from homeward.gazetteer.formats import Gazetteer, NameRec, PlaceRec, PopRec, UnitRec
from homeward.gazetteer.models import AdminUnit, NameKey, PlaceName, SecurityAssessment, Settlement


@dataclass
class SearchHit:
    settlement_id: int
    title: str
    matched: str
    lang: str
    unit: str
    status: str
    rank: int
    gid: str = ""


# What a search reads of each matching name key: plain values, not model instances (a public page searches).
_HIT_FIELDS = (
    "settlement_id", "folded", "name__folded", "name__toponym", "name__lang", "settlement__title", "settlement__status",
    "settlement__historical_admin_unit__name", "settlement__admin_unit__name", "settlement__gid",
)  # fmt: skip


def settlement_search(query: str, *, limit: int = 10) -> list[SearchHit]:
    """Settlements whose names start like the query in any script or rendering, best matches first.

    Ranks: the same folded name (0), a folded prefix (1), then names whose consonant skeleton starts
    like the query's (2), for renderings that differ in vowels or in g/h/q/k, c/j/ç.
    """
    folded, skel = search_forms(query)
    if not folded:
        return []
    found: dict[int, SearchHit] = {}

    def collect(rows: Any, rank_of: Any) -> None:
        for sid, key_folded, name_folded, toponym, lang, title, status, historical, unit, gid in rows:
            # A match at the start of the whole name ranks before one on a later word.
            rank = rank_of(key_folded) * 2 + (0 if key_folded == name_folded[: len(key_folded)] else 1)
            hit = found.get(sid)
            if hit is None or rank < hit.rank:
                found[sid] = SearchHit(settlement_id=sid, title=title, matched=toponym, lang=lang,
                                       unit=historical or unit or "", status=status, rank=rank, gid=gid)  # fmt: skip

    base = NameKey.objects.order_by("folded").values_list(*_HIT_FIELDS)
    collect(base.filter(prefix_q("folded", folded))[: limit * 4], lambda key: 0 if key == folded else 1)
    if len(found) < limit and len(skel.replace(" ", "")) >= 2:
        collect(base.filter(prefix_q("skeleton", skel))[: limit * 4], lambda key: 2)
    hits = sorted(found.values(), key=lambda h: (h.rank, h.status != "inhabited", len(h.matched), h.title))
    return hits[:limit]


def settlement_hit(gid: str, query: str = "") -> SearchHit | None:
    """One settlement by its id, as a search for ``query`` lists it (under the name of it the query matches,
    else its title); None if there is none. Two small reads instead of a search."""
    row = (
        Settlement.objects.filter(gid=gid)
        .values_list("pk", "title", "status", "historical_admin_unit__name", "admin_unit__name")
        .first()
    )
    if row is None:
        return None
    sid, title, status, historical, unit = row
    matched, lang = title, ""
    folded = search_forms(query)[0] if query else ""
    if folded:
        names = PlaceName.objects.filter(settlement_id=sid).order_by("pk").values_list("toponym", "lang", "folded")
        for toponym, name_lang, name_folded in names:
            if any(word.startswith(folded) for word in [name_folded, *name_folded.split()]):
                matched, lang = toponym, name_lang
                break
    return SearchHit(settlement_id=sid, title=title, matched=matched, lang=lang, unit=historical or unit or "",
                     status=status, rank=0, gid=gid)  # fmt: skip


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
    """The return gate: the newest assessment of the settlement or of any unit containing it.

    On the same day the settlement's own assessment wins over its unit's, and a nearer unit's over a
    wider one's. None: the place is not assessed.
    """
    candidates: list[tuple[int, SecurityAssessment]] = []
    own = settlement.assessments.order_by("-assessed_on", "-id").first()
    if own is not None:
        candidates.append((0, own))
    unit, depth, seen = settlement.admin_unit, 1, set()
    while unit is not None and unit.pk not in seen:
        seen.add(unit.pk)
        found = unit.assessments.order_by("-assessed_on", "-id").first()
        if found is not None:
            candidates.append((depth, found))
        unit, depth = unit.parent, depth + 1
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[1].assessed_on, -c[0], c[1].pk))[1]


def admin_units() -> QuerySet[AdminUnit]:
    return AdminUnit.objects.select_related("parent").order_by("level", "name")


def gazetteer_counts() -> dict[str, int]:
    return {
        "settlements": Settlement.objects.count(),
        "names": PlaceName.objects.count(),
        "units": AdminUnit.objects.count(),
    }


# The fields a stored name and its interchange record share.
NAME_FIELDS = ("toponym", "lang", "kind", "start_earliest", "start_latest", "end_earliest", "end_latest")


def name_record(name: PlaceName) -> NameRec:
    return NameRec(**{f: getattr(name, f) for f in NAME_FIELDS}, citations=list(name.citations or []))


def place_record(s: Settlement) -> PlaceRec:
    """Everything Homeward holds about a settlement, as the record the file formats read and write."""
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
        yield from (place_record(s) for s in chunk)


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


def settlement_and_unit_ids(
    *, settlement_gid: str | None, unit_code: str | None
) -> tuple[int | None, int | None] | None:
    """(settlement id, unit id) for a settlement's gid or a unit's code; None if it does not exist."""
    if settlement_gid:
        found = Settlement.objects.filter(gid=settlement_gid).values_list("pk", flat=True).first()
        return None if found is None else (found, None)
    found = AdminUnit.objects.filter(code=unit_code).values_list("pk", flat=True).first()
    return None if found is None else (None, found)
