"""Gazetteer files: Linked Places Format (LPF 1.2) JSON and Homeward's CSV, read and written. No Django.

Reading never stops at the first problem: it returns every problem it finds, each naming the feature or
row, the field and the reason, and the caller imports nothing unless there is none.
See docs/gazetteer.md for the CSV columns and the LPF extension (``homeward:`` members).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from homeward.core.langtags import tag_problem
from homeward.core.partialdate import PartialDate

LPF_CONTEXT = "https://raw.githubusercontent.com/LinkedPasts/linked-places/master/linkedplaces-context-v1.1.jsonld"
EXTENSION = "https://homeward.invalid/ns/lpf-extension/1"
SETTLEMENT_KINDS = ("village", "town", "quarter")
STATUSES = ("inhabited", "renamed", "merged", "abandoned", "destroyed")
NAME_KINDS = ("official", "historical", "colloquial", "transliteration")
LINK_TYPES = ("closeMatch", "exactMatch", "primaryTopicOf", "subjectOf", "seeAlso")
# Column sizes of the database, checked at reading so that a long value is a problem, not a crash.
MAX = {"toponym": 200, "title": 200, "id": 120, "lang": 35, "unit": 64, "identifier": 300, "source": 300}
MAX_COUNT = 2**31 - 1
# Name kinds of which a settlement has at most one per language at any time.
EXCLUSIVE_NAME_KINDS = ("official", "historical", "transliteration")
PART_OF = "gvp:broaderPartitive"

CSV_COLUMNS = [
    "settlement_id", "settlement_title", "settlement_kind", "status", "latitude", "longitude", "admin_unit",
    "historical_admin_unit", "toponym", "lang", "name_kind", "start", "start_latest", "end", "end_latest",
    "citation", "citation_url", "links",
]  # fmt: skip
CSV_REQUIRED = ("settlement_id", "toponym", "lang")


@dataclass
class Problem:
    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.reason}"


@dataclass
class NameRec:
    toponym: str
    lang: str
    kind: str = "official"
    start_earliest: PartialDate | None = None
    start_latest: PartialDate | None = None
    end_earliest: PartialDate | None = None
    end_latest: PartialDate | None = None
    citations: list[dict[str, str]] = field(default_factory=list)
    origin: str = field(default="", compare=False)  # "row 7" for CSV: where problems are reported


@dataclass
class PopRec:
    year: int
    total: int | None
    community: int | None
    source: str
    note: str = ""


@dataclass
class UnitRec:
    code: str
    name: str
    level: str = "district"
    parent: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    valid_from: PartialDate | None = None
    valid_to: PartialDate | None = None


@dataclass
class PlaceRec:
    gid: str
    title: str
    kind: str = "village"
    status: str = "inhabited"
    latitude: float | None = None
    longitude: float | None = None
    outline: dict[str, Any] | None = None
    admin_unit: str | None = None
    historical_admin_unit: str | None = None
    merged_into: str | None = None
    description: str = ""
    names: list[NameRec] = field(default_factory=list)
    population: list[PopRec] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    origin: str = field(default="", compare=False)


@dataclass
class Gazetteer:
    units: list[UnitRec] = field(default_factory=list)
    places: list[PlaceRec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # The settlement fields the file carries; None: all of them (LPF). An import changes only these.
    fields: frozenset[str] | None = None


# ----------------------------------------------------------------------------------------------- checks


def _date(value: Any, where: str, fld: str, problems: list[Problem]) -> PartialDate | None:
    if value in (None, ""):
        return None
    try:
        return PartialDate.parse(str(value))
    except ValueError as exc:
        problems.append(Problem(where, fld, str(exc)))
        return None


def _latest_start(name: NameRec) -> date | None:
    """The latest the name can have come into use; None: unknown (after a known earliest) or never bounded."""
    if name.start_latest is not None:
        return name.start_latest.latest()
    return None


def _earliest_end(name: NameRec) -> date | None:
    if name.end_earliest is not None:
        return name.end_earliest.earliest()
    return None


def spans_overlap(a: NameRec, b: NameRec) -> bool:
    """True only when the two names were certainly in use at the same time.

    A bound missing on both sides is open (since always, until now); a bound known only on one side
    (started after X, ended before Y) cannot prove an overlap.
    """

    def starts_before_end(x: NameRec, y: NameRec) -> bool:
        x_open_start = x.start_earliest is None and x.start_latest is None
        y_open_end = y.end_earliest is None and y.end_latest is None
        if x_open_start or y_open_end:
            return True
        latest_start, earliest_end = _latest_start(x), _earliest_end(y)
        return latest_start is not None and earliest_end is not None and latest_start < earliest_end

    return starts_before_end(a, b) and starts_before_end(b, a)


def _text(value: str, limit: int, where: str, fld: str, problems: list[Problem]) -> None:
    if len(value) > limit:
        problems.append(Problem(where, fld, f"is longer than {limit} characters"))
    if "\x00" in value:
        problems.append(Problem(where, fld, "contains a NUL character"))


def check_name(name: NameRec, where: str, problems: list[Problem]) -> None:
    where = name.origin or where
    if not name.toponym.strip():
        problems.append(Problem(where, "toponym", "is empty"))
    _text(name.toponym, MAX["toponym"], where, "toponym", problems)
    _text(name.lang, MAX["lang"], where, "lang", problems)
    why = tag_problem(name.lang)
    if why:
        problems.append(Problem(where, "lang", why))
    if name.kind not in NAME_KINDS:
        problems.append(Problem(where, "kind", f"{name.kind!r} is not one of {', '.join(NAME_KINDS)}"))
    for lo, hi, label in (
        (name.start_earliest, name.start_latest, "start"),
        (name.end_earliest, name.end_latest, "end"),
    ):
        if lo and hi and hi.latest() < lo.earliest():
            problems.append(Problem(where, label, f"latest {hi} is before earliest {lo}"))
    # Only certain contradictions: the latest possible end before the earliest possible start.
    earliest_start, latest_end = name.start_earliest, name.end_latest
    if earliest_start and latest_end and latest_end.latest() < earliest_start.earliest():
        problems.append(Problem(where, "end", f"the name ends ({latest_end}) before it starts ({earliest_start})"))


def check_place(place: PlaceRec, where: str, problems: list[Problem]) -> None:
    where = place.origin or where
    _text(place.gid, MAX["id"], where, "id", problems)
    _text(place.title, MAX["title"], where, "title", problems)
    _text(place.description, 10_000, where, "description", problems)
    for fld in ("admin_unit", "historical_admin_unit", "merged_into"):
        _text(getattr(place, fld) or "", MAX["id"], where, fld, problems)
    if place.merged_into and place.merged_into == place.gid:
        problems.append(Problem(where, "merged_into", "a settlement cannot be merged into itself"))
    if not place.gid.strip():
        problems.append(Problem(where, "id", "is empty"))
    if not place.title.strip():
        problems.append(Problem(where, "title", "is empty"))
    if place.kind not in SETTLEMENT_KINDS:
        problems.append(Problem(where, "kind", f"{place.kind!r} is not one of {', '.join(SETTLEMENT_KINDS)}"))
    if place.status not in STATUSES:
        problems.append(Problem(where, "status", f"{place.status!r} is not one of {', '.join(STATUSES)}"))
    if place.latitude is not None and not -90 <= place.latitude <= 90:
        problems.append(Problem(where, "latitude", f"{place.latitude} is outside -90..90"))
    if place.longitude is not None and not -180 <= place.longitude <= 180:
        problems.append(Problem(where, "longitude", f"{place.longitude} is outside -180..180"))
    if (place.latitude is None) != (place.longitude is None):
        problems.append(Problem(where, "coordinates", "latitude and longitude go together"))
    for i, name in enumerate(place.names):
        check_name(name, f"{where} name {i + 1} ({name.toponym[:40]})", problems)
    exclusive = [n for n in place.names if n.kind in EXCLUSIVE_NAME_KINDS]
    for i, a in enumerate(exclusive):
        for b in exclusive[i + 1 :]:
            if a.kind == b.kind and a.lang == b.lang and spans_overlap(a, b):
                problems.append(
                    Problem(
                        where,
                        "names",
                        f"{a.kind} {a.lang} names {a.toponym!r} and {b.toponym!r} overlap in time",
                    )
                )
    years: set[tuple[int, str]] = set()
    for pop in place.population:
        label = f"{where} population {pop.year}"
        if not 1000 <= pop.year <= 2200:
            problems.append(Problem(label, "year", f"{pop.year} is not a plausible year"))
        if (pop.year, pop.source) in years:
            problems.append(Problem(label, "year", "given twice for the same source"))
        years.add((pop.year, pop.source))
        for value, fld in ((pop.total, "total"), (pop.community, "community")):
            if value is not None and value < 0:
                problems.append(Problem(label, fld, "is negative"))
        if pop.total is not None and pop.community is not None and pop.community > pop.total:
            problems.append(Problem(label, "community", f"{pop.community} is more than the total {pop.total}"))
        if not pop.source.strip():
            problems.append(Problem(label, "source", "is required"))
        _text(pop.source, MAX["source"], label, "source", problems)
        for value, fld in ((pop.total, "total"), (pop.community, "community")):
            if value is not None and value > MAX_COUNT:
                problems.append(Problem(label, fld, "is too large"))
    identifiers: dict[str, str] = {}
    for link_type, identifier in place.links:
        _text(identifier, MAX["identifier"], where, "links", problems)
        if identifiers.setdefault(identifier, link_type) != link_type:
            problems.append(Problem(where, "links", f"{identifier!r} is given with two link types"))
        if link_type not in LINK_TYPES:
            problems.append(Problem(where, "links", f"{link_type!r} is not one of {', '.join(LINK_TYPES)}"))
        if ":" not in identifier:
            problems.append(Problem(where, "links", f"{identifier!r} is not a prefixed id such as gn:587084"))


def check_gazetteer(gaz: Gazetteer) -> None:
    seen: dict[str, str] = {}
    for i, place in enumerate(gaz.places):
        where = f"feature {i + 1} ({place.gid})"
        if place.gid in seen:
            gaz.problems.append(Problem(where, "id", f"duplicate settlement id, first in {seen[place.gid]}"))
        seen.setdefault(place.gid, where)
        check_place(place, where, gaz.problems)
    codes: set[str] = set()
    for unit in gaz.units:
        if unit.code in codes:
            gaz.problems.append(Problem(f"unit {unit.code}", "id", "this administrative unit id is repeated"))
        codes.add(unit.code)
        if not unit.code.strip() or not unit.name.strip():
            gaz.problems.append(Problem(f"unit {unit.code}", "id", "a unit needs an id and a title"))
        _text(unit.code, MAX["unit"], f"unit {unit.code[:40]}", "id", gaz.problems)
        _text(unit.name, MAX["title"], f"unit {unit.code[:40]}", "title", gaz.problems)
        if unit.parent and unit.parent == unit.code:
            gaz.problems.append(Problem(f"unit {unit.code}", "parent", "a unit cannot contain itself"))
        if unit.valid_from and unit.valid_to and unit.valid_to.latest() < unit.valid_from.earliest():
            gaz.problems.append(Problem(f"unit {unit.code}", "when", "ends before it starts"))


# ----------------------------------------------------------------------------------------------- LPF


def _when_to_bounds(when: Any, where: str, problems: list[Problem]) -> tuple[PartialDate | None, ...]:
    if not when:
        return (None, None, None, None)
    spans = when.get("timespans") if isinstance(when, dict) else None
    if not isinstance(spans, list) or not spans:
        problems.append(Problem(where, "when", "has no timespans"))
        return (None, None, None, None)
    if len(spans) > 1:
        problems.append(Problem(where, "when", "has several timespans; give each period its own name entry"))
    span = spans[0] if isinstance(spans[0], dict) else {}
    out: list[PartialDate | None] = []
    for bound in ("start", "end"):
        value = span.get(bound) or {}
        if not isinstance(value, dict):
            problems.append(Problem(where, f"when.{bound}", "must be an object with in, earliest or latest"))
            value = {}
        exact = _date(value.get("in"), where, f"when.{bound}.in", problems)
        earliest = _date(value.get("earliest"), where, f"when.{bound}.earliest", problems)
        latest = _date(value.get("latest"), where, f"when.{bound}.latest", problems)
        out += [exact or earliest, exact or latest]
    return tuple(out)


def _bounds_to_when(lo_start: PartialDate | None, hi_start: PartialDate | None,
                    lo_end: PartialDate | None, hi_end: PartialDate | None) -> dict[str, Any] | None:  # fmt: skip
    def bound(lo: PartialDate | None, hi: PartialDate | None) -> dict[str, str] | None:
        if lo is None and hi is None:
            return None
        if lo == hi:
            return {"in": str(lo)}
        return {k: str(v) for k, v in (("earliest", lo), ("latest", hi)) if v is not None}

    span = {k: v for k, v in (("start", bound(lo_start, hi_start)), ("end", bound(lo_end, hi_end))) if v}
    if "end" in span and "start" not in span:
        # LPF requires a start: a name known to end by a date started no later than that date.
        span = {"start": {"latest": str(hi_end or lo_end)}, **span}
    return {"timespans": [span]} if span else None


def _number(value: Any, where: str, fld: str, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(Problem(where, fld, f"{value!r} is not a number"))
        return None
    if not math.isfinite(number):
        problems.append(Problem(where, fld, f"{value!r} is not a number"))
        return None
    return number


def _count(value: Any, where: str, fld: str, problems: list[Problem]) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.append(Problem(where, fld, f"{value!r} is not a whole number"))
        return None
    try:
        return int(value)
    except ValueError:
        problems.append(Problem(where, fld, f"{value!r} is not a whole number"))
        return None


def _list(value: Any, where: str, fld: str, problems: list[Problem]) -> list[Any]:
    """The value as a list: missing is empty, anything but a list is a problem."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(where, fld, "must be a list"))
        return []
    return value


