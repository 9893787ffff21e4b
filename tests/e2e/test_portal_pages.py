"""The self-registration portal in a real browser, in each language: the whole flow on a phone-sized screen,
then back with the reference and passphrase to change the answer and withdraw it. Every page passes axe-core
(WCAG 2.2 AA) and, in Azerbaijani and Russian, shows no sentence of the English pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command

from homeward.audit.services import system_actor
from homeward.portal.models import Campaign, Submission
from homeward.registry.models import ReturnIntention, SourceRecord
from homeward.registry.services.sheets import information_sheet_publish
from tests.e2e.conftest import axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("portal_home")]

SHEET = {
    "en": ("About the community registry", "The community organisation keeps this registry to know its members."),
    "az": ("İcma reyestri haqqında", "İcma təşkilatı bu reyestri öz üzvlərini tanımaq üçün aparır."),
    "ru": ("О реестре общины", "Общественная организация ведёт этот реестр, чтобы знать своих членов."),
}
# What the registrant types: the same in every language, so never counted as English left on a page.
DATA = ("Aynur", "Hüseynova", "Rauf", "Məmmədov", "Карабулак", "Qarabulaq", "Köln", "DE", "1975", "1972", "1988",
        "HW-", "First wave", "spring", "Homeward")  # fmt: skip


def _lines(page: Any) -> set[str]:
    text = page.locator("body").inner_text()
    return {
        line.strip()
        for line in text.splitlines()
        if re.search(r"[A-Za-z]{3}", line) and not any(d in line for d in DATA) and line.strip() not in
        ("Azərbaycanca", "Русский", "English")
    }  # fmt: skip


class Walk:
    """One registrant's walk; checks accessibility on every page and, in another language, English left."""

    def __init__(
        self, page: Any, base: str, language: str, english: dict[str, set[str]], *, script: bool = True
    ) -> None:
        self.page, self.base, self.language, self.english = page, base, language, english
        self.script = script  # False: a browser without JavaScript (the same pages, so axe is run with it only)
        self.problems: list[str] = []

    def seen(self, key: str) -> None:
        if self.script:
            self.problems += [f"{key}: {v}" for v in axe_violations(self.page)]
        lines = _lines(self.page)
        if self.language == "en":
            self.english[key] = self.english.get(key, set()) | lines
        else:
            self.problems += [f"{key}: English left: {line!r}" for line in sorted(lines & self.english.get(key, set()))]

    def press(self, selector: str) -> None:
        """Click, and wait until htmx shows the page the click leads to (in place, in one request); without
        JavaScript, until the browser has loaded it."""
        if not self.script:
            self.page.locator(selector).click()
            self.page.wait_for_load_state()
            return
        self.page.evaluate("() => { window.shown = false; document.addEventListener('htmx:afterSettle', "
                           "() => { window.shown = true; }, {once: true}); }")  # fmt: skip
        self.page.locator(selector).click()
        self.page.wait_for_function("() => window.shown === true")

    def go(self) -> tuple[str, str]:
        page = self.page
        page.goto(f"{self.base}/portal/?c=spring")
        page.select_option("#language-select", self.language)
        page.locator("form.lang button").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == self.language
        assert SHEET[self.language][1] in page.locator("article").inner_text()
        self.seen("start")
        self.press("button.primary")  # without the registration agreement: told why, next to it
        assert page.locator(".error-summary").count() == 1
        assert SHEET[self.language][1] in page.locator("article").inner_text()  # the sheet still above
        self.seen("consent-error")
        page.locator("#id_registration").check()
        page.locator("#id_planning").check()
        self.press("button.primary")
        page.wait_for_url("**/portal/you/")
        self.seen("you")
        page.locator("#id_given_name").fill("Aynur")
        page.locator("#id_surname").fill("Hüseynova")
        page.locator("#id_birth_date").fill("2999")
        self.press("button.primary")
        assert page.locator("#id_birth_date-error").count() == 1
        self.seen("you-error")
        page.locator("#id_birth_date").fill("1975-03")
        page.locator("input[name=sex][value=F]").check()
        self.press("button.primary")
        page.wait_for_url("**/portal/origin/")
        page.locator("#origin-q").fill("Карабулак")
        self.press("form.search button")
        page.locator("input[name=settlement][value='hw:test:qarabulaq']").check()
        page.locator("#id_left").fill("1988")
        page.locator("#id_self_displaced").check()
        self.seen("origin")
        self.press("button.primary")
        page.wait_for_url("**/portal/family/")
        self.seen("family")  # nobody listed yet: the form to add a member is open on the page
        self.press("details.add-member button")  # nobody named: the member's own page, with the problem named
        assert page.locator("#id_given_name-error").count() == 1
        self.seen("member-error")
        page.select_option("#id_relation", "spouse")
        page.locator("#id_given_name").fill("Rauf")
        page.locator("#id_surname").fill("Məmmədov")
        page.locator("#id_birth_date").fill("1972")
        self.press("button.primary")
        page.wait_for_url("**/portal/family/")
        assert "Rauf" in page.locator("ul.members").inner_text()
        assert page.locator("details.add-member").get_attribute("open") is None  # folded once someone is listed
        self.seen("member")
        self.press("button.primary")
        page.wait_for_url("**/portal/contact/")
        self.seen("contact")
        page.locator("#id_country").fill("DE")
        page.locator("#id_city").fill("Köln")
        self.press("button.primary")
        page.wait_for_url("**/portal/intention/0/")
        self.seen("intention-self")
        page.locator("input[name=decision][value=intends]").check()
        page.locator("input[name=horizon][value='5_years']").check()
        page.locator("input[name=together][value=community]").check()
        page.locator("input[name=conditions][value=security]").check()
        self.press("button.primary")
        page.wait_for_url("**/portal/intention/1/")
        self.seen("intention-other")
        self.press("button[name=skip]")
        page.wait_for_url("**/portal/check/")
        self.seen("check")
        self.press("a[href$='/portal/consent/']")  # the agreements, changed from here
        page.wait_for_url("**/portal/consent/")
        assert page.locator("#id_planning").is_checked()
        page.locator("#id_contact").check()
        self.seen("consent")
        self.press("button.primary")
        page.wait_for_url("**/portal/check/")
        self.press("button.primary")
        page.wait_for_url("**/portal/done/")
        self.seen("done")
        reference = page.locator("#reference").inner_text().strip()
        passphrase = page.locator("#passphrase").inner_text().strip()
        return reference, passphrase

    def come_back(self, reference: str, passphrase: str) -> None:
        page = self.page
        page.context.clear_cookies()
        page.goto(f"{self.base}/portal/return/")
        page.select_option("#language-select", self.language)
        page.locator("form.lang button").click()
        page.wait_for_load_state()
        self.seen("sign-in")
        page.locator("#id_reference").fill(reference)
        page.locator("#id_passphrase").fill(passphrase)
        self.press("button.primary")
        page.wait_for_url("**/portal/mine/")
        self.seen("mine")
        self.press("#member-0 a.button")
        page.wait_for_url("**/portal/mine/intention/0/")
        page.locator("input[name=decision][value=undecided]").check()
        self.press("button.primary")
        page.wait_for_url("**/portal/mine/")
        self.press("#member-0 form button")  # withdraw: one step, no reason asked
        page.wait_for_url("**/portal/mine/")
        assert page.locator("#member-0 ol li").count() == 3
        self.seen("mine-after")


