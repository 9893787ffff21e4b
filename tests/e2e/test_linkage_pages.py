"""The review queue in a real browser: a reviewer decides pairs with the keyboard (A same person, N next pair),
and typing those letters in the note does not decide anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from homeward.access.roles import Role
from homeward.linkage.models import LinkDecision, MatchCandidate
from tests.e2e.conftest import axe_violations
from tests.e2e.test_staff_pages import sign_in
from tests.linkage.conftest import build_linked_registry

pytestmark = pytest.mark.e2e


def _state(candidate: MatchCandidate) -> str:
    return MatchCandidate.objects.get(pk=candidate.pk).state


def test_review_by_keyboard(live_server: Any, page: Any, make_staff: Any, tmp_path: Path) -> None:
    build_linked_registry(tmp_path)
    first, second, third = MatchCandidate.objects.filter(state=MatchCandidate.State.PENDING).order_by(
        "-probability", "id"
    )[:3]
    base = live_server.url
    sign_in(page, base, make_staff(Role.REVIEWER))
    page.get_by_role("link", name="Linkage", exact=True).click()
    page.get_by_role("link", name="Review the next pair").click()
    page.wait_for_url(f"{base}/linkage/candidates/{first.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Same person?"
    assert axe_violations(page) == []
    # Typed into the note, "a" is a letter of the note: nothing is decided, the page stays.
    note = page.get_by_label("Note (optional)")
    note.click()
    page.keyboard.press("a")
    page.keyboard.type(" brother, not him")
    page.wait_for_timeout(500)
    assert page.url == f"{base}/linkage/candidates/{first.pk}/"
    assert note.input_value() == "a brother, not him"
    assert _state(first) == MatchCandidate.State.PENDING
    # Outside the note, "a" is "same person": the pair is decided, with the note, and the next pair opens.
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("a")
    page.wait_for_url(f"{base}/linkage/candidates/{second.pk}/")
    assert _state(first) == MatchCandidate.State.ACCEPTED
    assert LinkDecision.objects.get(candidate=first, revoked_at__isnull=True).reason == "a brother, not him"
    assert "Recorded: the same person." in page.locator("main").inner_text()
    # "n" skips a pair without deciding it.
    page.keyboard.press("n")
    page.wait_for_url(re.compile(rf".*/linkage/candidates/{third.pk}/$"))
    assert _state(second) == MatchCandidate.State.PENDING
    assert axe_violations(page) == []
    assert page.csp_violations == []
