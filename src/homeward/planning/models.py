"""Planning scenarios and the plans solved for them.

A scenario's inputs are one plan instance in the file format of docs/planning.md: cohorts as counts of
households by size per origin settlement (no person, no id), housing, gates, routes, budgets and standards.
A what-if copy keeps the scenario it was copied from and the list of what was changed since.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanScenario(models.Model):
    class Basis(models.TextChoices):
        INTENTIONS = "intentions", _("the return intentions members recorded")
        # A ceiling, not anybody's choice: every eligible living member's household, with its community.
        ELIGIBLE = "eligible", _("every eligible living member (a ceiling, not their choice)")
        FILE = "file", _("an imported instance file")

    name = models.CharField(max_length=200)
    start_date = models.DateField()
    phase_days = models.PositiveIntegerField()
    phases = models.PositiveSmallIntegerField()
    notes = models.TextField(blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices)
    snapshot = models.ForeignKey(
        "census.CensusSnapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies")
    instance = models.JSONField()  # the plan instance file, as docs/planning.md describes it
    instance_sha256 = models.CharField(max_length=64)
    # What was derived with the inputs and what changed since: [{"kind", "target", "before", "after", ...}].
    derivation = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(phase_days__gte=1), name="scenario_phase_days_positive"),
            models.CheckConstraint(condition=models.Q(phases__gte=1), name="scenario_phases_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class PlanSolution(models.Model):
    """One solve of a scenario's inputs as they were then (``instance_sha256``), checked independently."""

    scenario = models.ForeignKey(PlanScenario, on_delete=models.CASCADE, related_name="solutions")
    instance_sha256 = models.CharField(max_length=64)
    instance = models.JSONField(null=True, blank=True)  # the inputs as they were solved (null: kept before)
    solution = models.JSONField()  # the solution file
    status = models.CharField(max_length=16)
    method = models.CharField(max_length=80)
    objective = models.FloatField()
    bound = models.FloatField()
    gap = models.FloatField()
    persons_placed = models.BigIntegerField()
    persons_total = models.BigIntegerField()
    seconds = models.FloatField()
    time_limit = models.FloatField()
    check_errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status} ({self.objective:.1f})"
