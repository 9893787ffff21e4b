"""English, Azerbaijani and Russian ship complete: every message translated, compiled catalogues current."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.mark.parametrize("language", ["az", "ru"])
def test_every_message_is_translated(language: str) -> None:
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    assert len(po) > 100
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


@pytest.mark.parametrize("language", ["az", "ru"])
def test_compiled_catalogue_matches_its_source(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    po = {
        (e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural
        for e in polib.pofile(str(folder / "django.po"))
        if not e.obsolete
    }
    mo = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in polib.mofile(str(folder / "django.mo")) if e.msgid}
    assert po == mo, "run `make messages` to recompile the catalogues"


@pytest.mark.parametrize(("language", "expected"), [("az", "İdarə paneli"), ("ru", "Панель управления")])
def test_pages_are_served_in_the_chosen_language(client_for, language: str, expected: str) -> None:
    client = client_for("admin")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get("/").content.decode()
    assert f'<html lang="{language}">' in html
    assert expected in html
    with translation.override(language):
        assert translation.gettext("Dashboard") == expected


def test_language_switch_sets_the_cookie(client_for) -> None:
    client = client_for("analyst")
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert "Панель управления" in client.get("/").content.decode()
