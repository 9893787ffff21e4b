from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from homeward.gazetteer.models import AdminUnit
from homeward.registry import selectors
from homeward.registry.models import Consent, ReturnIntention, Source, SubjectRequest


class PersonFilterForm(forms.Form):
    q = forms.CharField(label=_("Name (any script)"), required=False, max_length=100)
    generation = forms.IntegerField(label=_("Generation"), required=False, min_value=0, max_value=20)
    country = forms.CharField(label=_("Country now (two letters)"), required=False, max_length=2)
    eligible = forms.TypedChoiceField(
        label=_("Eligibility"),
        required=False,
        choices=[("", _("any")), ("1", _("eligible")), ("0", _("not eligible"))],
        coerce=lambda v: v == "1",
        empty_value=None,
    )
    origin = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ImportForm(forms.Form):
    source = forms.SlugField(label=_("Source (short name)"), max_length=64,
                             help_text=_("For example az-registry. An unknown source is created."))  # fmt: skip
    file = forms.FileField(label=_("File (CSV, XLSX or Parquet)"))
    mapping = forms.FileField(label=_("Mapping (TOML), for a layout other than the person records file"),
                              required=False)  # fmt: skip


class ChooseValueForm(forms.Form):
    field = forms.ChoiceField(choices=[(f, f) for f in (
        "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place", "death_date",
        "origin_settlement", "current_country", "current_city")])  # fmt: skip
    record = forms.IntegerField(required=False)
    value = forms.CharField(required=False, max_length=200, label=_("Value"))
    reason = forms.CharField(required=False, max_length=500, label=_("Reason"))


class SubjectRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Request"), choices=SubjectRequest.Kind.choices)
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.CharField(label=_("How it came (letter, e-mail, in person)"), max_length=64, required=False)
    details = forms.CharField(label=_("Details"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class CloseRequestForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome or reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    exceptions = forms.CharField(
        label=_("Kept despite erasure, and why (e.g. a pending property claim)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


def _offer_published_sheets(field: Any, versions: list[str] | None) -> None:
    """Only a published sheet, read per request unless given: the person was told what that text says. The
    newest first and proposed."""
    field.choices = [(v, v) for v in (selectors.published_versions() if versions is None else versions)]
    field.initial = next(iter(field.choices), ("", ""))[0]


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Consent.Purpose.choices)
    sheet_version = forms.ChoiceField(label=_("Information sheet version"), choices=())
    # Consent given to a source registry comes with that source's records, never typed in by staff.
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[c for c in Consent.Channel.choices if c[0] != Consent.Channel.SOURCE]
    )
    partner = forms.CharField(label=_("Partner (for sharing)"), max_length=200, required=False)

    def __init__(self, *args: Any, versions: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_published_sheets(self.fields["sheet_version"], versions)


class IntentionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[c for c in ReturnIntention.Decision.choices if c[0] != ReturnIntention.Decision.WITHDRAWN],
    )
    horizon = forms.ChoiceField(label=_("When"), choices=[("", "—"), *ReturnIntention.Horizon.choices], required=False)
    together = forms.ChoiceField(
        label=_("With whom"), choices=[("", "—"), *ReturnIntention.Together.choices], required=False
    )
    destination = forms.CharField(
        label=_("Other settlement (its gazetteer id), when going elsewhere"), max_length=120, required=False
    )
    conditions = forms.MultipleChoiceField(
        label=_("Conditions for returning"), choices=list(ReturnIntention.CONDITIONS.items()), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    conditions_note = forms.CharField(label=_("Other conditions"), max_length=1000, required=False)
    needs = forms.MultipleChoiceField(
        label=_("Needs on return"), choices=list(ReturnIntention.NEEDS.items()), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    sheet_version = forms.ChoiceField(label=_("Information sheet version"), choices=())
    channel = forms.ChoiceField(
        label=_("Given by"),
        choices=[c for c in ReturnIntention.Channel.choices if c[0] != ReturnIntention.Channel.PORTAL],
    )

    def __init__(self, *args: Any, versions: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_published_sheets(self.fields["sheet_version"], versions)


class InformationSheetForm(forms.Form):
    version = forms.CharField(label=_("Version"), max_length=64, help_text=_("For example 2026-1."))
    language = forms.ChoiceField(label=_("Language of the text"), choices=settings.LANGUAGES)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Who runs the registry and why, what is stored, who sees it, and how to withdraw. "
                    "Paragraphs are separated by an empty line. Once published, the text never changes."),
    )  # fmt: skip


class KinshipForm(forms.Form):
    relative = forms.IntegerField(label=_("Relative's person number"), min_value=1)
    role = forms.ChoiceField(
        label=_("The relative is this person's"),
        choices=[("parent", _("parent")), ("child", _("child")), ("spouse", _("spouse"))],
    )
    adoptive = forms.BooleanField(label=_("Adoption"), required=False)
    note = forms.CharField(label=_("Evidence or note"), max_length=500, required=False)


class EventForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=64)
    label = forms.CharField(label=_("Name"), max_length=200)
    start = forms.CharField(label=_("From (YYYY, YYYY-MM or YYYY-MM-DD)"), max_length=10, required=False)
    end = forms.CharField(label=_("To"), max_length=10, required=False)
    qualifies = forms.BooleanField(label=_("Counts for eligibility"), required=False, initial=True)


class SourceForm(forms.Form):
    code = forms.SlugField(label=_("Short name"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Source.Kind.choices)
    country = forms.CharField(label=_("Country (two letters)"), max_length=2, required=False)
    trust = forms.IntegerField(label=_("Trust, 1 (hearsay) to 5 (official registry)"), min_value=1, max_value=5)


class OriginRegionForm(forms.Form):
    units = forms.ModelMultipleChoiceField(
        label=_("Administrative units of the origin region"),
        queryset=AdminUnit.objects.order_by("level", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
