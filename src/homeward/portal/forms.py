"""The portal's forms: one thing per page, plain words, every limit checked next to the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from homeward.portal import selectors, services
from homeward.registry.models import Consent, ReturnIntention

SEX_CHOICES = [("", _("prefer not to say")), ("F", _("female")), ("M", _("male")), ("X", pgettext_lazy("sex", "other"))]
RELATION_CHOICES = [
    ("father", _("father")), ("mother", _("mother")), ("father_father", _("father's father")),
    ("father_mother", _("father's mother")), ("mother_father", _("mother's father")),
    ("mother_mother", _("mother's mother")), ("spouse", _("wife or husband")), ("child", _("child")),
]  # fmt: skip
DATE_HELP = _("As much as you know: a year (1961), a year and month (1961-04) or the full date (1961-04-23).")
PROBLEMS = {
    "required": _("This is needed."),
    "cannot start with =, +, - or @": _("This cannot start with =, +, - or @."),
    "contains control characters": _("This contains characters that cannot be stored."),
    "in the future": _("This date is in the future."),
    "before 1880": _("This date is too early."),
    "a year, year-month or full date (YYYY, YYYY-MM or YYYY-MM-DD)": _(
        "Write a year (1961), a year and month (1961-04) or a full date (1961-04-23)."
    ),
    "a parent or grandparent is born before the registrant": _("A parent or grandparent must be born before you."),
    "a child is born after the registrant": _("A child must be born after you."),
    "given twice": _("This family member is already in your list."),
    "only letters": _("Write only letters here (with - or ' between parts of a name)."),
    "one alphabet per word": _("A word mixes letters of two alphabets: write each word in one alphabet."),
    "before the birth date": _("A person cannot die before they were born."),
    "this is the home settlement": _(
        "This is the home settlement: choose 'together with the community' or 'on our own' instead."
    ),
    "going elsewhere names the settlement": _("Write the name of the other settlement."),
    services.NOT_TAKEN: _("This answer could not be saved. Staff will look at it; you do not need to do anything."),
    services.STILL_RECORDING: _("Your registration is still being recorded: try again in a few minutes."),
}


def problem_text(reason: str) -> Any:
    if reason.startswith("at most"):
        return _("This is too long.")
    return PROBLEMS.get(reason, reason)


class PortalForm(forms.Form):
    """Checks the fields the way the service will, and puts each problem next to its field."""

    where = "you"

    def add_problems(self, problems: list[tuple[str, str, str]]) -> None:
        for _where, name, reason in problems:
            field = name if name in self.fields else None
            self.add_error(field, problem_text(reason))


class ConsentForm(forms.Form):
    registration = forms.BooleanField(
        label=_("I agree that the community registry records me and the family members I add."), required=True,
        error_messages={"required": _("Without this agreement we cannot register you.")},
    )  # fmt: skip
    contact = forms.BooleanField(label=_("I agree to be contacted about registration and return."), required=False)
    planning = forms.BooleanField(
        label=_("I agree that my answers are used, with others', to plan a safe return."), required=False
    )
    sharing = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.PORTAL_PARTNER:
            self.fields["sharing"].label = _("I agree that my data is shared with %(partner)s.") % {
                "partner": settings.PORTAL_PARTNER
            }
        else:
            del self.fields["sharing"]

    def purposes(self) -> list[str]:
        return [p for p in Consent.Purpose.values if self.cleaned_data.get(p)]


class PersonForm(PortalForm):
    given_name = forms.CharField(
        label=_("Given name"), max_length=200, help_text=_("As in your documents, in any script.")
    )
    surname = forms.CharField(label=_("Surname"), max_length=200, required=False)
    patronymic = forms.CharField(label=_("Father's name (patronymic)"), max_length=200, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=SEX_CHOICES, required=False, widget=forms.RadioSelect)
    birth_date = forms.CharField(label=_("Date of birth"), max_length=10, required=False, help_text=DATE_HELP)
    birth_place = forms.CharField(label=_("Place of birth"), max_length=200, required=False)
    # Left empty by people; a bot that fills every field is quietly turned away.
    website = forms.CharField(label=_("Leave this empty"), max_length=200, required=False)

    def __init__(self, *args: Any, registrant: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if registrant:
            self.fields["surname"].required = True
            # The registrant's own details: a phone may fill them in (WCAG 1.3.5, the purpose of each input).
            purposes = {"given_name": "given-name", "surname": "family-name", "birth_date": "bday"}
        else:
            del self.fields["website"]
            purposes = dict.fromkeys(("given_name", "surname", "patronymic", "birth_date", "birth_place"), "off")
        for name, purpose in purposes.items():
            self.fields[name].widget.attrs["autocomplete"] = purpose

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        values, problems = services.check_person(data, where=self.where)
        self.add_problems(problems)
        data.update(values)
        return data

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class MemberForm(PersonForm):
    relation = forms.ChoiceField(label=_("Who is this to you?"), choices=RELATION_CHOICES)
    displaced = forms.BooleanField(label=_("This person left the home settlement themselves."), required=False)
    deceased = forms.BooleanField(label=_("This person has died."), required=False)
    death_date = forms.CharField(label=_("Date of death, if you know it"), max_length=10, required=False,
                                 help_text=DATE_HELP)  # fmt: skip

    field_order = ["relation", "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, registrant=False, **kwargs)
        self.fields["death_date"].widget.attrs["autocomplete"] = "off"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "death_date" in data and not self.errors:
            problems: list[tuple[str, str, str]] = []
            data["death_date"] = services._date(problems, self.where, "death_date", data.get("death_date"),
                                                today=timezone.localdate())  # fmt: skip
            born, died = data.get("birth_date") or "", data["death_date"]
            if born and died and died[:4] < born[:4]:
                problems.append((self.where, "death_date", "before the birth date"))
            self.add_problems(problems)
        return data


class OriginForm(PortalForm):
    settlement = forms.ChoiceField(label=_("Home settlement"), choices=(), required=False, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("Not in the list? Write its name and district"), max_length=200, required=False,
        help_text=_("Staff will find it in the gazetteer."),
    )  # fmt: skip
    left = forms.CharField(label=_("When the family left"), max_length=10, required=False, help_text=DATE_HELP)
    event = forms.ChoiceField(label=_("How the family left"), choices=(), required=False)
    how = forms.CharField(
        label=_("Anything else about how the family left"), max_length=1000, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    self_displaced = forms.BooleanField(label=_("I left the home settlement myself."), required=False)

    def __init__(self, *args: Any, hits: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["settlement"].choices = list(hits)  # type: ignore[attr-defined]
        self.fields["event"].choices = [  # type: ignore[attr-defined]
            ("", _("I do not know")),
            *selectors.events(),
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("settlement") and not data.get("text"):
            self.add_error("text", _("Choose your home settlement from the list, or write its name here."))
        problems: list[tuple[str, str, str]] = []
        services._date(problems, "origin", "left", data.get("left"), today=timezone.localdate())
        services._text(problems, "origin", "text", data.get("text"))
        services._text(problems, "origin", "how", data.get("how"))
        self.add_problems(problems)
        return data


class ContactForm(PortalForm):
    country = forms.CharField(
        label=_("Country you live in now"), max_length=2, required=False,
        help_text=_("Its two-letter code, such as AZ, RU, TR, DE or US."),
        widget=forms.TextInput(attrs={"autocomplete": "country"}),
    )  # fmt: skip
    city = forms.CharField(
        label=_("City or town"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )  # fmt: skip
    phone = forms.CharField(
        label=_("Phone (optional)"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )  # fmt: skip
    email = forms.EmailField(
        label=_("E-mail (optional)"), max_length=254, required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )  # fmt: skip

    def clean_country(self) -> str:
        code = str(self.cleaned_data.get("country") or "").strip().upper()
        if code and (len(code) != 2 or not code.isascii() or not code.isalpha()):
            raise forms.ValidationError(_("Write the country's two-letter code, such as AZ or DE."))
        return code

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        problems: list[tuple[str, str, str]] = []
        for name in ("city", "phone"):
            services._text(problems, "contact", name, data.get(name))
        self.add_problems(problems)
        return data


class IntentionForm(PortalForm):
    decision = forms.ChoiceField(
        label=_("Would you return to live in the home settlement?"), widget=forms.RadioSelect,
        choices=[("intends", _("Yes, I intend to return")), ("undecided", _("I have not decided")),
                 ("does_not_intend", _("No, I do not intend to return"))],
    )  # fmt: skip
    horizon = forms.ChoiceField(
        label=_("When?"), required=False, widget=forms.RadioSelect,
        choices=[("12_months", _("within 12 months")), ("5_years", _("within 5 years")), ("someday", _("one day"))],
    )  # fmt: skip
    together = forms.ChoiceField(
        label=_("With whom, and where to?"), required=False, widget=forms.RadioSelect,
        choices=[("community", _("together with the community of the home settlement")),
                 ("own", _("to the home settlement, on our own")), ("elsewhere", _("to another settlement"))],
    )  # fmt: skip
    destination = forms.CharField(label=_("Which other settlement?"), max_length=200, required=False)
    conditions = forms.MultipleChoiceField(
        label=_("What must be true before you return?"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=list(ReturnIntention.CONDITIONS.items()),
    )  # fmt: skip
    conditions_note = forms.CharField(
        label=_("Other conditions"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    needs = forms.MultipleChoiceField(
        label=_("What would you need on return?"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=list(ReturnIntention.NEEDS.items()),
    )  # fmt: skip

    def __init__(self, *args: Any, origin: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origin = origin  # the home settlement's id: going "elsewhere" names another one

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("decision") == "intends":
            if not data.get("horizon"):
                self.add_error("horizon", _("Say when you would return."))
            if not data.get("together"):
                self.add_error("together", _("Say with whom and where to."))
        if data.get("together") == "elsewhere" and data.get("decision") == "intends":
            from homeward.gazetteer.selectors import settlement_search

            hits = settlement_search(str(data.get("destination") or ""), limit=5)
            best = [h for h in hits if h.rank == 0]
            if len(best) == 1 or len(hits) == 1:
                data["destination"] = (best or hits)[0].gid
                if data["destination"] and data["destination"] == self.origin:
                    self.add_error("destination", problem_text("this is the home settlement"))
            elif not hits:
                self.add_error("destination", _("No settlement has this name. Check the spelling."))
            else:
                self.add_error(
                    "destination",
                    _("Several settlements match: %(names)s. Write the name in full.")
                    % {"names": ", ".join(f"{h.title} ({h.unit})" if h.unit else h.title for h in hits)},
                )
        else:
            data["destination"] = ""
        problems: list[tuple[str, str, str]] = []
        services._text(problems, "intention", "conditions_note", data.get("conditions_note"))
        self.add_problems(problems)
        return data

    def answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        intends = data["decision"] == "intends"
        return {
            "decision": data["decision"], "horizon": data.get("horizon", "") if intends else "",
            "together": data.get("together", "") if intends else "", "destination": data.get("destination") or "",
            "conditions": list(data.get("conditions") or []), "conditions_note": data.get("conditions_note", ""),
            "needs": list(data.get("needs") or []),
        }  # fmt: skip


class SignInForm(forms.Form):
    reference = forms.CharField(label=_("Reference number"), max_length=20, help_text=_("Such as HW-AB12-CD34."))
    passphrase = forms.CharField(
        label=_("Passphrase"), max_length=40, widget=forms.PasswordInput(render_value=False),
        help_text=_("The four groups of letters and digits you were given."),
    )  # fmt: skip


class CampaignForm(forms.Form):
    code = forms.SlugField(label=_("Code (in the link)"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
