"""The census of the community: sources, imports, source records, persons, households, family links,
displacement, consent and data-subject requests.

A ``SourceRecord`` is one row as a source holds it; a ``Person`` is an identity, and every value shown
on a person can be traced back to the source records behind it. Until linkage merges them, each
imported record is its own person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from homeward.core.fields import EncryptedTextField, PartialDateField
from homeward.gazetteer.models import AdminUnit, Settlement


class Source(models.Model):
    """Where records come from: a country's registry extract, the portal, a field survey, an archive."""

    class Kind(models.TextChoices):
        REGISTRY = "registry", _("population registry")
        ARCHIVE = "archive", _("archive")
        SURVEY = "survey", _("field survey")
        PORTAL = "portal", _("self-registration")
        OTHER = "other", _("other")

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGISTRY)
    country = models.CharField(max_length=2, blank=True)
    # 1 (hearsay) .. 5 (official registry): which source wins when values disagree.
    trust = models.PositiveSmallIntegerField(default=3)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(trust__gte=1, trust__lte=5), name="source_trust_1_to_5"),
        ]

    def __str__(self) -> str:
        return self.code


class ImportBatch(models.Model):
    """One file imported from one source; re-importing the same file finds this batch again."""

    class State(models.TextChoices):
        RUNNING = "running", _("importing")
        LINKING = "linking", _("linking families")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="batches")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    format = models.CharField(max_length=16)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    mapping_name = models.CharField(max_length=255, blank=True)
    mapping_sha256 = models.CharField(max_length=64, blank=True)
    mapping_text = models.TextField(blank=True)
    header = models.JSONField(default=list, blank=True)  # the file's columns, to read held rows again
    stored_file = models.CharField(max_length=255, blank=True)  # the encrypted upload, for page imports
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    # The last row number committed: a re-run after a crash continues after it.
    position = models.BigIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    links = models.BigIntegerField(default=0)
    warnings = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "sha256"], name="batch_source_file_once")]

    def __str__(self) -> str:
        return f"{self.source.code}: {self.filename}"


