"""The self-registration portal: information campaigns and the submissions people make themselves.

A submission is stored, encrypted and whole, before anything else happens; recording it then makes source
records of the self-registration source (through the registry's import), the registrant's consents and
each adult's return intention. The registrant comes back with the reference and a passphrase; only a keyed
hash of the passphrase is kept.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from homeward.core.fields import EncryptedTextField
from homeward.registry.models import ImportBatch, ReturnIntention


class Campaign(models.Model):
    """An information campaign: its code goes in the links it spreads (``/portal/?c=CODE``)."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code


class Submission(models.Model):
    """One registration as the registrant sent it (encrypted), and what became of it."""

    class State(models.TextChoices):
        RECEIVED = "received", _("received, not yet recorded")
        RECORDED = "recorded", _("recorded in the registry")

    reference = models.CharField(max_length=16, unique=True)
    # The draft's own token: the same check-your-answers page sent twice makes one submission.
    draft = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=64)  # keyed hash of the passphrase
    payload = EncryptedTextField(context="portal.submission.payload")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    sheet_version = models.CharField(max_length=64)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="submissions")
    # A keyed hash of the sender's network address, for rate limits; never the address itself.
    sender = models.CharField(max_length=64, blank=True)
    members = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(blank=True)
    received_at = models.DateTimeField()
    recorded_at = models.DateTimeField(null=True, blank=True)
    consents_withdrawn = models.JSONField(default=list, blank=True)  # purposes the registrant withdrew here
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["sender", "received_at"]), models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return self.reference


class SubmissionIntention(models.Model):
    """An intention version given through the portal under a submission: what the registrant may see again."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="intentions")
    member = models.PositiveSmallIntegerField()  # 0 the registrant, then family members in the order given
    intention = models.OneToOneField(ReturnIntention, on_delete=models.PROTECT, related_name="+")
    # Withdrawn here only: the registrant withdrew an answer given for a relative after the relative's own answer,
    # given elsewhere, had already superseded it (the relative's answer stands).
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["member", "-intention__version"]

    def __str__(self) -> str:
        return f"{self.submission_id}:{self.member}"