def _ring_ok(coords: Any, depth: int) -> bool:
    """Nested lists of [longitude, latitude] pairs within range, ``depth`` levels deep."""
    if depth == 0:
        return (
            isinstance(coords, list)
            and len(coords) >= 2
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords[:2])
            and -180 <= coords[0] <= 180
            and -90 <= coords[1] <= 90
        )
    return isinstance(coords, list) and bool(coords) and all(_ring_ok(c, depth - 1) for c in coords)


def _geometry(geom: Any, place: PlaceRec, where: str, problems: list[Problem]) -> None:
    if not geom:
        return
    if not isinstance(geom, dict):
        problems.append(Problem(where, "geometry", "must be a GeoJSON geometry"))
        return
    if geom.get("type") == "GeometryCollection":
        parts = _list(geom.get("geometries"), where, "geometry.geometries", problems)
    else:
        parts = [geom]
    points = 0
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if part in (None, "null"):
            continue  # LPF's way of saying the location is unknown
        if kind == "Point":
            points += 1
            if points > 1:
                problems.append(Problem(where, "geometry", "has several points; give one (and an outline)"))
                continue
            coords = part.get("coordinates")
            if not (isinstance(coords, list) and len(coords) >= 2):
                problems.append(Problem(where, "geometry", "a Point needs [longitude, latitude]"))
                continue
            place.longitude = _number(coords[0], where, "geometry longitude", problems)
            place.latitude = _number(coords[1], where, "geometry latitude", problems)
        elif kind in ("Polygon", "MultiPolygon"):
            if not _ring_ok(part.get("coordinates"), 2 if kind == "Polygon" else 3):
                problems.append(Problem(where, "geometry", f"the {kind} has invalid coordinates"))
                continue
            place.outline = {"type": kind, "coordinates": part.get("coordinates")}
        else:
            problems.append(Problem(where, "geometry", f"{kind!r} geometries are not supported"))


