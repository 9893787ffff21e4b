"""The census in a real browser: an analyst runs it from the page, follows the job, and reads the public
release with its withheld counts marked ``*``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from homeward.access.roles import Role
from homeward.census.models import CensusRelease
from tests.census.test_pages import build_registry
from tests.e2e.conftest import axe_violations
from tests.e2e.test_staff_pages import sign_in

pytestmark = pytest.mark.e2e


def test_run_the_census_and_read_the_release(live_server: Any, page: Any, make_staff: Any, tmp_path: Path) -> None:
    build_registry(tmp_path / "community", records=3_000)
    base = live_server.url
    sign_in(page, base, make_staff(Role.ANALYST))
    page.get_by_role("link", name="Census", exact=True).click()
    page.wait_for_url(f"{base}/census/")
    assert page.get_by_role("heading", level=1).inner_text() == "Census"
    assert "No release yet." in page.locator("main").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("Note (optional)").fill("first census")
    page.get_by_role("button", name="Run the census").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+/$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Census run")
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    # The job page polls and shows the end of the run without a reload.
    page.locator(".state", has_text="Finished").wait_for(timeout=30_000)
    release = CensusRelease.objects.get()
    assert release.snapshot.note == "first census"
    page.get_by_role("link", name="Census", exact=True).click()
    page.get_by_role("link", name=f"Release {release.pk}", exact=True).click()
    page.wait_for_url(f"{base}/census/releases/{release.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Census release {release.pk}"
    # The first table is open; its withheld counts are stars, explained by the legend.
    first = page.locator("details[open]")
    assert first.count() == 1
    stars = first.locator("td.withheld")
    assert stars.count() > 0
    assert stars.first.is_visible()
    assert {stars.nth(i).inner_text() for i in range(stars.count())} == {"*"}
    assert page.locator("#census-legend").is_visible()
    # Another table opens on a click.
    coverage = page.locator("#table-coverage_district")
    assert not coverage.locator("table").is_visible()
    coverage.locator("summary").click()
    assert coverage.locator("table").is_visible()
    assert page.get_by_role("img", name=re.compile("Coverage by origin district")).is_visible()
    assert axe_violations(page) == []
    assert page.csp_violations == []
    # The analyst may also read the exact tables, with the charts drawn from them.
    page.locator("dl.meta").get_by_role("link", name=f"#{release.snapshot_id}", exact=True).click()
    page.wait_for_url(f"{base}/census/snapshots/{release.snapshot_id}/")
    for name in ("Registered members by age group, sex and generation", "Registered members by origin settlement",
                 "Return intentions of eligible adults by origin district and horizon"):  # fmt: skip
        assert page.get_by_role("img", name=re.compile(name)).is_visible()
    assert axe_violations(page) == []
    assert page.csp_violations == []
