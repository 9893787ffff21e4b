"""The template environment of the public registration pages (Jinja2).

The portal's pages are the ones many people load at once, so they are rendered by Jinja2, several times faster
than Django's template engine; the staff pages stay Django templates. The texts are Django's translations: the
templates write ``{{ _("...") }}``, which Django's ``makemessages`` collects as it does ``{% translate %}``
(a text with a placeholder is formatted after translation: ``{{ _("Step %(n)s of %(total)s")|format(...) }}``).
Texts that need a translation context are named here, in Python, where ``makemessages`` finds them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.template.defaultfilters import date as date_format
from django.template.defaultfilters import linebreaksbr
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext_lazy
from jinja2 import Environment

# The texts of the templates that carry a translation context.
WORDS = {
    "name": pgettext_lazy("person", "Name"),
    "start": pgettext_lazy("portal button", "Start"),
    "open": pgettext_lazy("portal button", "Open"),
}


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args or None)


def languages() -> list[tuple[str, str]]:
    """The languages offered, each named in its own language, and whether it is the one shown."""
    return [(code, gettext(label)) for code, label in settings.LANGUAGES]


def _date(value: Any, fmt: str) -> str:
    if not value:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return str(date_format(value, fmt))


def _described(ids: list[str]) -> str:
    return f' aria-describedby="{" ".join(ids)}"' if ids else ""


def portal_field(f: Any) -> SafeString:
    widget = f.field.widget
    name, fid, current = esc(f.html_name), esc(f.auto_id), f.value()
    kind = getattr(widget, "input_type", None)
    hint = f'<p class="hint" id="{fid}-hint">{esc(f.help_text)}</p>' if f.help_text else ""
    errors = (
        f'<p class="field-error" id="{fid}-error">{" ".join(str(esc(e)) for e in f.errors)}</p>' if f.errors else ""
    )
    described = _described([*([f"{fid}-hint"] if f.help_text else []), *([f"{fid}-error"] if f.errors else [])])
    out = [f'<div class="field{" has-error" if f.errors else ""}">\n']
    if kind == "radio" or getattr(widget, "allow_multiple_selected", False):
        multiple = bool(getattr(widget, "allow_multiple_selected", False))
        chosen = {str(v) for v in current or ()} if multiple else {str(current)}
        box = "checkbox" if multiple else "radio"
        out.append(f'<fieldset{described}><legend>{esc(f.label)}</legend>\n{hint}{errors}<div id="{fid}">')
        for number, (value, label) in enumerate(f.field.choices):
            checked = " checked" if str(value) in chosen else ""
            out.append(f'\n<div><label for="{fid}_{number}"><input type="{box}" name="{name}" value="{esc(value)}" '
                       f'id="{fid}_{number}"{checked}> {esc(label)}</label></div>')  # fmt: skip
        out.append("</div>\n</fieldset>")
    elif kind == "checkbox":
        invalid = f' aria-invalid="true" aria-describedby="{fid}-error"' if f.errors else ""
        out.append(f'{errors}<label class="check" for="{fid}"><input type="checkbox" name="{name}" id="{fid}"'
                   f'{" checked" if current else ""}{invalid}> {esc(f.label)}</label>')  # fmt: skip
    else:
        out.append(f'<label for="{fid}">{esc(f.label)}</label>\n{hint}{errors}')
        attrs = "".join(f' {esc(k)}="{esc(v)}"' for k, v in widget.attrs.items())
        if kind == "select":
            options = "".join(
                f'<option value="{esc(value)}"{" selected" if str(value) == str(current) else ""}>{esc(label)}</option>'
                for value, label in f.field.choices
            )
            out.append(f'<select name="{name}" id="{fid}"{described}>{options}</select>')
        elif kind:
            value = f' value="{esc(current)}"' if current is not None and kind != "password" else ""
            invalid = ' aria-invalid="true"' if f.errors else ""
            out.append(f'<input type="{kind}" name="{name}" id="{fid}"{value}{attrs}{described}{invalid}>')
        else:
            out.append(f'<textarea name="{name}" id="{fid}"{attrs}{described}>{esc(current or "")}</textarea>')
    out.append("\n</div>")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


def environment(**options: Any) -> Environment:
    env = Environment(**options)  # noqa: S701 - Django's Jinja2 backend turns autoescaping on
    env.globals.update(
        _=gettext, gettext=gettext, url=url, static=static, words=WORDS, languages=languages,
        language=translation.get_language, messages=get_messages, field=portal_field,
    )  # fmt: skip
    env.filters.update(linebreaksbr=lambda value: linebreaksbr(value, autoescape=True), date=_date)
    return env
