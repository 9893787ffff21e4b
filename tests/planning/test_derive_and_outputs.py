"""Cohorts from snapshot tables, and plans as people read them: timelines, spreadsheets, comparisons."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from homeward.planning import outputs
from homeward.planning.derive import communities_from
from homeward.planning.solver.files import instance_to_dict, solution_to_dict
from homeward.planning.solver.generate import generate
from homeward.planning.solver.resources import resources as plan_resources
from homeward.planning.solver.solve import solve

pytestmark = pytest.mark.database_free

ON = dt.date(2027, 4, 1)


def tables(people: list[dict[str, Any]], members: list[tuple[int, int]], heads: dict[int, int]) -> tuple[Any, ...]:
    columns = ("pid", "eligible", "death", "settlement", "birth", "intention", "together", "destination")
    persons = pa.table({c: [p.get(c) for p in people] for c in columns})
    return (
        persons,
        pa.table({"hid": [h for h, _ in members], "pid": [p for _, p in members]}),
        pa.table({"hid": list(heads), "head": list(heads.values())}),
    )


def person(pid: int, **values: Any) -> dict[str, Any]:
    return {"pid": pid, "eligible": True, "settlement": 7, "birth": "1970", **values}


def test_a_person_of_two_households_counts_in_the_one_that_returns() -> None:
    # Person 1 (not eligible) lives in household 1 alone and in household 2 with eligible person 2.
    people = [person(1, eligible=False, settlement=None, birth="1950"), person(2)]
    derived = communities_from(*tables(people, [(1, 1), (2, 1), (2, 2)], {1: 1, 2: 2}), on=ON)
    community = derived.communities[(7, "community", 7)]
    assert dict(community.sizes) == {2: 1}
    assert community.vulnerable == 1  # aged 77
    assert derived.persons == 2


def test_ages_count_the_birthday_when_the_date_is_known() -> None:
    people = [person(1, birth="2022-04-02"), person(2, birth="2022-04-01"), person(3, birth="1967-04-02"),
              person(4, birth="1967-04-01"), person(5, birth="1967-05")]  # fmt: skip
    derived = communities_from(*tables(people, [], {}), on=ON)
    # 4 the day before the 5th birthday (vulnerable), 5 on it; 59 the day before the 60th, 60 on it; May: 59.
    assert derived.communities[(7, "community", 7)].vulnerable == 2


def test_intentions_take_those_who_intend_and_the_children_the_way_most_chose() -> None:
    people = [
        person(1, intention="intends", together="elsewhere", destination=9),
        person(2, intention="intends", together="elsewhere", destination=9),
        person(3, intention="intends", together="community"),
        person(4, intention="does_not_intend"),
        person(5, birth="2020"),  # a child
        person(6, intention="withdrawn"),  # alone, withdrew
        person(7, intention="intends", together="own"),  # alone
    ]
    derived = communities_from(*tables(people, [(1, p) for p in range(1, 6)], {1: 1}), on=ON, basis="intentions")
    assert {k: dict(c.sizes) for k, c in derived.communities.items()} == {
        (9, "elsewhere", 7): {4: 1},  # persons 1, 2, 3 and the child; person 4 stays
        (7, "own", 7): {1: 1},
    }
    assert dict(derived.decisions) == {"intends": 4, "does_not_intend": 1, "withdrawn": 1}


def _solved(seed: int, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    instance = instance_to_dict(generate(settlements=15, persons=3_000, phases=5, seed=seed))
    instance.update(changes)
    from homeward.planning.solver.files import parse_instance

    parsed = parse_instance(instance)
    return instance, solution_to_dict(parsed, solve(parsed, time_limit=1, method="heuristic"))


def test_compare_reports_cohorts_on_either_side_and_refuses_other_calendars() -> None:
    instance, solution = _solved(4)
    placed = list(solution["moves"])
    assert placed
    # B: one placed cohort gone from the instance, another with more persons in the same phase.
    gone, grown = placed[0]["cohort"], placed[-1]["cohort"]
    instance_b = json.loads(json.dumps(instance))
    instance_b["cohorts"] = [c for c in instance_b["cohorts"] if c["id"] != gone]
    solution_b = json.loads(json.dumps(solution))
    solution_b["moves"] = [m for m in solution_b["moves"] if m["cohort"] != gone]
    for m in solution_b["moves"]:
        if m["cohort"] == grown:
            m["persons"] += 3
    result = outputs.compare(instance, solution, instance_b, solution_b)
    kinds = {c.line.cohort: c.change for c in result.changes}
    assert kinds[gone] == "no_longer_placed"
    assert kinds[grown] == "more_placed"
    later = dict(instance_b, start_date="2030-01-01")
    with pytest.raises(ValueError, match="different calendars"):
        outputs.compare(instance, solution, later, solution_b)


def test_spreadsheets_never_carry_a_formula_from_imported_names() -> None:
    instance, _ = _solved(5)
    first_route = instance["routes"][0]
    first_route["id"] = "=HYPERLINK(1)"
    for s in instance["settlements"]:
        s["route"] = first_route["id"]
        s["district"] = "@SUM(1)"
    instance["routes"] = [first_route]
    instance["standards"]["currency"] = "=1+1"
    from homeward.planning.solver.files import parse_instance

    parsed = parse_instance(instance)
    plan = solve(parsed, time_limit=1, method="heuristic")
    solution = solution_to_dict(parsed, plan, {"resources": plan_resources(parsed, plan.moves)})
    assert solution["moves"]
    rows = list(csv.reader(io.StringIO(outputs.plan_csv(instance, solution).decode())))[1:]
    assert {r[0] for r in rows} == {"'@SUM(1)"}
    assert {r[3] for r in rows} == {"'=HYPERLINK(1)"}
    resources = list(csv.reader(io.StringIO(outputs.resources_csv(instance, solution).decode())))[1:]
    assert {r[2] for r in resources} == {"'=HYPERLINK(1)"}
    book = load_workbook(io.BytesIO(outputs.plan_xlsx(instance, solution, title="=cmd")))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
