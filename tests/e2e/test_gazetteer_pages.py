"""The gazetteer in a real browser: search as you type in any script, the settlement page and its map."""

from __future__ import annotations

import json
from typing import Any

import pytest

from homeward.access.roles import Role
from homeward.gazetteer.models import Settlement
from homeward.gazetteer.services import gazetteer_import
from tests.conftest import SETUP
from tests.e2e.conftest import axe_violations
from tests.e2e.test_staff_pages import sign_in
from tests.gazetteer.test_services import RAW, ZANGEZUR

pytestmark = pytest.mark.e2e


def test_autocomplete_in_any_script_then_the_settlement_page(live_server: Any, page: Any, make_staff: Any) -> None:
    gazetteer_import(actor=SETUP, raw=RAW)
    gazetteer_import(actor=SETUP, raw=json.dumps(ZANGEZUR).encode())
    sign_in(page, live_server.url, make_staff(Role.REGISTRAR))
    page.get_by_role("link", name="Gazetteer").click()
    for typed in ("Зангез", "Zangaz"):
        box = page.get_by_label("Name, in any script")
        box.fill("")
        box.press_sequentially(typed, delay=30)
        page.locator("#suggestions a", has_text="Zəngəzur").wait_for(timeout=5_000)
    assert axe_violations(page) == []
    page.locator("#suggestions a", has_text="Zəngəzur").click()
    page.wait_for_url(f"{live_server.url}/gazetteer/{Settlement.objects.get(gid='test:zangezur').pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Zəngəzur"
    # Leaflet drew the place without any tile server.
    page.locator("#map .leaflet-interactive").first.wait_for(timeout=5_000)
    assert page.locator("#map path.leaflet-interactive").count() == 2  # the outline and the point
    assert page.locator("td[lang='ru-Cyrl']").inner_text() == "Зангезур"
    assert axe_violations(page) == []
    assert page.csp_violations == []


def test_settlement_with_population_chart_is_accessible(live_server: Any, page: Any, make_staff: Any) -> None:
    gazetteer_import(actor=SETUP, raw=RAW)
    settlement = Settlement.objects.filter(population__isnull=False).order_by("gid").first()
    sign_in(page, live_server.url, make_staff(Role.ADMIN))
    page.goto(f"{live_server.url}/gazetteer/{settlement.pk}/")
    chart = page.locator("img.chart")
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    assert axe_violations(page) == []
    assert page.csp_violations == []