def _relations(feature: dict[str, Any], where: str, problems: list[Problem]) -> list[dict[str, Any]]:
    rels = _list(feature.get("relations"), where, "relations", problems)
    return [r for r in rels if isinstance(r, dict) and r.get("relationType") == PART_OF]


def read_lpf(text: str) -> Gazetteer:
    gaz = Gazetteer()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        gaz.problems.append(Problem(f"line {exc.lineno}", "JSON", exc.msg))
        return gaz
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        gaz.problems.append(Problem("file", "type", "not a Linked Places FeatureCollection"))
        return gaz
    for i, feature in enumerate(doc["features"]):
        where = f"feature {i + 1}"
        if not isinstance(feature, dict):
            gaz.problems.append(Problem(where, "feature", "is not an object"))
            continue
        gid = str(feature.get("@id") or "")
        where = f"feature {i + 1} ({gid or 'no @id'})"
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        assert isinstance(props, dict)
        if props.get("homeward:feature") == "admin_unit":
            gaz.units.append(_read_unit(feature, props, gid, where, gaz.problems))
            continue
        types = [t.get("label") for t in _list(feature.get("types"), where, "types", gaz.problems)
                 if isinstance(t, dict)]  # fmt: skip
        kind = next((t for t in types if t in SETTLEMENT_KINDS), "village")
        place = PlaceRec(gid=gid, title=str(props.get("title") or ""), kind=kind,
                         status=str(props.get("homeward:status") or "inhabited"))  # fmt: skip
        descriptions = _list(feature.get("descriptions"), where, "descriptions", gaz.problems)
        if descriptions and isinstance(descriptions[0], dict):
            place.description = str(descriptions[0].get("value") or "")
        _geometry(feature.get("geometry"), place, where, gaz.problems)
        for j, name in enumerate(_list(feature.get("names"), where, "names", gaz.problems)):
            if not isinstance(name, dict):
                gaz.problems.append(Problem(f"{where} name {j + 1}", "name", "is not an object"))
                continue
            bounds = _when_to_bounds(name.get("when"), f"{where} name {j + 1}", gaz.problems)
            citations = [
                c for c in _list(name.get("citations"), f"{where} name {j + 1}", "citations", gaz.problems)
                if isinstance(c, dict)
            ]  # fmt: skip
            place.names.append(
                NameRec(
                    toponym=str(name.get("toponym") or ""),
                    lang=str(name.get("lang") or ""),
                    kind=str(name.get("homeward:kind") or "official"),
                    start_earliest=bounds[0],
                    start_latest=bounds[1],
                    end_earliest=bounds[2],
                    end_latest=bounds[3],
                    citations=[{k: str(v) for k, v in c.items()} for c in citations],
                )
            )
        for link in _list(feature.get("links"), where, "links", gaz.problems):
            if isinstance(link, dict):
                place.links.append((str(link.get("type") or ""), str(link.get("identifier") or "")))
        for rel in _relations(feature, where, gaz.problems):
            role = rel.get("homeward:role", "current")
            if role == "historical":
                place.historical_admin_unit = str(rel.get("relationTo"))
            elif role == "merged_into":
                place.merged_into = str(rel.get("relationTo"))
            else:
                place.admin_unit = str(rel.get("relationTo"))
        for k, pop in enumerate(_list(feature.get("homeward:population"), where, "homeward:population", gaz.problems)):
            label = f"{where} population {k + 1}"
            if not isinstance(pop, dict):
                gaz.problems.append(Problem(label, "population", "is not an object"))
                continue
            year = _count(pop.get("year"), label, "year", gaz.problems)
            place.population.append(
                PopRec(
                    year=year or 0,
                    total=_count(pop.get("total"), label, "total", gaz.problems),
                    community=_count(pop.get("community"), label, "community", gaz.problems),
                    source=str(pop.get("source") or ""),
                    note=str(pop.get("note") or ""),
                )
            )
        gaz.places.append(place)
    check_gazetteer(gaz)
    return gaz


