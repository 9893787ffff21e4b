"""A solved plan as people read it: its timeline, totals per phase, spreadsheets, and the difference between
two plans. Pure Python over the instance and solution files (dicts), no Django; labels are given by the caller
so that pages can translate them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from homeward.census.engine.outputs import FORMULA_START

RESOURCE_FIELDS = (
    "persons", "households", "seats", "shelter_m2", "shelter_units", "water_litres", "food_kcal", "nfi_kits",
    "toilets", "water_taps", "transport_cost", "package_cost", "cash_grants", "cost",
)  # fmt: skip


def _text(value: Any) -> Any:
    """A text a spreadsheet would run as a formula is written with a leading '."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _cells(row: list[Any]) -> list[Any]:
    """Every text of a row that a spreadsheet would run as a formula, made plain text (names, ids, routes
    and currencies all come from files people import)."""
    return [_text(v) for v in row]


@dataclass
class CohortLine:
    """One cohort in the plan: where it goes and in which phase(s), or why it cannot go."""

    cohort: str
    kind: str
    settlement: str
    settlement_name: str
    district: str
    route: str
    persons: int
    households: int
    phases: dict[int, int] = field(default_factory=dict)  # phase (from 1) -> persons
    reason: str = ""
    message: str = ""
    template: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def first_phase(self) -> int | None:
        return min(self.phases) if self.phases else None


def phase_dates(instance: dict[str, Any], phase: int) -> tuple[dt.date, dt.date]:
    """First and last day of a phase numbered from 1."""
    start = dt.date.fromisoformat(instance["start_date"]) + dt.timedelta(days=instance["phase_days"] * (phase - 1))
    return start, start + dt.timedelta(days=instance["phase_days"] - 1)


def cohort_lines(instance: dict[str, Any], solution: dict[str, Any] | None) -> list[CohortLine]:
    """Every cohort of the instance, by district, settlement and cohort, with its moves or its reason."""
    places = {s["id"]: s for s in instance["settlements"]}
    lines = {}
    for c in instance["cohorts"]:
        place = places[c["settlement"]]
        sizes = {int(k): int(v) for k, v in c["households"].items()}
        lines[c["id"]] = CohortLine(
            cohort=c["id"], kind=c["kind"], settlement=place["id"], settlement_name=place["name"],
            district=place["district"], route=place["route"],
            persons=sum(k * v for k, v in sizes.items()), households=sum(sizes.values()),
        )  # fmt: skip
    for move in (solution or {}).get("moves", []):
        line = lines.get(move.get("cohort", ""))
        if line is not None:
            phase = int(move.get("phase", 0))
            line.phases[phase] = line.phases.get(phase, 0) + int(move.get("persons", 0))
    for item in (solution or {}).get("unplaced", []):
        line = lines.get(item.get("cohort", ""))
        if line is not None:
            line.reason, line.message = item.get("reason", ""), item.get("message", "")
            line.template, line.params = item.get("template", ""), item.get("params", {})
    return sorted(lines.values(), key=lambda x: (x.district, x.settlement_name, x.settlement, x.kind, x.cohort))


def phase_totals(instance: dict[str, Any], solution: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per phase, every route together: the resource figures summed, with the phase's dates and budget."""
    sums: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(RESOURCE_FIELDS, 0.0))
    for row in (solution or {}).get("resources", []):
        for key in RESOURCE_FIELDS:
            sums[int(row["phase"])][key] += row.get(key, 0) or 0
    out = []
    for phase in range(1, instance["phases"] + 1):
        start, end = phase_dates(instance, phase)
        figures = sums.get(phase, dict.fromkeys(RESOURCE_FIELDS, 0.0))
        seats = sum(r["seats"][phase - 1] for r in instance["routes"])
        out.append({
            "phase": phase, "start": start.isoformat(), "end": end.isoformat(),
            "budget": instance["budget"][phase - 1], "seat_capacity": seats,
            **{k: round(v, 2) for k, v in figures.items()},
        })  # fmt: skip
    return out


MOVE_COLUMNS = ("district", "settlement_id", "settlement", "route", "cohort", "kind", "phase", "phase_start",
                "phase_end", "persons", "households_in_cohort", "split")  # fmt: skip
UNPLACED_COLUMNS = ("district", "settlement_id", "settlement", "cohort", "kind", "persons", "reason", "message")


