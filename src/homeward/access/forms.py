from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from homeward.access.roles import ROLE_LABELS, Role

ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]


class StaffCreateForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


class StaffRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("What the token is for"), max_length=100)
