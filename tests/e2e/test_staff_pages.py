"""A staff member signs in with two-factor authentication and uses the pages, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from homeward.access.roles import Role
from tests.conftest import totp_now
from tests.e2e.conftest import axe_violations

pytestmark = pytest.mark.e2e


def sign_in(page: Any, base: str, user: Any) -> None:
    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(user.test_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/"))
    page.get_by_label("Code").fill(totp_now(user.totp_secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_sign_in_with_mfa_and_open_the_dashboard_in_three_languages(
    live_server: Any, page: Any, make_staff: Any
) -> None:
    user = make_staff(Role.ADMIN)
    sign_in(page, live_server.url, user)
    for language in ("en", "az", "ru"):
        with translation.override(language):
            title = translation.gettext("Dashboard")
            change = translation.gettext("Change")
        if language != "en":
            page.get_by_role("combobox").select_option(language)
            page.locator("form.lang button").click()
            page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language
        assert page.get_by_role("heading", level=1).inner_text() == title
        assert page.locator("form.lang button").inner_text() == change
        assert axe_violations(page) == []
    assert page.csp_violations == []


def test_job_progress_bar_follows_the_worker(live_server: Any, page: Any, make_staff: Any) -> None:
    user = make_staff(Role.AUDITOR)
    sign_in(page, live_server.url, user)
    page.get_by_role("button", name="Check the audit chain now").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+/"))
    assert page.locator("progress").count() == 1
    assert "Waiting" in page.locator(".state").inner_text()
    call_command("worker", batch=True, interval=0.1, verbosity=0)
    # The page polls (htmx) and shows the result without a reload.
    page.get_by_text("The audit chain is intact").wait_for(timeout=10_000)
    assert "Finished" in page.locator(".state").inner_text()
    assert axe_violations(page) == []
    assert page.csp_violations == []


def test_pages_fit_a_phone_and_work_by_keyboard(live_server: Any, browser: Any, make_staff: Any) -> None:
    user = make_staff(Role.ADMIN)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, user)
        for path in ("/", "/jobs/", "/audit/", "/staff/", "/account/tokens/"):
            page.goto(live_server.url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
            assert axe_violations(page) == [], path
        page.goto(live_server.url + "/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        context.close()


def test_sign_in_page_is_accessible(live_server: Any, page: Any, db: None) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert axe_violations(page) == []
    assert page.csp_violations == []
