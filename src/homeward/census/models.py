"""Census snapshots (the frozen identities every table is computed from) and releases made from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CensusSnapshot(models.Model):
    """The registry's identities after linkage, frozen at a moment: pseudonymous, no names, encrypted at rest.
    Every table is computed from a snapshot, so the same snapshot always gives the same tables."""

    reference_date = models.DateField()
    content_hash = models.CharField(max_length=64)  # sha256 of the snapshot's bytes
    stored_file = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    persons = models.BigIntegerField(default=0)
    households = models.BigIntegerField(default=0)
    # Persons left out: processing restricted at their request, or erased.
    excluded = models.BigIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.reference_date}, {self.content_hash[:12]})"


class CensusRelease(models.Model):
    """Tables published from one snapshot under stated rules. A public release holds only
    disclosure-controlled counts; what it published is kept, to compare the next release with."""

    snapshot = models.ForeignKey(CensusSnapshot, on_delete=models.PROTECT, related_name="releases")
    public = models.BooleanField(default=True)
    threshold = models.PositiveSmallIntegerField(default=10)
    rounding = models.PositiveSmallIntegerField(default=5)
    geography = models.CharField(max_length=16, default="district")
    # {table code: [[categories..., published count or null, status], ...]}
    cells = models.JSONField(default=dict)
    outputs_hash = models.CharField(max_length=64, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    suppressed = models.PositiveIntegerField(default=0)
    linear_programs = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(threshold__gte=1), name="release_threshold_positive"),
            models.CheckConstraint(condition=models.Q(rounding__gte=1), name="release_rounding_positive"),
        ]

    def __str__(self) -> str:
        kind = _("public") if self.public else _("internal")
        return f"#{self.pk} {kind} ({self.snapshot.reference_date})"