class Person(models.Model):
    """An identity: the best-known values, each traceable to the source records behind it."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")
        OTHER = "X", _("other")

    given_name = models.CharField(max_length=200, blank=True)
    surname = models.CharField(max_length=200, blank=True)
    patronymic = models.CharField(max_length=200, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    birth_date = PartialDateField(null=True, blank=True)
    birth_place = models.CharField(max_length=200, blank=True)
    death_date = PartialDateField(null=True, blank=True)
    origin_settlement = models.ForeignKey(
        Settlement, null=True, blank=True, on_delete=models.PROTECT, related_name="persons"
    )
    current_country = models.CharField(max_length=2, blank=True)
    current_city = models.CharField(max_length=200, blank=True)
    # Phone, e-mail and document number as one encrypted JSON object.
    sensitive = EncryptedTextField(context="registry.person.sensitive", blank=True, default="")
    # Search keys from core.names: folded forms and consonant skeletons.
    given_folded = models.CharField(max_length=200, blank=True, db_index=True)
    surname_folded = models.CharField(max_length=200, blank=True, db_index=True)
    surname_skeleton = models.CharField(max_length=200, blank=True, db_index=True)
    # Eligibility, computed from the family graph by the registry's eligibility service.
    generation = models.SmallIntegerField(null=True, blank=True, db_index=True)
    eligible = models.BooleanField(default=False)
    restricted = models.BooleanField(default=False)  # processing restricted on the person's request
    erased_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The source record this identity was first made from (none for persons created by hand).
    first_record = models.OneToOneField(
        "SourceRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["surname", "given_name", "id"]

    def __str__(self) -> str:
        return " ".join(p for p in (self.given_name, self.patronymic, self.surname) if p) or f"#{self.pk}"


class SourceRecord(models.Model):
    """One row as a source holds it: the raw values received plus the normalised fields."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="records")
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="records")
    external_id = models.CharField(max_length=120)
    content_hash = models.CharField(max_length=32)
    row_number = models.BigIntegerField()
    # The cells as received (sensitive ones removed); null when the normalised fields say exactly the same.
    raw = models.JSONField(null=True, blank=True)
    given_name = models.CharField(max_length=200, blank=True)
    surname = models.CharField(max_length=200, blank=True)
    previous_surname = models.CharField(max_length=200, blank=True)
    patronymic = models.CharField(max_length=200, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    birth_date = PartialDateField(null=True, blank=True)
    birth_place = models.CharField(max_length=200, blank=True)
    origin_text = models.CharField(max_length=200, blank=True)
    origin_settlement = models.ForeignKey(
        Settlement, null=True, blank=True, on_delete=models.PROTECT, related_name="source_records", db_index=False
    )
    current_country = models.CharField(max_length=2, blank=True)
    current_city = models.CharField(max_length=200, blank=True)
    household_ref = models.CharField(max_length=120, blank=True)
    relation_to_head = models.CharField(max_length=16, blank=True)
    father_ref = models.CharField(max_length=120, blank=True)
    mother_ref = models.CharField(max_length=120, blank=True)
    spouse_ref = models.CharField(max_length=120, blank=True)
    death_date = PartialDateField(null=True, blank=True)
    displacement_date = PartialDateField(null=True, blank=True)
    displacement_event = models.CharField(max_length=64, blank=True)
    sensitive = EncryptedTextField(context="registry.record.sensitive", blank=True, default="")
    # Name keys (core.names), for search and for linkage's blocking.
    given_folded = models.CharField(max_length=200, blank=True)
    surname_folded = models.CharField(max_length=200, blank=True)
    surname_skeleton = models.CharField(max_length=200, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="records")
    # A newer version of the same record (same source and id, different content) supersedes this one.
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["source", "external_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id", "content_hash"], name="record_once_per_source_content"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"


class ImportProblem(models.Model):
    """A problem found in one row: a held row waits for correction; a warning was imported anyway."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="problems")
    row_number = models.BigIntegerField()
    external_id = models.CharField(max_length=120, blank=True)
    field = models.CharField(max_length=64, blank=True)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500)
    held = models.BooleanField(default=True)
    raw = EncryptedTextField(context="registry.problem.raw", blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "row_number", "id"]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.field}: {self.reason}"


class Household(models.Model):
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="households")
    external_id = models.CharField(max_length=120, blank=True)
    head = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Households made by hand have no source, and NULLs never clash.
            models.UniqueConstraint(fields=["source", "external_id"], name="household_once_per_source")
        ]

    def __str__(self) -> str:
        return self.external_id or f"#{self.pk}"


class HouseholdMember(models.Model):
    class Relation(models.TextChoices):
        HEAD = "head", _("head")
        SPOUSE = "spouse", _("spouse")
        CHILD = "child", _("child")
        PARENT = "parent", _("parent")
        GRANDCHILD = "grandchild", _("grandchild")
        OTHER = "other", _("other relative or member")

    # The unique (household, person) constraint serves look-ups by household: no second index.
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    relation = models.CharField(max_length=16, choices=Relation.choices, default=Relation.OTHER)
    source_record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["household", "person"], name="member_once_per_household")]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.household_id} ({self.relation})"


class Kinship(models.Model):
    """A family link: ``parent`` is parent of ``child`` (kind parent), or two spouses (kind spouse)."""

    class Kind(models.TextChoices):
        PARENT = "parent", _("parent and child")
        SPOUSE = "spouse", _("spouses")

    # Look-ups go by (kind, parent) and (child, kind): the two composite indexes serve them.
    kind = models.CharField(max_length=8, choices=Kind.choices)
    parent = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="child_links", db_index=False)
    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="parent_links", db_index=False)
    adoptive = models.BooleanField(default=False)
    source_record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "parent", "child"], name="kinship_once"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("child")), name="kinship_not_self"),
        ]
        indexes = [models.Index(fields=["child", "kind"])]

    def __str__(self) -> str:
        return f"{self.parent_id} -{self.kind}-> {self.child_id}"


class DisplacementEvent(models.Model):
    """A displacement event or wave, from a configurable list; ``qualifies`` makes it count for eligibility."""

    code = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=200)
    start = PartialDateField(null=True, blank=True)
    end = PartialDateField(null=True, blank=True)
    qualifies = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["start", "code"]

    def __str__(self) -> str:
        return self.label


class OriginRegion(models.Model):
    """An administrative unit whose settlements make up the community's origin region (for eligibility)."""

    admin_unit = models.OneToOneField(AdminUnit, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return str(self.admin_unit)


class Displacement(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="displacements")
    settlement = models.ForeignKey(
        Settlement, null=True, blank=True, on_delete=models.PROTECT, related_name="displacements"
    )
    origin_text = models.CharField(max_length=200, blank=True)
    date_from = PartialDateField(null=True, blank=True)
    date_to = PartialDateField(null=True, blank=True)
    event = models.ForeignKey(DisplacementEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    evidence = models.CharField(max_length=500, blank=True)
    source_record = models.OneToOneField(
        SourceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="displacement"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date_from", "id"]

    def __str__(self) -> str:
        return f"{self.person_id} from {self.settlement_id or self.origin_text}"


class InformationSheet(models.Model):
    """What a person is told before they consent or give a return intention: who runs the registry, why, what
    is stored and who sees it. Published once per version and language and never changed afterwards (a
    change is a new version), so every consent and intention can show the exact text it was given under."""

    version = models.CharField(max_length=64)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(max_length=200)
    body = models.TextField()
    sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["version", "language"], name="sheet_version_language_once")]

    def __str__(self) -> str:
        return f"{self.version} ({self.language})"


class Consent(models.Model):
    class Purpose(models.TextChoices):
        REGISTRATION = "registration", _("registration in the community registry")
        CONTACT = "contact", _("being contacted")
        PLANNING = "planning", _("use of data for return planning")
        SHARING = "sharing", _("sharing with a named partner")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("web portal")
        INTERVIEW = "interview", _("interview")
        PHONE = "phone", _("phone")
        PAPER = "paper", _("paper form")
        SOURCE = "source", _("given to the source registry")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    partner = models.CharField(max_length=200, blank=True)
    sheet_version = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-given_at", "-id"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.purpose}"


class ValueDecision(models.Model):
    """A reviewer chose a person's value for a field (from a source record, or typed with a reason)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="decisions")
    field = models.CharField(max_length=32)
    value = models.CharField(max_length=200, blank=True)
    previous = models.CharField(max_length=200, blank=True)
    source_record = models.ForeignKey(SourceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.person_id}.{self.field}"


class SubjectRequest(models.Model):
    """A data subject's request (GDPR-style rights), logged with its dates and outcome."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("access (a copy of everything held)")
        RECTIFY = "rectify", _("correction")
        RESTRICT = "restrict", _("restriction of processing")
        ERASE = "erase", _("erasure")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")
        REFUSED = "refused", _("refused")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="subject_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    received_on = models.DateField()
    due_on = models.DateField()
    completed_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=64, blank=True)
    details = models.TextField(blank=True)
    outcome = models.TextField(blank=True)
    exceptions = models.TextField(blank=True)  # what was kept despite an erasure, and why
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.person_id}"


