"""The plan drawn as SVG: a Gantt chart of the timeline by district and settlement, and a map of arrivals by
phase. Pure Python, no Django: every label comes from the caller, already translated."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from html import escape

from homeward.planning.outputs import CohortLine

PALETTE = ("#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#e6ab02", "#666666",
           "#17becf")  # fmt: skip
ROW = 16
LEFT = 230
TOP = 34


def _short(text: str, n: int = 32) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def gantt_svg(
    lines: list[CohortLine], *, phases: int, phase_label: Callable[[int], str], tip: Callable[[str, int, int], str],
    district_names: dict[str, str], not_placed: str, title: str,
) -> str:  # fmt: skip
    """Rows: each district (its persons per phase, darker for more), then its settlements (a bar in each phase
    their cohorts move in). Phases are numbered across the top, with ``phase_label(phase)`` (a date) under
    some of them; ``tip(place, phase, persons)`` is each bar's tooltip."""
    width_phase = max(14, min(40, 760 // max(1, phases)))
    by_district: dict[str, dict[str, list[CohortLine]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        by_district[line.district][line.settlement].append(line)
    rows: list[str] = []
    y = TOP
    for district in sorted(by_district, key=lambda d: (district_names.get(d, d), d)):
        places = by_district[district]
        per_phase: dict[int, int] = defaultdict(int)
        for group in places.values():
            for line in group:
                for phase, persons in line.phases.items():
                    per_phase[phase] += persons
        peak = max(per_phase.values(), default=0)
        name = district_names.get(district, district)
        rows.append(f'<text x="4" y="{y + 12}" font-weight="bold">{escape(_short(name, 34))}</text>')
        for phase, persons in sorted(per_phase.items()):
            opacity = 0.25 + 0.75 * persons / peak if peak else 1
            x = LEFT + (phase - 1) * width_phase
            rows.append(
                f'<rect x="{x}" y="{y + 2}" width="{width_phase - 1}" height="{ROW - 4}" fill="#333" '
                f'fill-opacity="{opacity:.2f}"><title>{escape(tip(name, phase, persons))}</title></rect>'
            )
        y += ROW
        for settlement in sorted(places, key=lambda s: (places[s][0].settlement_name, s)):
            group = places[settlement]
            label = group[0].settlement_name
            rows.append(f'<text x="14" y="{y + 12}">{escape(_short(label))}</text>')
            if all(not line.phases for line in group):
                rows.append(
                    f'<text x="{LEFT + 2}" y="{y + 12}" fill="#888" font-style="italic">{escape(not_placed)}</text>'
                )
            for i, line in enumerate(sorted(group, key=lambda g: g.cohort)):
                for phase, persons in sorted(line.phases.items()):
                    x = LEFT + (phase - 1) * width_phase
                    colour = PALETTE[i % len(PALETTE)]
                    rows.append(
                        f'<rect x="{x}" y="{y + 3}" width="{width_phase - 1}" height="{ROW - 6}" fill="{colour}">'
                        f"<title>{escape(tip(label, phase, persons))}</title></rect>"
                    )
            y += ROW
    header = []
    every = max(1, math.ceil(64 / width_phase))  # a date is about 60 px wide
    for phase in range(1, phases + 1):
        x = LEFT + (phase - 1) * width_phase
        if width_phase >= 16 or (phase - 1) % max(1, math.ceil(16 / width_phase)) == 0:
            header.append(f'<text x="{x + 2}" y="11" font-size="10">{phase}</text>')
        if (phase - 1) % every == 0:
            header.append(f'<text x="{x + 2}" y="24" font-size="10" fill="#555">{escape(phase_label(phase))}</text>')
        header.append(f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{y}" stroke="#ddd"/>')
    width = LEFT + phases * width_phase + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {y + 6}" width="{width}" '
        f'height="{y + 6}" class="gantt" font-family="sans-serif" font-size="11"><title>{escape(title)}</title>'
        f"{''.join(header)}{''.join(rows)}</svg>"
    )


def flow_map_svg(
    arrivals: dict[str, int], places: dict[str, tuple[float, float, str, str]], routes: dict[str, str], *,
    title: str, tip: Callable[[str, int], str], closed: set[str], width: int = 720,
) -> str:  # fmt: skip
    """Settlements placed by their coordinates: a circle for each one receiving people (area by persons,
    colour by route), a small dot for each other one of the plan (a cross when its gate is closed).
    ``places``: id -> (latitude, longitude, name, route)."""
    if not places:
        return ""
    lats = [p[0] for p in places.values()]
    lons = [p[1] for p in places.values()]
    mid = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * mid, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    pad = 24
    legend_height = 18 * ((len(routes) + 2) // 3) + 8
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale + 2 * pad)
    if height > width:
        scale = (width - 2 * pad) / span_y
        height = int(span_y * scale + 2 * pad)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return pad + (lon - min(lons)) * mid * scale, pad + (max(lats) - lat) * scale

    colour = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(sorted(routes))}
    peak = max(arrivals.values(), default=0)
    marks = []
    for pid, (lat, lon, _name, _route) in sorted(places.items()):
        if pid in arrivals:
            continue
        x, y = xy(lat, lon)
        if pid in closed:
            marks.append(f'<path d="M{x - 2:.1f},{y - 2:.1f}l4,4m0,-4l-4,4" stroke="#b00"/>')
        else:
            marks.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="#bbb"/>')
    for pid, persons in sorted(arrivals.items(), key=lambda kv: -kv[1]):
        if pid not in places:
            continue
        lat, lon, name, route = places[pid]
        x, y = xy(lat, lon)
        r = 3 + 14 * math.sqrt(persons / peak) if peak else 3
        marks.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour.get(route, "#333")}" fill-opacity="0.7" '
            f'stroke="#fff"><title>{escape(tip(name, persons))}</title></circle>'
        )
    legend = []
    for i, (rid, name) in enumerate(sorted(routes.items())):
        x, y = 8 + (i % 3) * (width // 3), height + 14 + 18 * (i // 3)
        legend.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="5" fill="{colour[rid]}"/>'
                      f'<text x="{x + 14}" y="{y}">{escape(_short(name, 30))}</text>')  # fmt: skip
    total = height + legend_height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {total}" width="{width}" '
        f'height="{total}" class="flow-map" font-family="sans-serif" font-size="11"><title>{escape(title)}</title>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f4f7fa"/>{"".join(marks)}{"".join(legend)}</svg>'
    )


def arrivals_in(lines: list[CohortLine], phase: int | None) -> dict[str, int]:
    """Persons arriving at each settlement in a phase (every phase when None)."""
    out: dict[str, int] = defaultdict(int)
    for line in lines:
        for p, persons in line.phases.items():
            if phase is None or p == phase:
                out[line.settlement] += persons
    return dict(out)