def _read_unit(feature: dict[str, Any], props: dict[str, Any], gid: str, where: str,
               problems: list[Problem]) -> UnitRec:  # fmt: skip
    names = {
        str(n.get("lang")): str(n.get("toponym"))
        for n in _list(feature.get("names"), where, "names", problems)
        if isinstance(n, dict)
    }
    for lang in names:
        why = tag_problem(lang)
        if why:
            problems.append(Problem(where, "names.lang", why))
    bounds = _when_to_bounds(feature.get("when"), where, problems)
    parents = [str(r.get("relationTo")) for r in _relations(feature, where, problems)]
    return UnitRec(
        code=gid,
        name=str(props.get("title") or ""),
        level=str(props.get("homeward:level") or "district"),
        parent=parents[0] if parents else None,
        names=names,
        valid_from=bounds[0],
        valid_to=bounds[2],
    )


def write_lpf(gaz: Gazetteer) -> str:
    features: list[dict[str, Any]] = []
    for unit in gaz.units:
        feature: dict[str, Any] = {
            "@id": unit.code,
            "type": "Feature",
            "properties": {"title": unit.name, "homeward:feature": "admin_unit", "homeward:level": unit.level},
            "types": [{"label": unit.level}],
            "names": [{"toponym": t, "lang": lang} for lang, t in sorted(unit.names.items())],
            "geometry": None,
        }
        when = _bounds_to_when(unit.valid_from, unit.valid_from, unit.valid_to, unit.valid_to)
        if when:
            feature["when"] = when
        if unit.parent:
            feature["relations"] = [{"relationType": PART_OF, "relationTo": unit.parent}]
        features.append(feature)
    for place in gaz.places:
        geometry: dict[str, Any] | None = None
        point = (
            {"type": "Point", "coordinates": [place.longitude, place.latitude]} if place.latitude is not None else None
        )
        if point and place.outline:
            geometry = {"type": "GeometryCollection", "geometries": [point, place.outline]}
        else:
            geometry = point or place.outline
        names = []
        for name in place.names:
            entry: dict[str, Any] = {"toponym": name.toponym, "lang": name.lang, "homeward:kind": name.kind}
            if name.citations:
                entry["citations"] = name.citations
            when = _bounds_to_when(name.start_earliest, name.start_latest, name.end_earliest, name.end_latest)
            if when:
                entry["when"] = when
            names.append(entry)
        relations = [
            {"relationType": PART_OF, "relationTo": code, "homeward:role": role}
            for code, role in (
                (place.admin_unit, "current"),
                (place.historical_admin_unit, "historical"),
                (place.merged_into, "merged_into"),
            )
            if code
        ]
        feature = {
            "@id": place.gid,
            "type": "Feature",
            "properties": {"title": place.title, "homeward:status": place.status},
            "types": [{"label": place.kind}],
            "names": names,
            "geometry": geometry,
            "links": [{"type": t, "identifier": i} for t, i in place.links],
            "relations": relations,
            "homeward:population": [
                {"year": p.year, "total": p.total, "community": p.community, "source": p.source, "note": p.note}
                for p in place.population
            ],
        }
        if place.description:
            feature["descriptions"] = [{"value": place.description}]
        features.append(feature)
    doc = {"type": "FeatureCollection", "@context": [LPF_CONTEXT, {"homeward": EXTENSION}], "features": features}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