class ReturnIntention(models.Model):
    """One version of a person's own return intention (UNHCR return-intention surveys): whether, when and on
    what conditions they would go back, and with whom. A change is a new version; withdrawal is a version
    too, so the person's history stays whole. Staff may record one on a person's behalf only with the
    channel and their own account."""

    class Decision(models.TextChoices):
        INTENDS = "intends", _("intends to return")
        UNDECIDED = "undecided", _("undecided")
        DOES_NOT_INTEND = "does_not_intend", _("does not intend to return")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Horizon(models.TextChoices):
        MONTHS_12 = "12_months", _("within 12 months")
        YEARS_5 = "5_years", _("within 5 years")
        SOMEDAY = "someday", _("one day")

    class Together(models.TextChoices):
        COMMUNITY = "community", _("with the community of the origin settlement")
        OWN = "own", _("to the origin settlement, on their own")
        ELSEWHERE = "elsewhere", _("to another settlement")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("web portal")
        INTERVIEW = "interview", _("interview")
        PHONE = "phone", _("phone")
        PAPER = "paper", _("paper form")

    CONDITIONS = {
        "security": _("security"), "housing": _("housing"), "services": _("basic services"),
        "livelihoods": _("livelihoods"), "property": _("property returned"), "documents": _("documents"),
    }  # fmt: skip
    NEEDS = {
        "shelter": _("shelter"), "health": _("health care"), "schooling": _("schooling in the mother tongue"),
        "livelihood": _("livelihood"),
    }  # fmt: skip

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="intentions")
    version = models.PositiveIntegerField()
    decision = models.CharField(max_length=16, choices=Decision.choices)
    horizon = models.CharField(max_length=16, choices=Horizon.choices, blank=True)
    together = models.CharField(max_length=16, choices=Together.choices, blank=True)
    destination = models.ForeignKey(Settlement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    conditions = models.JSONField(default=list, blank=True)
    conditions_note = models.CharField(max_length=1000, blank=True)
    needs = models.JSONField(default=list, blank=True)
    sheet_version = models.CharField(max_length=64)  # the information sheet the decision was made under
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-version", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "version"], name="intention_version_once"),
            models.CheckConstraint(
                condition=~models.Q(together="elsewhere") | models.Q(destination__isnull=False),
                name="intention_elsewhere_names_destination",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} v{self.version}: {self.decision}"
