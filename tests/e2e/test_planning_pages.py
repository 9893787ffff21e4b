"""Return planning in a real browser: a planner makes a scenario from the census, solves it as a job, reads the
plan with its timeline and map, makes a what-if copy with a gate opened later, and compares the two."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from homeward.access.roles import Role
from homeward.census.services import census_run
from homeward.gazetteer.models import AdminUnit
from homeward.gazetteer.services import security_assess
from homeward.planning.models import PlanScenario, PlanSolution
from tests.census.test_pages import build_registry
from tests.conftest import SETUP
from tests.e2e.conftest import axe_violations
from tests.e2e.test_staff_pages import sign_in

pytestmark = pytest.mark.e2e


def _solve_from_page(page: Any) -> None:
    page.get_by_label("Time limit (seconds)").fill("2")
    page.get_by_role("button", name="Solve", exact=True).click()
    page.wait_for_url(re.compile(r".*/jobs/\d+/$"))
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    page.locator(".state", has_text="Finished").wait_for(timeout=30_000)
    page.get_by_role("link", name="Open the scenario").click()


def test_plan_a_return_read_it_and_compare_a_what_if(
    live_server: Any, page: Any, make_staff: Any, tmp_path: Path
) -> None:
    build_registry(tmp_path / "community", records=3_000)
    unit = AdminUnit.objects.filter(settlements__isnull=False).order_by("code").first()
    security_assess(actor=SETUP, admin_unit_id=unit.pk, level="safe", assessed_on=dt.date(2026, 1, 5), source="test")
    census_run(actor=SETUP)
    base = live_server.url
    sign_in(page, base, make_staff(Role.PLANNER))
    page.get_by_role("link", name="Planning", exact=True).click()
    page.wait_for_url(f"{base}/planning/")
    assert page.get_by_role("heading", level=1).inner_text() == "Return planning"
    assert axe_violations(page) == []
    page.get_by_label("Name", exact=True).fill("first plan")
    page.get_by_label("Start date").fill("2027-04-01")
    page.get_by_label("Number of phases").fill("6")
    page.get_by_role("button", name="Make the scenario").click()
    # The cohorts are counted by a job. Nobody has recorded an intention yet: the job says so.
    page.wait_for_url(re.compile(r".*/jobs/\d+/$"))
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    page.locator(".state", has_text="Failed").wait_for(timeout=30_000)
    assert page.get_by_text("no eligible adult who intends to return", exact=False).is_visible()
    assert not PlanScenario.objects.exists()
    # The planner plans for the ceiling instead.
    page.get_by_role("link", name="Planning", exact=True).click()
    page.get_by_label("Name", exact=True).fill("first plan")
    page.get_by_label("Start date").fill("2027-04-01")
    page.get_by_label("Number of phases").fill("6")
    page.get_by_label("every eligible living member (a ceiling, not their choice)").check()
    page.get_by_role("button", name="Make the scenario").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+/$"))
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    page.locator(".state", has_text="Finished").wait_for(timeout=30_000)
    page.get_by_role("link", name="Open the scenario").click()
    scenario = PlanScenario.objects.get(name="first plan")
    page.wait_for_url(f"{base}/planning/{scenario.pk}/")
    assert page.get_by_text("No plan yet: solve the scenario.").is_visible()
    _solve_from_page(page)
    page.wait_for_url(f"{base}/planning/{scenario.pk}/")
    solution = PlanSolution.objects.get(scenario=scenario)
    assert page.get_by_role("img", name="Timeline of the return by district and settlement").is_visible()
    assert page.get_by_role("img", name="Arrivals over the whole plan, by settlement and route").is_visible()
    assert f"{solution.persons_placed:,}" in page.locator(".plan-summary").inner_text()
    assert page.locator("#phase-table tbody tr").count() == 6
    assert axe_violations(page) == []
    assert page.csp_violations == []
    page.get_by_label("Phase", exact=True).select_option("1")
    page.locator("#map-phase").get_by_role("button", name="Show").click()
    assert page.get_by_role("img", name="Arrivals in phase 1, by settlement and route").is_visible()
    # A what-if copy in which the first open settlement opens only in phase 3.
    target = next(s for s in scenario.instance["settlements"] if s["safe_from"])
    page.get_by_label("What-if copy named").fill("later gate")
    page.get_by_role("button", name="Copy", exact=True).click()
    copy = PlanScenario.objects.get(name="later gate")
    page.wait_for_url(f"{base}/planning/{copy.pk}/")
    page.locator("#change-gate").get_by_label("Gate of").select_option(target["id"])
    page.locator("#change-gate").get_by_label("safe from (empty: not safe)").fill("2027-10-01")
    page.locator("#change-gate").get_by_role("button", name="Change").click()
    assert page.get_by_text("Changed. Solve again to see the effect.").is_visible()
    _solve_from_page(page)
    page.get_by_role("link", name="compare with it").click()
    page.wait_for_url(re.compile(r".*/planning/compare/\?a=\d+&b=\d+$"))
    assert target["name"] in page.locator("#input-changes").inner_text()
    assert page.locator("#compare-phases tbody tr").count() == 6
    assert axe_violations(page) == []
    assert page.csp_violations == []
    # The printable plan.
    page.goto(f"{base}/planning/{copy.pk}/print/")
    assert page.get_by_role("heading", level=1).inner_text() == "Return plan: later gate"
    assert page.csp_violations == []
