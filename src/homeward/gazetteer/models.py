"""Settlements and administrative units, their names through time, populations and security assessments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from homeward.core.fields import PartialDateField


class AdminUnit(models.Model):
    """An administrative unit (a historical district or today's unit), in a hierarchy that changes over time."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    names = models.JSONField(default=dict, blank=True)  # language tag -> name
    level = models.CharField(max_length=40, default="district")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    valid_from = PartialDateField(null=True, blank=True)
    valid_to = PartialDateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Settlement(models.Model):
    class Kind(models.TextChoices):
        VILLAGE = "village", _("village")
        TOWN = "town", _("town")
        QUARTER = "quarter", _("quarter")

    class Status(models.TextChoices):
        INHABITED = "inhabited", _("inhabited")
        RENAMED = "renamed", _("renamed")
        MERGED = "merged", _("merged")
        ABANDONED = "abandoned", _("abandoned")
        DESTROYED = "destroyed", _("destroyed")

    gid = models.CharField(max_length=120, unique=True, help_text="stable identifier, the LPF @id")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.VILLAGE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INHABITED)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    outline = models.JSONField(null=True, blank=True)  # a GeoJSON Polygon or MultiPolygon
    admin_unit = models.ForeignKey(
        AdminUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="settlements"
    )
    historical_admin_unit = models.ForeignKey(
        AdminUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="historical_settlements"
    )
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["historical_admin_unit", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="settlement_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="settlement_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PlaceName(models.Model):
    class Kind(models.TextChoices):
        OFFICIAL = "official", _("official")
        HISTORICAL = "historical", _("historical")
        COLLOQUIAL = "colloquial", _("colloquial")
        TRANSLITERATION = "transliteration", _("transliteration")

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="names")
    toponym = models.CharField(max_length=200)
    lang = models.CharField(max_length=35)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OFFICIAL)
    # A time span with uncertain bounds: each bound is known between its earliest and latest value.
    start_earliest = PartialDateField(null=True, blank=True)
    start_latest = PartialDateField(null=True, blank=True)
    end_earliest = PartialDateField(null=True, blank=True)
    end_latest = PartialDateField(null=True, blank=True)
    citations = models.JSONField(default=list, blank=True)  # [{"label": ..., "@id": ...}]
    folded = models.CharField(max_length=200, db_index=True)
    skeleton = models.CharField(max_length=200, db_index=True)

    class Meta:
        ordering = ["start_earliest", "lang", "toponym"]

    def __str__(self) -> str:
        return f"{self.toponym} ({self.lang})"


class NameKey(models.Model):
    """Search keys of a name, one per word it has: "Aşağı Qarabulaq" is found by "Qarabulaq" too."""

    name = models.ForeignKey(PlaceName, on_delete=models.CASCADE, related_name="keys")
    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="+")
    folded = models.CharField(max_length=200, db_index=True)
    skeleton = models.CharField(max_length=200, db_index=True)

    def __str__(self) -> str:
        return self.folded


class PopulationFigure(models.Model):
    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="population")
    year = models.PositiveSmallIntegerField()
    total = models.PositiveIntegerField(null=True, blank=True)
    community = models.PositiveIntegerField(null=True, blank=True, help_text="the community's own members")
    source = models.CharField(max_length=300)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["year"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "year", "source"], name="population_once_per_source"),
            models.CheckConstraint(
                condition=models.Q(community__isnull=True)
                | models.Q(total__isnull=True)
                | models.Q(community__lte=models.F("total")),
                name="population_community_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.settlement_id} {self.year}: {self.total}"


class ExternalLink(models.Model):
    class Type(models.TextChoices):
        CLOSE = "closeMatch", _("close match")
        EXACT = "exactMatch", _("exact match")

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="links")
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CLOSE)
    identifier = models.CharField(max_length=300)

    class Meta:
        ordering = ["identifier"]
        constraints = [models.UniqueConstraint(fields=["settlement", "identifier"], name="link_once")]

    def __str__(self) -> str:
        return self.identifier


class SecurityAssessment(models.Model):
    """An assessment of whether people can return safely to a settlement or a whole unit, at a date."""

    class Level(models.TextChoices):
        NOT_ASSESSED = "not_assessed", _("not assessed")
        UNSAFE = "unsafe", _("unsafe")
        CONDITIONAL = "conditional", _("conditional")
        SAFE = "safe", _("safe")

    settlement = models.ForeignKey(
        Settlement, null=True, blank=True, on_delete=models.CASCADE, related_name="assessments"
    )
    admin_unit = models.ForeignKey(
        AdminUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="assessments"
    )
    assessed_on = models.DateField()
    level = models.CharField(max_length=16, choices=Level.choices)
    source = models.CharField(max_length=300)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(settlement__isnull=False) & models.Q(admin_unit__isnull=True))
                | (models.Q(settlement__isnull=True) & models.Q(admin_unit__isnull=False)),
                name="assessment_of_one_place",
            )
        ]

    def __str__(self) -> str:
        return f"{self.level} on {self.assessed_on}"