def move_rows(instance: dict[str, Any], solution: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for line in cohort_lines(instance, solution):
        for phase, persons in sorted(line.phases.items()):
            start, end = phase_dates(instance, phase)
            rows.append(_cells([
                line.district, line.settlement, line.settlement_name, line.route, line.cohort, line.kind, phase,
                start.isoformat(), end.isoformat(), persons, line.households, "yes" if len(line.phases) > 1 else "no",
            ]))  # fmt: skip
    return rows


def unplaced_rows(instance: dict[str, Any], solution: dict[str, Any]) -> list[list[Any]]:
    return [
        _cells([x.district, x.settlement, x.settlement_name, x.cohort, x.kind, x.persons, x.reason, x.message])
        for x in cohort_lines(instance, solution)
        if x.reason
    ]


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def plan_csv(instance: dict[str, Any], solution: dict[str, Any]) -> bytes:
    """One row per move: the settlement, cohort, phase with its dates, and persons."""
    return _csv(MOVE_COLUMNS, move_rows(instance, solution))


def resources_csv(instance: dict[str, Any], solution: dict[str, Any]) -> bytes:
    header = ("phase", "start", "route", "settlements", *RESOURCE_FIELDS)
    rows = [_cells([r.get(k, "") for k in header]) for r in solution.get("resources", [])]
    return _csv(header, rows)


def plan_xlsx(instance: dict[str, Any], solution: dict[str, Any], *, title: str) -> bytes:
    """The plan as a workbook: about, phases (totals and budget), moves, resources by phase and route, and
    cohorts left out with their reasons."""
    from openpyxl import Workbook

    book = Workbook()
    about = book.active
    about.title = "About"
    for row in (
        ["Plan", _text(title)],
        ["Start", instance["start_date"]],
        ["Phases", instance["phases"], "of", instance["phase_days"], "days"],
        ["Status", solution.get("status")],
        ["Objective", solution.get("objective")],
        ["Proven bound", solution.get("bound")],
        ["Gap", solution.get("gap")],
        ["Persons placed", solution.get("persons_placed"), "of", solution.get("persons_total")],
        ["Cohesion (overall)", (solution.get("cohesion") or {}).get("overall")],
        ["Currency", instance.get("standards", {}).get("currency", "")],
        ["Inputs (sha256)", solution.get("instance_sha256")],
    ):
        about.append(_cells(row))
    totals = phase_totals(instance, solution)
    phases = book.create_sheet("Phases")
    header = list(totals[0].keys()) if totals else []
    phases.append(header)
    for t in totals:
        phases.append([t[k] for k in header])
    moves = book.create_sheet("Moves")
    moves.append(list(MOVE_COLUMNS))
    for row in move_rows(instance, solution):
        moves.append(row)
    resources = book.create_sheet("Resources")
    keys = ("phase", "start", "route", "settlements", *RESOURCE_FIELDS)
    resources.append(list(keys))
    for r in solution.get("resources", []):
        resources.append(_cells([r.get(k, "") for k in keys]))
    unplaced = book.create_sheet("Not placed")
    unplaced.append(list(UNPLACED_COLUMNS))
    for row in unplaced_rows(instance, solution):
        unplaced.append(row)
    for sheet in book.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and cell.value.startswith("'"):
                    cell.data_type = "s"
    book.properties.creator = "Homeward"
    raw = io.BytesIO()
    book.save(raw)
    return raw.getvalue()


# --- Two plans side by side -------------------------------------------------------------------------------------


@dataclass
class CohortChange:
    line: CohortLine  # in the second plan
    before: dict[int, int]
    after: dict[int, int]
    change: str  # earlier, later, now_placed, no_longer_placed, more_placed, fewer_placed, resplit

    @property
    def shift(self) -> int:
        if not self.before or not self.after:
            return 0
        return min(self.after) - min(self.before)


@dataclass
class Comparison:
    changes: list[CohortChange]
    phases: list[dict[str, Any]]  # per phase: persons and cost in each plan and the difference
    counts: dict[str, int]
    summary: dict[str, tuple[Any, Any]]


def compare(
    instance_a: dict[str, Any], solution_a: dict[str, Any], instance_b: dict[str, Any], solution_b: dict[str, Any]
) -> Comparison:
    """What differs from plan A to plan B: who moves earlier or later, who is now placed or no longer, and
    how each phase's persons and cost change. Cohorts are matched by id."""
    if (instance_a["start_date"], instance_a["phase_days"]) != (instance_b["start_date"], instance_b["phase_days"]):
        raise ValueError("the two plans have different calendars (start date or phase length): their phases "
                         "are not the same dates")  # fmt: skip
    a = {x.cohort: x for x in cohort_lines(instance_a, solution_a)}
    b = {x.cohort: x for x in cohort_lines(instance_b, solution_b)}
    changes = []
    for cohort in sorted(a.keys() | b.keys()):
        line = b.get(cohort) or a[cohort]
        before = a[cohort].phases if cohort in a else {}
        after = b[cohort].phases if cohort in b else {}
        if before == after:
            continue
        if not before:
            kind = "now_placed"
        elif not after:
            kind = "no_longer_placed"
        elif min(after) < min(before):
            kind = "earlier"
        elif min(after) > min(before):
            kind = "later"
        elif sum(after.values()) != sum(before.values()):
            kind = "more_placed" if sum(after.values()) > sum(before.values()) else "fewer_placed"
        else:
            kind = "resplit"
        changes.append(CohortChange(line, before, after, kind))
    order = {"earlier": 0, "now_placed": 1, "more_placed": 2, "later": 3, "no_longer_placed": 4, "fewer_placed": 5,
             "resplit": 6}  # fmt: skip
    changes.sort(key=lambda c: (order[c.change], c.shift, c.line.district, c.line.settlement_name))
    ta, tb = phase_totals(instance_a, solution_a), phase_totals(instance_b, solution_b)
    phases = []
    for phase in range(1, max(len(ta), len(tb)) + 1):
        pa = ta[phase - 1] if phase <= len(ta) else {}
        pb = tb[phase - 1] if phase <= len(tb) else {}
        row: dict[str, Any] = {"phase": phase, "start": (pb or pa).get("start", "")}
        for key in ("persons", "households", "shelter_m2", "cost"):
            row[key] = (pa.get(key, 0), pb.get(key, 0), round(pb.get(key, 0) - pa.get(key, 0), 2))
        phases.append(row)
    counts = {k: sum(1 for c in changes if c.change == k) for k in order}
    summary = {
        key: (solution_a.get(key), solution_b.get(key))
        for key in ("objective", "bound", "gap", "persons_placed", "persons_total")
    }
    summary["cohesion"] = ((solution_a.get("cohesion") or {}).get("overall"),
                           (solution_b.get("cohesion") or {}).get("overall"))  # fmt: skip
    summary["splits"] = (len(solution_a.get("splits", [])), len(solution_b.get("splits", [])))
    return Comparison(changes, phases, counts, summary)