def _published() -> None:
    for language, (title, body) in SHEET.items():
        information_sheet_publish(actor=system_actor("test"), version="2026-2", language=language, title=title,
                                  body=body)  # fmt: skip
    Campaign.objects.create(code="spring", name="Spring letters")


def test_without_javascript_the_same_flow_works_page_by_page(live_server: Any, browser: Any) -> None:
    _published()
    context = browser.new_context(locale="en-GB", java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        walk = Walk(context.new_page(), live_server.url, "az", {}, script=False)
        reference, passphrase = walk.go()
        call_command("worker", batch=True, interval=0.1, verbosity=0)
        walk.come_back(reference, passphrase)
    finally:
        context.close()
    record = SourceRecord.objects.get(external_id=f"{reference}-0")
    decisions = list(ReturnIntention.objects.filter(person=record.person).values_list("decision", flat=True))
    assert sorted(decisions) == ["intends", "undecided", "withdrawn"]


def test_the_whole_flow_in_each_language_with_a_way_back(live_server: Any, page: Any) -> None:
    _published()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    english: dict[str, set[str]] = {}
    problems: list[str] = []
    for language in ("en", "az", "ru"):
        walk = Walk(page, live_server.url, language, english)
        reference, passphrase = walk.go()
        assert Submission.objects.get(reference=reference).state == "received"  # stored; the worker records it
        call_command("worker", batch=True, interval=0.1, verbosity=0)
        walk.come_back(reference, passphrase)
        problems += walk.problems
        submission = Submission.objects.get(reference=reference)
        assert (submission.language, submission.state, submission.campaign.code) == (language, "recorded", "spring")
        record = SourceRecord.objects.get(external_id=f"{reference}-0")
        decisions = list(ReturnIntention.objects.filter(person=record.person).values_list("decision", flat=True))
        assert sorted(decisions) == ["intends", "undecided", "withdrawn"]
        assert not ReturnIntention.objects.filter(person__records__external_id=f"{reference}-1").exists()
    assert problems == []
    assert page.csp_violations == []