# ----------------------------------------------------------------------------------------------- CSV


def read_csv(text: str) -> Gazetteer:
    """One row per name; the settlement's own columns repeat on each of its rows and must agree."""
    gaz = Gazetteer()
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    # The delimiter is the header's (column names hold none of these); quoting is standard CSV.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h for h in (reader.fieldnames or []) if h.strip()]
    missing = [c for c in CSV_REQUIRED if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing:
        gaz.problems.append(Problem("header", ", ".join(missing), "required column(s) missing"))
    if unknown:
        gaz.problems.append(
            Problem("header", ", ".join(unknown), f"unknown column(s); the columns are {', '.join(CSV_COLUMNS)}")
        )
    if gaz.problems:
        return gaz
    present = set(header)
    fields = {"names"} | {f for f, cols in (
        ("title", ("settlement_title",)), ("kind", ("settlement_kind",)), ("status", ("status",)),
        ("coordinates", ("latitude", "longitude")), ("admin_unit", ("admin_unit",)),
        ("historical_admin_unit", ("historical_admin_unit",)), ("links", ("links",)),
    ) if all(c in present for c in cols)}  # fmt: skip
    gaz.fields = frozenset(fields)
    places: dict[str, tuple[PlaceRec, int]] = {}
    for row in reader:
        line = reader.line_num
        where = f"row {line}"
        if None in row:
            gaz.problems.append(Problem(where, "row", "has more cells than the header"))
            continue
        row = {k: (v or "").strip() for k, v in row.items() if k}
        gid = row["settlement_id"]
        lat = _number(row.get("latitude") or None, where, "latitude", gaz.problems)
        lon = _number(row.get("longitude") or None, where, "longitude", gaz.problems)
        candidate = PlaceRec(
            gid=gid,
            title=row.get("settlement_title", "") or row["toponym"],
            kind=row.get("settlement_kind", "") or "village",
            status=row.get("status", "") or "inhabited",
            latitude=lat,
            longitude=lon,
            admin_unit=row.get("admin_unit") or None,
            historical_admin_unit=row.get("historical_admin_unit") or None,
            links=[tuple(x.split("=", 1)) if "=" in x else ("closeMatch", x) for x in row.get("links", "").split()],
            origin=where,
        )
        if gid in places:
            place, first = places[gid]
            if candidate.links and place.links and candidate.links != place.links:
                gaz.problems.append(Problem(where, "links", f"differs from row {first} of the same settlement"))
            place.links = place.links or candidate.links
            for attr in ("title", "kind", "status", "latitude", "longitude", "admin_unit", "historical_admin_unit"):
                if getattr(candidate, attr) != getattr(place, attr) and (
                    attr != "title" or row.get("settlement_title")
                ):
                    gaz.problems.append(Problem(where, attr, f"differs from row {first} of the same settlement"))
        else:
            places[gid] = (candidate, line)
            gaz.places.append(candidate)
            place = candidate
        citations = []
        if row.get("citation") or row.get("citation_url"):
            citations.append(
                {k: v for k, v in (("label", row.get("citation", "")), ("@id", row.get("citation_url", ""))) if v}
            )
        start = _date(row.get("start"), where, "start", gaz.problems)
        end = _date(row.get("end"), where, "end", gaz.problems)
        place.names.append(
            NameRec(
                toponym=row["toponym"],
                lang=row["lang"],
                kind=row.get("name_kind") or "official",
                start_earliest=start,
                start_latest=_date(row.get("start_latest"), where, "start_latest", gaz.problems) or start,
                end_earliest=end,
                end_latest=_date(row.get("end_latest"), where, "end_latest", gaz.problems) or end,
                citations=citations,
                origin=where,
            )
        )
    check_gazetteer(gaz)
    return gaz


def write_csv(places: Iterable[PlaceRec]) -> Iterator[str]:
    """The CSV as lines, header first; a settlement with no name still gets one row (its title, in ``und``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for place in places:
        links = " ".join(f"{t}={i}" for t, i in place.links)
        base = [
            place.gid, place.title, place.kind, place.status,
            "" if place.latitude is None else f"{place.latitude:.6f}",
            "" if place.longitude is None else f"{place.longitude:.6f}",
            place.admin_unit or "", place.historical_admin_unit or "",
        ]  # fmt: skip
        for name in place.names or [NameRec(toponym=place.title, lang="und")]:
            citation = name.citations[0] if name.citations else {}
            start_latest = "" if name.start_latest == name.start_earliest else str(name.start_latest or "")
            end_latest = "" if name.end_latest == name.end_earliest else str(name.end_latest or "")
            writer.writerow(
                [*base, name.toponym, name.lang, name.kind, str(name.start_earliest or ""), start_latest,
                 str(name.end_earliest or ""), end_latest, citation.get("label", ""), citation.get("@id", ""), links]
            )  # fmt: skip
            yield flush()


def read_any(raw: bytes) -> tuple[str, Gazetteer]:
    """Detects the format from the content: JSON (LPF) or CSV. Returns (format, gazetteer)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return "unknown", Gazetteer(problems=[Problem("file", "encoding", f"not UTF-8 (byte {exc.start})")])
    if text.lstrip().startswith("{"):
        return "lpf", read_lpf(text)
    return "csv", read_csv(text)
