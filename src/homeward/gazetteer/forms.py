from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from homeward.gazetteer.models import AdminUnit, PlaceName, SecurityAssessment, Settlement

PARTIAL_HELP = _("YYYY, YYYY-MM or YYYY-MM-DD; leave empty if unknown")


class SettlementForm(forms.Form):
    title = forms.CharField(label=_("Name shown"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Settlement.Kind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Settlement.Status.choices)
    latitude = forms.DecimalField(label=_("Latitude"), required=False, min_value=-90, max_value=90, decimal_places=6)
    longitude = forms.DecimalField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180, decimal_places=6
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class NameForm(forms.Form):
    toponym = forms.CharField(label=_("Name"), max_length=200)
    lang = forms.CharField(
        label=_("Language and script (BCP 47)"), max_length=35, help_text="az-Latn, az-Cyrl, ru-Cyrl, hy-Armn, en"
    )
    kind = forms.ChoiceField(label=_("Kind of name"), choices=PlaceName.Kind.choices)
    start = forms.CharField(label=_("In use from"), required=False, help_text=PARTIAL_HELP)
    end = forms.CharField(label=_("In use until"), required=False, help_text=PARTIAL_HELP)
    citation = forms.CharField(label=_("Source"), required=False, max_length=300)


class PopulationForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=1000, max_value=2200)
    total = forms.IntegerField(label=_("Total population"), required=False, min_value=0)
    community = forms.IntegerField(label=_("Of them, members of the community"), required=False, min_value=0)
    source = forms.CharField(label=_("Source"), max_length=300)


class AssessmentForm(forms.Form):
    level = forms.ChoiceField(label=_("Level"), choices=SecurityAssessment.Level.choices)
    assessed_on = forms.DateField(label=_("Assessed on"), widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(label=_("Source"), max_length=300)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Gazetteer file (Linked Places JSON or CSV)"))


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Name, in any script"), required=False)
    unit = forms.ModelChoiceField(
        label=_("District"), queryset=AdminUnit.objects.none(), required=False, empty_label=_("any")
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("any")), *Settlement.Status.choices])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["unit"].queryset = AdminUnit.objects.order_by("level", "name")  # type: ignore[attr-defined]
