"""The registry in a real browser: search, a person's page with the eligibility chain, the tree, an import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from homeward.access.roles import Role
from homeward.registry.models import Person
from tests.e2e.conftest import axe_violations
from tests.e2e.test_staff_pages import sign_in
from tests.registry.test_pages import _setup

pytestmark = pytest.mark.e2e


def test_search_person_page_tree_and_imports_are_accessible(
    live_server: Any, page: Any, make_staff: Any, tmp_path: Path
) -> None:
    _setup(tmp_path)
    sign_in(page, live_server.url, make_staff(Role.ADMIN))
    page.get_by_role("link", name="Registry", exact=True).click()
    page.get_by_label("Name (any script)").fill("Мамедова Гюльнара")
    page.get_by_role("button", name="Search").click()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Gülnarə Həsən qızı Məmmədova").click()
    person = Person.objects.get(given_name="Gülnarə")
    page.wait_for_url(f"{live_server.url}/registry/persons/{person.pk}/")
    assert "generation 2" in page.locator("#h-elig + p").inner_text()
    assert page.locator("ol.chain > li").count() == 3
    assert axe_violations(page) == []
    page.get_by_role("link", name="Family tree").click()
    assert page.locator("ul.tree li").count() >= 3
    assert axe_violations(page) == []
    page.get_by_role("link", name="Imports", exact=True).click()
    assert axe_violations(page) == []
    page.locator("table a").first.click()
    assert axe_violations(page) == []
    assert page.csp_violations == []


def test_an_administrator_publishes_an_information_sheet_and_reads_it(
    live_server: Any, page: Any, make_staff: Any
) -> None:
    sign_in(page, live_server.url, make_staff(Role.ADMIN))
    page.get_by_role("link", name="Registry settings", exact=True).click()
    page.get_by_role("link", name="See and publish the information sheets").click()
    page.wait_for_url(f"{live_server.url}/registry/sheets/")
    assert page.get_by_text("No information sheet is published yet", exact=False).is_visible()
    assert axe_violations(page) == []
    page.locator("summary", has_text="Publish a sheet").click()
    page.get_by_label("Version", exact=True).fill("2027-1")
    page.get_by_label("Language of the text").select_option("ru")
    page.get_by_label("Title", exact=True).fill("Регистрация")
    page.get_by_label("Text", exact=True).fill("Кто ведёт реестр и зачем.\n\nЧто хранится и кто это видит.")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"{live_server.url}/registry/sheets/*/")
    assert page.get_by_role("heading", level=1).inner_text() == "Регистрация"
    assert page.locator("article[lang=ru] p").count() == 2
    assert axe_violations(page) == []
    page.get_by_role("link", name="Information sheets").click()
    page.wait_for_url(f"{live_server.url}/registry/sheets/")
    page.locator("#sheet-2027-1").wait_for()
    assert axe_violations(page) == []
    assert page.csp_violations == []
