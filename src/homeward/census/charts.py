"""Census charts: a population pyramid, the origin settlements on a map, coverage by district and return
intentions by district and horizon.

Each chart is drawn twice from the same figures: as SVG text written here, inlined in the pages (presentation
attributes only, never ``style``, so the pages' content security policy holds and no script can ride in), and
as PNG through matplotlib for people who paste charts into documents. A chart of a public release is drawn
from the published counts only: a withheld count draws nothing and is marked ``*``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from matplotlib.figure import Figure

from homeward.census.engine.tables import AGE_GROUPS, TOTAL, UNKNOWN, CountTable

matplotlib.rcParams["svg.hashsalt"] = "homeward"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK, MUTED, GRID = "#1b1f24", "#57606a", "#d0d7de"
MEN, WOMEN = "#1f5f99", "#b5452c"
REGISTERED, POPULATION = "#1f5f99", "#9ccbe8"
# Categories whose codes are words of the engine, shown in the reader's language.
YES_NO = {"yes": gettext_lazy("Yes"), "no": gettext_lazy("No")}
SEXES = {"F": gettext_lazy("Female"), "M": gettext_lazy("Male"), "X": gettext_lazy("Other")}
CATEGORY_LABELS = {
    "sex": SEXES,
    "head_sex": SEXES,
    "eligible": YES_NO,
    "with_under5": YES_NO,
    "with_65plus": YES_NO,
    "source_kind": {
        "registry": gettext_lazy("Population registry"),
        "archive": gettext_lazy("Archive"),
        "survey": gettext_lazy("Survey"),
        "portal": gettext_lazy("Portal"),
        "other": gettext_lazy("Other"),
    },
    "generation": {"0": gettext_lazy("0 (displaced themselves)")},
    "intention": {
        "intends_12_months": gettext_lazy("intends to return within 12 months"),
        "intends_5_years": gettext_lazy("intends to return within 5 years"),
        "intends_someday": gettext_lazy("intends to return one day"),
        "undecided": gettext_lazy("undecided"),
        "does_not_intend": gettext_lazy("does not intend to return"),
        "withdrawn": gettext_lazy("withdrawn"),
        "none": gettext_lazy("none recorded"),
    },
    "condition": {
        "security": gettext_lazy("security"),
        "housing": gettext_lazy("housing"),
        "services": gettext_lazy("basic services"),
        "livelihoods": gettext_lazy("livelihoods"),
        "property": gettext_lazy("property returned"),
        "documents": gettext_lazy("documents"),
        "none": gettext_lazy("none cited"),
    },
    "together": {
        "community": gettext_lazy("with the community of the origin settlement"),
        "own": gettext_lazy("to the origin settlement, on their own"),
        "elsewhere": gettext_lazy("to another settlement"),
    },
}


@dataclass
class Cube:
    """One table's counts by their categories (the total ``_T`` last on each axis); ``None`` where a count is
    withheld. The categories, labels and population figures come from the computed table."""

    code: str
    dims: tuple[str, ...]
    categories: list[list[str]]  # per dimension, without the total
    values: dict[tuple[str, ...], int | None]
    labels: list[dict[str, str]] = field(default_factory=list)
    population: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)

    def axis(self, i: int) -> list[str]:
        return [*self.categories[i], TOTAL]

    def value(self, *key: str) -> int | None:
        return self.values.get(key)

    def label(self, axis: int, code: str) -> str:
        if code == TOTAL:
            return _("Total")
        if code == UNKNOWN:
            return _("Unknown")
        fixed = CATEGORY_LABELS.get(self.dims[axis], {}).get(code)
        if fixed is not None:
            return str(fixed)
        return self.labels[axis].get(code, code) if axis < len(self.labels) else code


def cube_of_table(table: CountTable) -> Cube:
    """The exact counts of a computed table."""
    return Cube(
        table.code, table.definition.dims, [list(c) for c in table.categories], dict(table.cells()),
        list(table.labels), dict(table.population),
    )  # fmt: skip


def cube_of_release(
    code: str, dims: Sequence[str], cells: Sequence[Sequence[object]], table: CountTable | None
) -> Cube:
    """The published counts of a release (``[categories..., value or None, status]`` per cell); ``table``, the
    same table recomputed, lends only its categories' labels and population figures, never its counts."""
    values: dict[tuple[str, ...], int | None] = {}
    seen: list[dict[str, None]] = [{} for _ in dims]
    for cell in cells:
        key = tuple(str(c) for c in cell[: len(dims)])
        raw = cell[len(dims)]
        values[key] = int(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        for i, c in enumerate(key):
            if c != TOTAL:
                seen[i].setdefault(c)
    if table is not None:
        return Cube(code, tuple(dims), [list(c) for c in table.categories], values, list(table.labels),
                    dict(table.population))  # fmt: skip
    return Cube(code, tuple(dims), [list(s) for s in seen], values, [{} for _ in dims], {})


TITLES = {
    "pyramid": gettext_lazy("Registered members by age group, sex and generation"),
    "origins": gettext_lazy("Registered members by origin settlement"),
    "coverage": gettext_lazy("Coverage by origin district"),
    "intentions": gettext_lazy("Return intentions of eligible adults by origin district and horizon"),
}


# --- Figures each chart shows --------------------------------------------------------------------------------


@dataclass
class PyramidRow:
    label: str
    men: int | None
    women: int | None
    # Per generation (GENERATION_ORDER), when the table has them: None where withheld.
    men_parts: list[int | None] = field(default_factory=list)
    women_parts: list[int | None] = field(default_factory=list)


@dataclass
class Pyramid:
    rows: list[PyramidRow]  # youngest first
    unknown_age: int | None
    other_sex: int | None  # other or unknown sex: not in the pyramid
    kind: str = "pyramid"

    @property
    def title(self) -> str:
        return str(TITLES["pyramid"])

    @property
    def empty(self) -> bool:
        return not any((r.men or 0) + (r.women or 0) for r in self.rows)


@dataclass
class OriginPoint:
    label: str
    latitude: float
    longitude: float
    count: int


@dataclass
class OriginMap:
    points: list[OriginPoint]
    without_coordinates: int  # settlements with members that the gazetteer cannot place
    withheld: int
    kind: str = "origins"

    @property
    def title(self) -> str:
        return str(TITLES["origins"])

    @property
    def empty(self) -> bool:
        return not any(p.count for p in self.points)


@dataclass
class CoverageRow:
    label: str
    registered: int | None
    population: int | None

    @property
    def percent(self) -> float | None:
        if self.registered is None or not self.population:
            return None
        return 100.0 * self.registered / self.population


@dataclass
class Coverage:
    rows: list[CoverageRow]
    kind: str = "coverage"

    @property
    def title(self) -> str:
        return str(TITLES["coverage"])

    @property
    def empty(self) -> bool:
        return not any(r.registered or r.population for r in self.rows)


# Intentions in the order the bars stack them, from the soonest return to no intention recorded.
INTENTION_ORDER = ["intends_12_months", "intends_5_years", "intends_someday", "undecided", "does_not_intend",
                   "withdrawn", "none", UNKNOWN]  # fmt: skip
INTENTION_COLOURS = {"intends_12_months": "#0f5132", "intends_5_years": "#2e8b57", "intends_someday": "#8fd19e",
                     "undecided": "#e0a526", "does_not_intend": "#b5452c", "withdrawn": "#6f42c1",
                     "none": "#d0d7de", UNKNOWN: "#8c959f"}  # fmt: skip
WITHHELD = "#ffffff"


@dataclass
class IntentionRow:
    label: str
    total: int | None
    parts: list[int | None]  # per INTENTION_ORDER; None where withheld

    @property
    def shown(self) -> int:
        return sum(p or 0 for p in self.parts)

    @property
    def scale(self) -> int:
        """What the full bar stands for: the published total, or the parts if rounding put them above it."""
        return max(self.total or 0, self.shown)

    @property
    def withheld(self) -> bool:
        return self.total is None or any(p is None for p in self.parts)


@dataclass
class Intentions:
    rows: list[IntentionRow]  # districts, then all districts together
    kind: str = "intentions"

    @property
    def title(self) -> str:
        return str(TITLES["intentions"])

    @property
    def empty(self) -> bool:
        return not any(r.shown for r in self.rows)


Chart = Pyramid | OriginMap | Coverage | Intentions
KINDS = ("pyramid", "origins", "coverage", "intentions")
# The table each chart is drawn from.
SOURCES = {
    "pyramid": "members_age_sex_generation",
    "origins": "members_settlement_generation_sex",
    "coverage": "coverage_district",
    "intentions": "intentions_district_horizon",
}


GENERATION_ORDER = ["0", "1", "2", "3", "4+", UNKNOWN]
# Generations as shades, from the displaced themselves (darkest) to the youngest; unknown in grey.
GENERATION_COLOURS = {"0": "#0b3c5d", "1": "#2f6f8f", "2": "#5b9bb5", "3": "#8fc1d4", "4+": "#c3e0ea",
                      UNKNOWN: "#b8bcc2"}  # fmt: skip


def pyramid_of(cube: Cube) -> Pyramid:
    """Men and women of each age group, split by generation when the table has it (age, sex, generation);
    from a district table (district, age, sex), the district total without the split."""
    age_axis = cube.dims.index("age")
    ages = [a for a in cube.categories[age_axis] if a != UNKNOWN] or list(AGE_GROUPS)
    if "generation" in cube.dims:

        def at(age: str, sex: str, generation: str = TOTAL) -> int | None:
            return cube.value(age, sex, generation)

        rows = [
            PyramidRow(cube.label(age_axis, a), at(a, "M"), at(a, "F"),
                       [at(a, "M", g) for g in GENERATION_ORDER], [at(a, "F", g) for g in GENERATION_ORDER])
            for a in ages
        ]  # fmt: skip
        unknown_age = at(UNKNOWN, TOTAL)
        other = [at(TOTAL, s) for s in ("X", UNKNOWN)]
    else:
        rows = [PyramidRow(cube.label(age_axis, a), cube.value(TOTAL, a, "M"), cube.value(TOTAL, a, "F")) for a in ages]
        unknown_age = cube.value(TOTAL, UNKNOWN, TOTAL)
        other = [cube.value(TOTAL, TOTAL, s) for s in ("X", UNKNOWN)]
    return Pyramid(rows, unknown_age, None if any(o is None for o in other) else sum(o or 0 for o in other))


def _generation_label(code: str) -> str:
    if code == UNKNOWN:
        return str(_("none or unknown"))
    return str(CATEGORY_LABELS["generation"].get(code, code))


def origin_map_of(cube: Cube, coordinates: dict[str, tuple[float, float]]) -> OriginMap:
    """Every settlement the gazetteer places, with its registered members (all generations and sexes)."""
    points, unplaced, withheld = [], 0, 0
    for gid in cube.categories[0]:
        if gid == UNKNOWN:
            continue
        count = cube.value(gid, TOTAL, TOTAL)
        if count is None:
            withheld += 1
            continue
        where = coordinates.get(gid)
        if where is None:
            unplaced += 1 if count else 0
            continue
        points.append(OriginPoint(cube.label(0, gid), where[0], where[1], count))
    return OriginMap(points, unplaced, withheld)


def coverage_of(cube: Cube) -> Coverage:
    rows = []
    for code in cube.categories[0]:
        registered = cube.value(code)
        population = cube.population.get(code, (None, None))[0]
        if code == UNKNOWN and not registered and not population:
            continue
        rows.append(CoverageRow(cube.label(0, code), registered, population))
    return Coverage(rows)


def intentions_of(cube: Cube) -> Intentions:
    """Each district's eligible adults split by their intention (a share of the district's bar), and all
    districts together last. An unknown district is shown only when it has anyone."""
    rows = []
    for code in cube.axis(0):
        parts = [cube.value(code, i) for i in INTENTION_ORDER]
        total = cube.value(code, TOTAL)
        if code == UNKNOWN and not total and not any(parts):
            continue
        rows.append(IntentionRow(_("All districts") if code == TOTAL else cube.label(0, code), total, parts))
    return Intentions(rows)


def _intention_label(code: str) -> str:
    if code == UNKNOWN:
        return str(_("Unknown"))
    return str(CATEGORY_LABELS["intention"][code])


# --- SVG ---------------------------------------------------------------------------------------------------


def _esc(text: object) -> str:
    return escape(str(text), {'"': "&quot;"})


def _number(value: float) -> str:
    return f"{round(value):,}".replace(",", "\u202f")


def _nice_step(maximum: float, ticks: int = 4) -> int:
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * magnitude:
            return max(1, int(multiple * magnitude))
    return max(1, int(10 * magnitude))


def _nice_below(value: float) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, ... not above ``value`` (at least 1)."""
    if value < 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return int(max(m * magnitude for m in (1, 2, 5) if m * magnitude <= value))


def percent_text(percent: float) -> str:
    """A share as people read it: whole numbers, but tenths below 10 % and "< 0.1" below that."""
    if 0 < percent < 0.1:
        return f"<\u00a0{number_format(0.1, decimal_pos=1)}\u00a0%"
    return f"{number_format(percent, decimal_pos=1 if percent < 10 else 0)}\u00a0%"


def _ticks(maximum: float) -> tuple[list[int], int]:
    step = _nice_step(maximum)
    top = max(step, math.ceil(maximum / step) * step)
    return list(range(0, top + 1, step)), top


def _svg(chart_id: str, width: float, height: float, title: str, desc: str, body: list[str]) -> str:
    tid, did = f"{chart_id}-title", f"{chart_id}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{tid} {did}" '
        f'font-family="{_esc(FONT)}" font-size="12" fill="{INK}">'
        f'<title id="{tid}">{_esc(title)}</title><desc id="{did}">{_esc(desc)}</desc>'
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>'
        f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15" font-weight="700">{_esc(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: object, *, anchor: str = "start", size: int = 12, fill: str = INK,
          weight: str = "") -> str:  # fmt: skip
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{bold}>'
        f"{_esc(text)}</text>"
    )


def pyramid_svg(chart: Pyramid, chart_id: str = "pyramid") -> str:
    width, row, top = 640, 18, 64
    centre, half_label = 320, 34
    span = 220  # longest bar
    rows = chart.rows
    known = [v for r in rows for v in (r.men, r.women) if v is not None]
    ticks, scale_top = _ticks(max(known, default=0))
    unit = span / scale_top
    bottom = top + row * len(rows)
    body = [
        _text(centre - half_label - 4, top - 10, "\u2190 " + _("Men"), anchor="end", weight="700", fill=MEN),
        _text(centre + half_label + 4, top - 10, _("Women") + " \u2192", weight="700", fill=WOMEN),
    ]
    for tick in ticks:
        for side in (-1, 1):
            x = centre + side * (half_label + tick * unit)
            body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>')
            body.append(_text(x, bottom + 15, _number(tick), anchor="middle", size=10, fill=MUTED))
    for i, r in enumerate(rows):
        y = bottom - (i + 1) * row
        body.append(_text(centre, y + 13, r.label, anchor="middle", size=11))
        for side, value, colour, name in ((-1, r.men, MEN, _("Men")), (1, r.women, WOMEN, _("Women"))):
            base = centre + side * half_label
            if value is None:
                body.append(_text(base + side * 4, y + 13, "*", anchor="end" if side < 0 else "start", size=11))
                continue
            length = value * unit
            x = base - length if side < 0 else base
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{length:.1f}" height="{row - 4}" fill="{colour}">'
                f"<title>{_esc(f'{r.label}, {name}: {_number(value)}')}</title></rect>"
            )
            # Inside the bar, each generation's part, from the displaced themselves outwards.
            offset = 0.0
            for code, part in zip(GENERATION_ORDER, r.men_parts if side < 0 else r.women_parts, strict=False):
                if not part:
                    continue
                part_length = part * unit
                px = base - offset - part_length if side < 0 else base + offset
                body.append(
                    f'<rect x="{px:.1f}" y="{y + 4}" width="{part_length:.1f}" height="{row - 8}" '
                    f'fill="{GENERATION_COLOURS[code]}"><title>'
                    f"{_esc(f'{r.label}, {name}, {_generation_label(code)}: {_number(part)}')}</title></rect>"
                )
                offset += part_length
            body.append(_text(base + side * (length + 3), y + 13, _number(value),
                              anchor="end" if side < 0 else "start", size=10, fill=MUTED))  # fmt: skip
    notes = []
    y = bottom + 34
    if any(r.men_parts or r.women_parts for r in rows):
        body.append(_text(24, y, _("Generation:"), size=11, fill=MUTED))
        x = 100.0
        for code in GENERATION_ORDER:
            body.append(f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{GENERATION_COLOURS[code]}"/>')
            label = _generation_label(code)
            body.append(_text(x + 16, y, label, size=11))
            x += 24 + 6.5 * len(label)
        y += 20
    if chart.unknown_age:
        notes.append(_("Not shown: %(n)s of unknown age.") % {"n": _number(chart.unknown_age)})
    if chart.other_sex:
        notes.append(_("Not shown: %(n)s of other or unknown sex.") % {"n": _number(chart.other_sex)})
    if any(v is None for r in rows for v in (r.men, r.women)):
        notes.append(_("* count withheld: no bar is drawn."))
    for note in notes:
        body.append(_text(24, y, note, size=11, fill=MUTED))
        y += 16
    men = sum(r.men or 0 for r in rows)
    women = sum(r.women or 0 for r in rows)
    desc = _("Men: %(men)s, women: %(women)s, in %(n)s age groups from the youngest to the oldest.") % {
        "men": _number(men), "women": _number(women), "n": len(rows),
    }  # fmt: skip
    return _svg(chart_id, width, y, chart.title, desc, body)


def origin_map_svg(chart: OriginMap, chart_id: str = "origins") -> str:
    width, pad, top = 640, 28, 40
    points = chart.points
    if points:
        lats = [p.latitude for p in points]
        lons = [p.longitude for p in points]
        lat0, lat1 = min(lats), max(lats)
        lon0, lon1 = min(lons), max(lons)
    else:
        lat0 = lat1 = lon0 = lon1 = 0.0
    squeeze = math.cos(math.radians((lat0 + lat1) / 2))
    span_x = max((lon1 - lon0) * squeeze, 0.01)
    span_y = max(lat1 - lat0, 0.01)
    box_w, box_h = width - 2 * pad, 400
    k = min(box_w / span_x, box_h / span_y)
    plot_h = span_y * k
    off_x = pad + (box_w - span_x * k) / 2

    def xy(p: OriginPoint) -> tuple[float, float]:
        return off_x + (p.longitude - lon0) * squeeze * k, top + pad + (lat1 - p.latitude) * k

    largest = max((p.count for p in points), default=0)

    def radius(n: int) -> float:
        return 2.0 + 16.0 * math.sqrt(n / largest) if largest and n else 1.5

    body = [
        f'<rect x="{pad / 2:.0f}" y="{top + pad / 2:.0f}" width="{width - pad:.0f}" height="{plot_h + pad:.0f}" '
        f'fill="#f6f8fa" stroke="{GRID}"/>'
    ]
    for p in sorted(points, key=lambda p: -p.count):
        x, y = xy(p)
        tip = f"<title>{_esc(f'{p.label}: {_number(p.count)}')}</title>"
        if p.count:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius(p.count):.1f}" fill="{REGISTERED}" '
                        f'fill-opacity="0.5" stroke="{REGISTERED}" stroke-width="1">{tip}</circle>')  # fmt: skip
        else:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.5" fill="{MUTED}">{tip}</circle>')
    for p in sorted(points, key=lambda p: -p.count)[:6]:
        if p.count:
            x, y = xy(p)
            gap = radius(p.count) + 3
            # Names of settlements near the right edge go to the left of their circle.
            if x > width * 0.7:
                body.append(_text(x - gap, y + 4, p.label, anchor="end", size=11, weight="600"))
            else:
                body.append(_text(x + gap, y + 4, p.label, size=11, weight="600"))
    y = top + pad + plot_h + pad / 2 + 24
    if largest:
        legend = sorted({largest, _nice_below(largest / 4)}, reverse=True)
        x = pad
        body.append(_text(x, y, _("Registered members:"), size=11, fill=MUTED))
        x += 130
        for n in legend:
            r = radius(n)
            body.append(f'<circle cx="{x + r:.1f}" cy="{y - 4:.1f}" r="{r:.1f}" fill="{REGISTERED}" '
                        f'fill-opacity="0.5" stroke="{REGISTERED}"/>')  # fmt: skip
            body.append(_text(x + 2 * r + 4, y, _number(n), size=11))
            x += 2 * r + 60
        body.append(f'<circle cx="{x + 2:.1f}" cy="{y - 4:.1f}" r="1.5" fill="{MUTED}"/>')
        body.append(_text(x + 8, y, _("none registered"), size=11))
        y += 26
    notes = []
    if chart.without_coordinates:
        notes.append(ngettext("%(n)s settlement with members has no coordinates in the gazetteer and is not shown.",
                              "%(n)s settlements with members have no coordinates in the gazetteer and are not shown.",
                              chart.without_coordinates) % {"n": chart.without_coordinates})  # fmt: skip
    if chart.withheld:
        notes.append(ngettext("%(n)s settlement's count is withheld and is not shown.",
                              "%(n)s settlements' counts are withheld and are not shown.",
                              chart.withheld) % {"n": chart.withheld})  # fmt: skip
    for note in notes:
        body.append(_text(pad / 2, y, note, size=11, fill=MUTED))
        y += 16
    ranked = sorted(points, key=lambda p: -p.count)[:5]
    desc = _("%(n)s settlements; the most members come from: %(top)s.") % {
        "n": len(points), "top": ", ".join(f"{p.label} ({_number(p.count)})" for p in ranked if p.count) or "—",
    }  # fmt: skip
    return _svg(chart_id, width, y, chart.title, desc, body)


def coverage_svg(chart: Coverage, chart_id: str = "coverage") -> str:
    width, top, row = 640, 64, 34
    label_w, left, right = 150, 164, 560
    rows = chart.rows
    known = [v for r in rows for v in (r.registered, r.population) if v is not None]
    ticks, scale_top = _ticks(max(known, default=0))
    unit = (right - left) / scale_top
    bottom = top + row * len(rows)
    body = [
        f'<rect x="{left}" y="{top - 24}" width="12" height="12" fill="{REGISTERED}"/>',
        _text(left + 16, top - 14, _("Registered displaced persons"), size=11),
        f'<rect x="{left + 210}" y="{top - 24}" width="12" height="12" fill="{POPULATION}"/>',
        _text(left + 226, top - 14, _("Population before displacement"), size=11),
        _text(width - 8, top - 14, _("Coverage"), anchor="end", size=11, weight="700"),
    ]
    for tick in ticks:
        x = left + tick * unit
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(x, bottom + 15, _number(tick), anchor="middle", size=10, fill=MUTED))
    for i, r in enumerate(rows):
        y = top + i * row
        name = r.label if len(r.label) <= 24 else r.label[:23] + "\u2026"
        body.append(_text(label_w, y + 20, name, anchor="end", size=11))
        bars = ((4, r.registered, REGISTERED, _("registered displaced persons"), "*"),
                (17, r.population, POPULATION, _("population before displacement"), "—"))  # fmt: skip
        for offset, value, colour, what, missing in bars:
            if value is None:
                body.append(_text(left + 3, y + offset + 10, missing, size=10, fill=MUTED))
                continue
            length = value * unit
            body.append(
                f'<rect x="{left}" y="{y + offset}" width="{length:.1f}" height="12" fill="{colour}">'
                f"<title>{_esc(f'{r.label}, {what}: {_number(value)}')}</title></rect>"
            )
            body.append(_text(left + length + 3, y + offset + 10, _number(value), size=10, fill=MUTED))
        percent = r.percent
        body.append(_text(width - 8, y + 20, "—" if percent is None else percent_text(percent), anchor="end",
                          size=11, weight="700"))  # fmt: skip
    y = bottom + 36
    body.append(_text(8, y, _("* count withheld; — no figure."), size=11, fill=MUTED))
    desc = "; ".join(
        f"{r.label}: {'*' if r.registered is None else _number(r.registered)} / "
        f"{'—' if r.population is None else _number(r.population)}"
        for r in rows
    )
    return _svg(chart_id, width, y + 10, chart.title, desc, body)


def intentions_svg(chart: Intentions, chart_id: str = "intentions") -> str:
    """One bar per district, as long as the page: each intention's share of the district's eligible adults,
    the soonest returns first. A withheld count leaves a white gap marked ``*`` at the bar's end."""
    width, top, row = 640, 48, 30
    label_w, left, right = 150, 158, 560
    used = [c for c in INTENTION_ORDER if any(r.parts[INTENTION_ORDER.index(c)] for r in chart.rows)]
    # The legend first, wrapped to the width.
    body, x, y = [], 12.0, top
    for code in used:
        label = _intention_label(code)
        step = 24 + 6.2 * len(label)
        if x + step > width - 8:
            x, y = 12.0, y + 18
        body.append(f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{INTENTION_COLOURS[code]}"/>')
        body.append(_text(x + 16, y, label, size=11))
        x += step
    top = y + 20
    body.append(_text(width - 8, top - 4, _("Adults"), anchor="end", size=11, weight="700"))
    for i, r in enumerate(chart.rows):
        y = top + i * row
        name = r.label if len(r.label) <= 22 else r.label[:21] + "\u2026"
        body.append(
            _text(label_w, y + 17, name, anchor="end", size=11, weight="700" if i == len(chart.rows) - 1 else "")
        )
        body.append(f'<rect x="{left}" y="{y + 4}" width="{right - left}" height="18" fill="{WITHHELD}" '
                    f'stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
        scale = r.scale
        offset = float(left)
        for code, part in zip(INTENTION_ORDER, r.parts, strict=True):
            if not part or not scale:
                continue
            length = (right - left) * part / scale
            share = percent_text(100 * part / scale)
            body.append(
                f'<rect x="{offset:.1f}" y="{y + 4}" width="{length:.1f}" height="18" fill="{INTENTION_COLOURS[code]}">'
                f"<title>{_esc(f'{r.label}, {_intention_label(code)}: {_number(part)} ({share})')}</title></rect>"
            )
            offset += length
        if r.withheld:
            body.append(_text(min(offset + 3, right - 8), y + 17, "*", size=11))
        body.append(_text(width - 8, y + 17, "*" if r.total is None else _number(r.total), anchor="end", size=11))
    y = top + row * len(chart.rows) + 22
    body.append(_text(8, y, _("Each bar is a district's eligible adults: the parts are their shares."), size=11,
                      fill=MUTED))  # fmt: skip
    if any(r.withheld for r in chart.rows):
        y += 16
        body.append(_text(8, y, _("* count withheld: a white gap at the end of the bar."), size=11, fill=MUTED))
    desc = "; ".join(
        f"{r.label}: "
        + ", ".join(
            f"{_intention_label(c)} {'*' if p is None else _number(p)}"
            for c, p in zip(INTENTION_ORDER, r.parts, strict=True)
            if p is None or p
        )
        for r in chart.rows
    )
    return _svg(chart_id, width, y + 10, chart.title, desc, body)


def svg(chart: Chart, chart_id: str | None = None) -> str:
    if isinstance(chart, Pyramid):
        return pyramid_svg(chart, chart_id or chart.kind)
    if isinstance(chart, OriginMap):
        return origin_map_svg(chart, chart_id or chart.kind)
    if isinstance(chart, Intentions):
        return intentions_svg(chart, chart_id or chart.kind)
    return coverage_svg(chart, chart_id or chart.kind)


# --- PNG (matplotlib) ----------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return text.replace("$", r"\$")  # text, never mathtext


def png(chart: Chart) -> bytes:
    if isinstance(chart, Pyramid):
        fig = _pyramid_figure(chart)
    elif isinstance(chart, OriginMap):
        fig = _origin_figure(chart)
    elif isinstance(chart, Intentions):
        fig = _intentions_figure(chart)
    else:
        fig = _coverage_figure(chart)
    try:
        out = io.BytesIO()
        fig.savefig(out, format="png", bbox_inches="tight", metadata={"Software": None})
        return out.getvalue()
    finally:
        plt.close(fig)


def _pyramid_figure(chart: Pyramid) -> Figure:
    fig, ax = plt.subplots(figsize=(8.4, 5.2), dpi=100)
    labels = [r.label for r in chart.rows]
    ys = list(range(len(labels)))
    ax.barh(ys, [-(r.men or 0) for r in chart.rows], color=MEN, label=_plain(_("Men")))
    ax.barh(ys, [r.women or 0 for r in chart.rows], color=WOMEN, label=_plain(_("Women")))
    if any(r.men_parts or r.women_parts for r in chart.rows):
        for side in (-1, 1):
            done = [0.0] * len(chart.rows)
            for i, code in enumerate(GENERATION_ORDER):
                widths = [float((r.men_parts if side < 0 else r.women_parts)[i] or 0) for r in chart.rows]
                ax.barh(ys, [side * w for w in widths], left=[side * d for d in done], height=0.55,
                        color=GENERATION_COLOURS[code],
                        label=_plain(_generation_label(code)) if side < 0 else None)  # fmt: skip
                done = [d + w for d, w in zip(done, widths, strict=True)]
    for y, r in zip(ys, chart.rows, strict=True):
        for value, side in ((r.men, -1), (r.women, 1)):
            if value is None:
                ax.text(side * 0.5, y, "*", ha="right" if side < 0 else "left", va="center", fontsize=9)
    ax.set_yticks(ys, [_plain(label) for label in labels], fontsize=8)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: _number(abs(v))))
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.set_title(_plain(chart.title), fontsize=11)
    ax.grid(axis="x", color=GRID)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def _origin_figure(chart: OriginMap) -> Figure:
    fig, ax = plt.subplots(figsize=(6.4, 5.0), dpi=100)
    largest = max((p.count for p in chart.points), default=0) or 1
    placed = sorted(chart.points, key=lambda p: -p.count)
    ax.scatter([p.longitude for p in placed], [p.latitude for p in placed],
               s=[4 + 600 * p.count / largest if p.count else 2 for p in placed],
               c=[REGISTERED if p.count else MUTED for p in placed], alpha=0.55, linewidths=0.5)  # fmt: skip
    for p in placed[:6]:
        if p.count:
            ax.annotate(_plain(p.label), (p.longitude, p.latitude), fontsize=8, xytext=(6, 2),
                        textcoords="offset points")  # fmt: skip
    if placed:
        middle = sum(p.latitude for p in placed) / len(placed)
        ax.set_aspect(1 / max(math.cos(math.radians(middle)), 0.1))
    ax.set_xlabel(_plain(_("Longitude")), fontsize=9)
    ax.set_ylabel(_plain(_("Latitude")), fontsize=9)
    ax.set_title(_plain(chart.title), fontsize=11)
    ax.grid(color=GRID, linewidth=0.5)
    return fig


def _coverage_figure(chart: Coverage) -> Figure:
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.45 * max(len(chart.rows), 1)), dpi=100)
    ys = list(range(len(chart.rows)))[::-1]
    ax.barh([y + 0.2 for y in ys], [r.registered or 0 for r in chart.rows], height=0.4, color=REGISTERED,
            label=_plain(_("Registered displaced persons")))  # fmt: skip
    ax.barh([y - 0.2 for y in ys], [r.population or 0 for r in chart.rows], height=0.4, color=POPULATION,
            label=_plain(_("Population before displacement")))  # fmt: skip
    for y, r in zip(ys, chart.rows, strict=True):
        percent = r.percent
        ax.annotate("—" if percent is None else percent_text(percent), (1.0, y), xycoords=("axes fraction", "data"),
                    xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    ax.set_yticks(ys, [_plain(r.label) for r in chart.rows], fontsize=8)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: _number(v)))
    ax.set_title(_plain(chart.title), fontsize=11)
    ax.grid(axis="x", color=GRID)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


def _intentions_figure(chart: Intentions) -> Figure:
    fig, ax = plt.subplots(figsize=(8.4, 1.4 + 0.42 * max(len(chart.rows), 1)), dpi=100)
    ys = list(range(len(chart.rows)))[::-1]
    done = [0.0] * len(chart.rows)
    for i, code in enumerate(INTENTION_ORDER):
        shares = [100.0 * (r.parts[i] or 0) / r.scale if r.scale else 0.0 for r in chart.rows]
        if not any(shares):
            continue
        ax.barh(ys, shares, left=done, height=0.6, color=INTENTION_COLOURS[code], label=_plain(_intention_label(code)))
        done = [d + w for d, w in zip(done, shares, strict=True)]
    for y, r in zip(ys, chart.rows, strict=True):
        total = "*" if r.total is None else _number(r.total)
        ax.annotate(total + (" *" if r.withheld and r.total is not None else ""), (1.0, y),
                    xycoords=("axes fraction", "data"), xytext=(6, 0), textcoords="offset points", va="center",
                    fontsize=8)  # fmt: skip
    ax.set_yticks(ys, [_plain(r.label) for r in chart.rows], fontsize=8)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:.0f} %"))
    ax.set_title(_plain(chart.title), fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=3)
    return fig
