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
