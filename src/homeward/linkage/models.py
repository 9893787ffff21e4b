"""Record linkage in the registry: runs, the review queue, reviewers' decisions and identity changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from homeward.registry.models import Person, SourceRecord


class LinkageRun(models.Model):
    """One linkage over all current source records: what it merged and what it queued for review."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    records = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)  # scored pairs at or above the review threshold
    merged = models.PositiveIntegerField(default=0)  # persons merged into another automatically
    queued = models.PositiveIntegerField(default=0)  # pairs waiting for a reviewer
    sure = models.FloatField()
    review = models.FloatField()
    trained = models.BooleanField(default=False)
    # The Splink model used (JSON), so that the next run reuses it and every result can be reproduced.
    model = models.TextField(blank=True)
    notices = models.JSONField(default=list)
    seconds = models.JSONField(default=dict)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"linkage run {self.pk}"


class MatchCandidate(models.Model):
    """Two records of different persons that may be one person: waits for a reviewer."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting")
        DEFERRED = "deferred", _("deferred")
        ACCEPTED = "accepted", _("same person")
        REJECTED = "rejected", _("different persons")
        CLOSED = "closed", _("no longer open")  # the records met otherwise, or a later run dropped the pair

    run = models.ForeignKey(LinkageRun, on_delete=models.PROTECT, related_name="candidates")
    record_a = models.ForeignKey(SourceRecord, on_delete=models.PROTECT, related_name="+")
    record_b = models.ForeignKey(SourceRecord, on_delete=models.PROTECT, related_name="+", db_index=False)
    probability = models.FloatField()
    match_weight = models.FloatField()
    # Per compared field: its label, the level the two values reached, that level's weight, both values.
    evidence = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record_a", "record_b"], name="candidate_once_per_pair"),
            models.CheckConstraint(condition=models.Q(record_a__lt=models.F("record_b")), name="candidate_ordered"),
        ]
        indexes = [models.Index(fields=["state", "-probability"])]

    def __str__(self) -> str:
        return f"{self.record_a_id}~{self.record_b_id}"


class LinkDecision(models.Model):
    """A reviewer's word on two records: the same person, or not. Linkage runs respect it until revoked."""

    record_a = models.ForeignKey(SourceRecord, on_delete=models.PROTECT, related_name="+")
    record_b = models.ForeignKey(SourceRecord, on_delete=models.PROTECT, related_name="+", db_index=False)
    same = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True)
    candidate = models.ForeignKey(MatchCandidate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_a", "record_b"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_live_decision_per_pair",
            ),
            models.CheckConstraint(condition=models.Q(record_a__lt=models.F("record_b")), name="decision_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.record_a_id}{'=' if self.same else '≠'}{self.record_b_id}"


class IdentityChange(models.Model):
    """One person merged into another (or split off): which records moved, so that it can be undone."""

    class Kind(models.TextChoices):
        MERGE = "merge", _("merge")
        SPLIT = "split", _("split")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # merge: ``other`` was merged into ``person``; split: ``other`` was made from records of ``person``.
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    other = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(LinkageRun, null=True, blank=True, on_delete=models.PROTECT, related_name="changes")
    decision = models.ForeignKey(LinkDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    made_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["other"]), models.Index(fields=["person"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.other_id} -> {self.person_id}"


class ChangedRecord(models.Model):
    """A source record that an identity change moved from one person to the other."""

    change = models.ForeignKey(IdentityChange, on_delete=models.CASCADE, related_name="records", db_index=False)
    record = models.ForeignKey(SourceRecord, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["change", "record"], name="record_once_per_change")]

    def __str__(self) -> str:
        return f"{self.change_id}:{self.record_id}"
