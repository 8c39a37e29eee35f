"""The partnership-tracking model of the Togo MCC Compact coordination unit.

Invariants live in the database as named constraints (``crm_<model>_<rule>``) so
that admin, pages, API, fixtures and imports all obey the same rules.
"""

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.managers import (
    AffiliationManager,
    FollowUpPlanStepManager,
    FollowUpQuerySet,
    InteractionOrganizationManager,
    MissionMemberManager,
    NaturalKeyManager,
    PartnershipManager,
    ProjectManager,
)


def choices_constraint(field: str, choices: type[models.TextChoices], model: str):
    """Return a CheckConstraint keeping ``field`` within ``choices``."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}),
        name=f"crm_{model}_{field}_valid",
    )


def span_constraint(start: str, end: str, model: str):
    """Return a CheckConstraint requiring ``end`` on or after ``start``."""
    return models.CheckConstraint(
        condition=Q(**{f"{start}__isnull": True})
        | Q(**{f"{end}__isnull": True})
        | Q(**{f"{end}__gte": F(start)}),
        name=f"crm_{model}_{end}_after_{start}",
    )


class DatePrecision(models.TextChoices):
    """How much of a stored date the source actually gives.

    The date stored is the first day of the period the source names: "fin
    septembre 2023" is stored as 2023-09-01 with precision LATE_MONTH.
    """

    DAY = "day", _("Day")
    EARLY_MONTH = "early_month", _("Early in the month")
    MID_MONTH = "mid_month", _("Mid-month")
    LATE_MONTH = "late_month", _("Late in the month")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class Language(models.TextChoices):
    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")


# Choices live at module level because a model's Meta cannot see the classes
# nested in the model's body, and the CheckConstraints in Meta need them. Each
# model exposes its own as attributes (``FollowUp.Status``), which is how the rest
# of the code refers to them.


class SourceKind(models.TextChoices):
    PRESS_RELEASE = "press_release", _("Press release")
    ARTICLE = "article", _("Article")
    REPORT = "report", _("Report")
    MEETING_NOTES = "meeting_notes", _("Meeting notes")
    OTHER = "other", _("Other")


class OrganizationKind(models.TextChoices):
    COMPANY = "company", _("Company")
    PAYMENT_NETWORK = "payment_network", _("Payment network")
    UNIVERSITY = "university", _("University")
    INVESTOR = "investor", _("Investor")
    INCUBATOR = "incubator", _("Incubator")
    PORT_AUTHORITY = "port_authority", _("Port authority")
    BUSINESS_ASSOCIATION = "business_association", _("Business association")
    GOVERNMENT_BODY = "government_body", _("Government body")
    DEVELOPMENT_AGENCY = "development_agency", _("Development agency")
    OTHER = "other", _("Other")


class ProgrammeStatus(models.TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    FORMULATION = "formulation", _("In formulation")
    SIGNED = "signed", _("Signed")
    IMPLEMENTATION = "implementation", _("In implementation")
    CLOSED = "closed", _("Closed")


class ProjectSector(models.TextChoices):
    ICT = "ict", _("Information and communication technology")
    ENERGY = "energy", _("Energy")


class ProjectStatus(models.TextChoices):
    FORMULATION = "formulation", _("In formulation")
    APPROVED = "approved", _("Approved")
    IMPLEMENTATION = "implementation", _("In implementation")
    COMPLETED = "completed", _("Completed")
    DROPPED = "dropped", _("Dropped")


class InteractionKind(models.TextChoices):
    MEETING = "meeting", _("Meeting")
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    VISIT = "visit", _("Visit")
    EVENT = "event", _("Event")
    OTHER = "other", _("Other")


class PartnershipRole(models.TextChoices):
    FUNDER = "funder", _("Funder")
    TECHNOLOGY_PARTNER = "technology_partner", _("Technology partner")
    PAYMENT_NETWORK = "payment_network", _("Payment network")
    INVESTOR = "investor", _("Investor")
    ACADEMIC_PARTNER = "academic_partner", _("Academic partner")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure and logistics")
    ADVISOR = "advisor", _("Advisor")
    OTHER = "other", _("Other")


class PartnershipStage(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    CONTACTED = "contacted", _("Contacted")
    EXPLORING = "exploring", _("Exploring")
    PROPOSAL = "proposal", _("Proposal / concept note")
    AGREEMENT = "agreement", _("Agreement (MoU) signed")
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold")
    CLOSED = "closed", _("Closed")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting on partner")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# The partial indexes on open follow-ups name these literally: an index condition
# must match the queries' condition exactly for the planner to use it.
OPEN_FOLLOW_UP_STATUSES = ["open", "in_progress", "waiting"]


class DigestStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class FollowUpPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class Source(models.Model):
    """A document that records were taken from, so every fact can be traced."""

    Kind = SourceKind

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    published_on_precision = models.CharField(
        _("precision of the publication date"),
        max_length=20,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FRENCH
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    url = models.URLField(_("URL"), blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=300,
        blank=True,
        help_text=_("Where the document is kept when it has no URL (file name, archive)."),
    )
    notes = models.TextField(_("notes"), blank=True)

    objects = NaturalKeyManager()

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["-published_on", "title"]
        constraints = [
            choices_constraint("kind", SourceKind, "source"),
            choices_constraint("language", Language, "source"),
            choices_constraint("published_on_precision", DatePrecision, "source"),
        ]

    def __str__(self) -> str:
        return self.title

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Organization(models.Model):
    """A company, university, investor, public body… that the unit deals with."""

    Kind = OrganizationKind

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("As written in the source."))
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. US, TG.")
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    description = models.TextField(_("description"), blank=True)
    is_identified = models.BooleanField(
        _("identified"),
        default=True,
        help_text=_(
            "Off for a placeholder such as “venture-capital firms (not named)”, "
            "to be resolved into real organisations later."
        ),
    )
    needs_verification = models.BooleanField(_("to verify"), default=False)
    verification_note = models.TextField(_("verification note"), blank=True)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NaturalKeyManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            choices_constraint("kind", OrganizationKind, "organization"),
            # A flag without its reason helps nobody who later checks it.
            models.CheckConstraint(
                condition=Q(needs_verification=False) | ~Q(verification_note=""),
                name="crm_organization_verification_has_note",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organization", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Programme(models.Model):
    """The Compact programme itself."""

    Status = ProgrammeStatus

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    funder = models.ForeignKey(
        Organization,
        verbose_name=_("funder"),
        on_delete=models.PROTECT,
        related_name="funded_programmes",
    )
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code."))
    eligible_since = models.DateField(_("eligible since"), null=True, blank=True)
    eligible_since_precision = models.CharField(
        _("precision of the eligibility date"),
        max_length=20,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    description = models.TextField(_("description"), blank=True)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )

    objects = NaturalKeyManager()

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["name"]
        constraints = [
            choices_constraint("status", ProgrammeStatus, "programme"),
            choices_constraint("eligible_since_precision", DatePrecision, "programme"),
        ]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Project(models.Model):
    """A Compact project, such as digital payments."""

    Sector = ProjectSector
    Status = ProjectStatus

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="projects"
    )
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.FORMULATION
    )
    description = models.TextField(_("description"), blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_projects",
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )

    objects = ProjectManager()

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["name"]
        constraints = [
            choices_constraint("sector", ProjectSector, "project"),
            choices_constraint("status", ProjectStatus, "project"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("project", args=[self.code])

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class Person(models.Model):
    """Someone the unit deals with; roles are held through affiliations."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=2,
        choices=Language.choices,
        default=Language.FRENCH,
    )
    notes = models.TextField(_("notes"), blank=True)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NaturalKeyManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["family_name", "given_name"]
        constraints = [
            choices_constraint("preferred_language", Language, "person"),
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="crm_person_email_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


class Affiliation(models.Model):
    """A role a person holds in an organisation. Ended, never deleted."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="affiliations"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="affiliations",
    )
    title = models.CharField(_("title or role"), max_length=200)
    start_on = models.DateField(_("start"), null=True, blank=True)
    end_on = models.DateField(_("end"), null=True, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )

    objects = AffiliationManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        ordering = ["-is_primary", "title"]
        constraints = [
            span_constraint("start_on", "end_on", "affiliation"),
            models.UniqueConstraint(
                fields=["person", "organization", "title"],
                condition=Q(end_on__isnull=True),
                name="crm_affiliation_one_active_per_role",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(is_primary=True, end_on__isnull=True),
                name="crm_affiliation_one_primary_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.title}, {self.organization}"

    def natural_key(self) -> tuple:
        start_on = self.start_on.isoformat() if self.start_on else None
        return (self.person.slug, self.organization.slug, self.title, start_on)

    natural_key.dependencies = ["crm.person", "crm.organization"]

    @property
    def is_active(self) -> bool:
        return self.end_on is None


class Mission(models.Model):
    """A trip of the delegation, such as the US exploration mission of 2023."""

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=300)
    start_on = models.DateField(_("start"))
    end_on = models.DateField(_("end"))
    date_precision = models.CharField(
        _("precision of the dates"),
        max_length=20,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    organizer = models.ForeignKey(
        Organization,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organized_missions",
    )
    cities = models.CharField(
        _("cities"), max_length=300, blank=True, help_text=_("Separated by commas.")
    )
    objectives = models.TextField(_("objectives"), blank=True)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        Person,
        verbose_name=_("delegation"),
        through="MissionMember",
        related_name="missions",
        blank=True,
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )

    objects = NaturalKeyManager()

    class Meta:
        verbose_name = _("mission")
        verbose_name_plural = _("missions")
        ordering = ["-start_on"]
        constraints = [
            span_constraint("start_on", "end_on", "mission"),
            choices_constraint("date_precision", DatePrecision, "mission"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("mission", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def city_list(self) -> list[str]:
        return [city.strip() for city in self.cities.split(",") if city.strip()]


class MissionMember(models.Model):
    """A person in a mission's delegation, with their role on that mission."""

    mission = models.ForeignKey(
        Mission, verbose_name=_("mission"), on_delete=models.CASCADE, related_name="delegation"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("role on the mission"), max_length=200, blank=True)

    objects = MissionMemberManager()

    class Meta:
        verbose_name = _("delegation member")
        verbose_name_plural = _("delegation members")
        constraints = [
            models.UniqueConstraint(fields=["mission", "person"], name="crm_missionmember_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.role})" if self.role else str(self.person)

    def natural_key(self) -> tuple[str, str]:
        return (self.mission.slug, self.person.slug)

    natural_key.dependencies = ["crm.mission", "crm.person"]


class Interaction(models.Model):
    """A meeting, call, e-mail, visit or event with one or more organisations."""

    Kind = InteractionKind

    slug = models.SlugField(_("slug"), max_length=100, unique=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    mission = models.ForeignKey(
        Mission,
        verbose_name=_("mission"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
    )
    occurred_on = models.DateField(_("date"))
    date_precision = models.CharField(
        _("precision of the date"),
        max_length=20,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    organizations = models.ManyToManyField(
        Organization,
        verbose_name=_("organisations"),
        through="InteractionOrganization",
        related_name="interactions",
    )
    people = models.ManyToManyField(
        Person, verbose_name=_("people met"), related_name="interactions", blank=True
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff present"),
        related_name="interactions",
        blank=True,
    )
    projects = models.ManyToManyField(
        Project, verbose_name=_("projects discussed"), related_name="interactions", blank=True
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = NaturalKeyManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            choices_constraint("kind", InteractionKind, "interaction"),
            choices_constraint("date_precision", DatePrecision, "interaction"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            # Unique without a round trip: title, date and a short random tail.
            title = slugify(self.title)[:60] or "interaction"
            self.slug = f"{title}-{self.occurred_on:%Y%m%d}-{secrets.token_hex(3)}"
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("interaction", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class InteractionOrganization(models.Model):
    """An organisation present at an interaction.

    An explicit table so that an organisation with meetings on record cannot be
    deleted by accident (PROTECT), which a plain many-to-many would allow.
    """

    interaction = models.ForeignKey(
        Interaction, verbose_name=_("interaction"), on_delete=models.CASCADE
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT
    )

    objects = InteractionOrganizationManager()

    class Meta:
        verbose_name = _("organisation met")
        verbose_name_plural = _("organisations met")
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "organization"],
                name="crm_interactionorganization_unique",
            ),
        ]
        indexes = [
            # Partnership.objects.with_last_contact(): latest interaction per organisation.
            models.Index(fields=["organization", "interaction"], name="crm_intorg_org_idx"),
        ]

    def __str__(self) -> str:
        return str(self.organization)

    def natural_key(self) -> tuple[str, str]:
        return (self.interaction.slug, self.organization.slug)

    natural_key.dependencies = ["crm.interaction", "crm.organization"]


class Partnership(models.Model):
    """What one organisation is, or may become, for one Compact project."""

    Role = PartnershipRole
    Stage = PartnershipStage

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="partnerships",
    )
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="partnerships"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.IDENTIFIED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_partnerships",
    )
    contact_cadence_days = models.PositiveIntegerField(
        _("contact cadence (days)"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the default for the stage."),
    )
    notes = models.TextField(_("notes"), blank=True)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PartnershipManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        ordering = ["project__name", "organization__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project"], name="crm_partnership_unique"
            ),
            choices_constraint("role", PartnershipRole, "partnership"),
            choices_constraint("stage", PartnershipStage, "partnership"),
            models.CheckConstraint(
                condition=Q(contact_cadence_days__isnull=True) | Q(contact_cadence_days__gt=0),
                name="crm_partnership_cadence_positive",
            ),
        ]
        indexes = [
            # Project pipeline: the partnerships of one project grouped by stage.
            models.Index(fields=["project", "stage"], name="crm_partnership_pipeline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} — {self.project}"

    def natural_key(self) -> tuple[str, str]:
        return (self.organization.slug, self.project.code)

    natural_key.dependencies = ["crm.organization", "crm.project"]


class StageChange(models.Model):
    """One move of a partnership from one stage to another. Never edited."""

    partnership = models.ForeignKey(
        Partnership,
        verbose_name=_("partnership"),
        on_delete=models.PROTECT,
        related_name="stage_changes",
    )
    from_stage = models.CharField(
        _("from"), max_length=20, choices=PartnershipStage.choices, blank=True
    )
    to_stage = models.CharField(_("to"), max_length=20, choices=PartnershipStage.choices)
    changed_at = models.DateTimeField(_("changed at"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_stage="") | Q(from_stage__in=PartnershipStage.values),
                name="crm_stagechange_from_stage_valid",
            ),
            choices_constraint("to_stage", PartnershipStage, "stagechange"),
            models.CheckConstraint(
                condition=~Q(from_stage=F("to_stage")), name="crm_stagechange_is_a_change"
            ),
        ]
        indexes = [
            # A partnership's stage history, newest first.
            models.Index(
                fields=["partnership", "-changed_at"], name="crm_stagechange_history_idx"
            ),
        ]

    def __str__(self) -> str:
        before = self.get_from_stage_display() or "—"
        return f"{self.partnership}: {before} → {self.get_to_stage_display()}"


class FollowUp(models.Model):
    """Something the unit promised or must do, tied to a Compact project."""

    Status = FollowUpStatus
    Priority = FollowUpPriority
    OPEN_STATUSES = OPEN_FOLLOW_UP_STATUSES
    CLOSED_STATUSES = (FollowUpStatus.DONE, FollowUpStatus.CANCELLED)

    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("from interaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    due_on = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completion_note = models.TextField(_("what was done"), blank=True)
    waiting_since = models.DateField(
        _("waiting since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set when the follow-up starts waiting on the partner, cleared when not."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = FollowUpQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_on", "id"]
        constraints = [
            choices_constraint("status", FollowUpStatus, "followup"),
            choices_constraint("priority", FollowUpPriority, "followup"),
            models.CheckConstraint(
                condition=Q(status=FollowUpStatus.DONE, completed_at__isnull=False)
                | (~Q(status=FollowUpStatus.DONE) & Q(completed_at__isnull=True)),
                name="crm_followup_completed_at_iff_done",
            ),
            models.CheckConstraint(
                condition=~Q(status=FollowUpStatus.DONE) | ~Q(completion_note=""),
                name="crm_followup_done_has_note",
            ),
            models.CheckConstraint(
                condition=Q(status=FollowUpStatus.WAITING, waiting_since__isnull=False)
                | (~Q(status=FollowUpStatus.WAITING) & Q(waiting_since__isnull=True)),
                name="crm_followup_waiting_since_iff_waiting",
            ),
        ]
        indexes = [
            # FollowUp.objects.open().for_assignee(user): "what is mine", by due date.
            models.Index(
                fields=["assignee", "due_on"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_assignee_idx",
            ),
            # FollowUp.objects.overdue(today=…) and .due_within(…) across the team.
            models.Index(
                fields=["due_on"],
                condition=Q(status__in=OPEN_FOLLOW_UP_STATUSES),
                name="crm_followup_open_due_idx",
            ),
            # A project's follow-ups, and a partnership's (organisation, project).
            models.Index(fields=["project", "organization"], name="crm_followup_project_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if self._track_waiting() and update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "waiting_since"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        # A follow-up has no page of its own: it is shown where its partner's
        # story is told, else on its project's page.
        if self.organization_id is not None:
            url = reverse("organization", args=[self.organization.slug])
        else:
            url = reverse("project", args=[self.project.code])
        return f"{url}#follow-up-{self.pk}"

    def clean(self) -> None:
        super().clean()
        self._track_waiting()

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED_STATUSES

    def _track_waiting(self) -> bool:
        """Set ``waiting_since`` from the status; tell whether it changed.

        Done on every save rather than by each writer (services, admin, inlines,
        demo, API), so that no path can forget it: the digest's "waiting on the
        partner for more than 14 days" is measured from this date.
        """
        before = self.waiting_since
        if self.status == FollowUpStatus.WAITING:
            self.waiting_since = before or timezone.localdate()
        else:
            self.waiting_since = None
        return self.waiting_since != before

    def is_overdue(self, *, today: date) -> bool:
        return self.is_open and self.due_on < today

    def is_due_this_week(self, *, today: date) -> bool:
        return self.is_open and today <= self.due_on <= today + timedelta(days=7)

    @property
    def partnership(self) -> Partnership | None:
        """Return the partnership this follow-up serves, if there is one."""
        if self.organization_id is None:
            return None
        return Partnership.objects.filter(
            organization_id=self.organization_id, project_id=self.project_id
        ).first()


class FollowUpPlan(models.Model):
    """A reusable series of follow-ups, such as the steps after a first meeting.

    Applied to an interaction (``crm.services.follow_up_plan_apply``), each step
    becomes a follow-up due its offset in days after the interaction.
    """

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active plans are offered on the pages.")
    )

    objects = NaturalKeyManager()

    class Meta:
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class FollowUpPlanStep(models.Model):
    """One follow-up of a plan, due ``offset_days`` after the interaction."""

    Priority = FollowUpPriority

    plan = models.ForeignKey(
        FollowUpPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="steps"
    )
    offset_days = models.PositiveIntegerField(
        _("days after the interaction"), help_text=_("0 means the day of the interaction.")
    )
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )

    objects = FollowUpPlanStepManager()

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["plan", "offset_days", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "title"], name="crm_followupplanstep_unique"),
            choices_constraint("priority", FollowUpPriority, "followupplanstep"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (+{self.offset_days})"

    def natural_key(self) -> tuple[str, str]:
        return (self.plan.slug, self.title)

    natural_key.dependencies = ["crm.followupplan"]


class StaffProfile(models.Model):
    """What the CRM keeps about a member of staff beyond Django's user.

    Created on first use (``StaffProfile.for_user``), so users made by any route
    (admin, createsuperuser, imports) need nothing extra.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="crm_profile",
    )
    language = models.CharField(
        _("language"),
        max_length=2,
        choices=Language.choices,
        default=Language.FRENCH,
        help_text=_("Language of the e-mails the CRM sends to this person."),
    )
    # Random, replaced to revoke the calendar URL; NULL until first asked for (a
    # callable default would give every existing row the same value on migrate).
    calendar_token = models.CharField(
        _("calendar token"), max_length=64, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [choices_constraint("language", Language, "staffprofile")]

    def __str__(self) -> str:
        return str(self.user)

    @classmethod
    def for_user(cls, user) -> "StaffProfile":
        profile, _created = cls.objects.get_or_create(user=user)
        return profile

    def calendar_secret(self) -> str:
        """Return the secret of this person's calendar URL, making one if needed.

        The URL carries the stored random token plus its signature with the
        project's secret key (``django.core.signing``): the database alone does
        not open anyone's calendar, yet the URL can be shown again at any time.
        """
        if not self.calendar_token:
            self.regenerate_calendar_token()
        return _calendar_signer().sign(self.calendar_token)

    def regenerate_calendar_token(self) -> None:
        """Replace the calendar token: the previous URL stops working at once."""
        self.calendar_token = secrets.token_urlsafe(24)
        self.save(update_fields=["calendar_token"])

    @classmethod
    def for_calendar_secret(cls, secret: str) -> "StaffProfile | None":
        """Return the active user's profile whose calendar URL carries ``secret``."""
        try:
            token = _calendar_signer().unsign(secret)
        except signing.BadSignature:
            return None
        return (
            cls.objects.select_related("user")
            .filter(calendar_token=token, user__is_active=True)
            .first()
        )


def _calendar_signer() -> signing.Signer:
    # "." rather than ":" keeps the URL plain; neither occurs in the token.
    return signing.Signer(salt="crm.calendar", sep=".")


class ApiToken(models.Model):
    """A personal key to the REST API, held by one user.

    Only a hash of the secret is stored: the full key is shown once, when it is
    made. The key reads ``<prefix>.<secret>``; the prefix finds the row (and
    tells the user which key is which), the secret's SHA-256 must match.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What the key is for, e.g. “Reporting to MCC”.")
    )
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Leave empty for no expiry.")
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Also the index of the lookup on every API request: prefix = %s.
            models.UniqueConstraint(fields=["prefix"], name="crm_apitoken_prefix_unique"),
            # No "expires after created" rule: a coordinator stops a key at once by
            # setting its expiry to now or earlier.
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        # A plain SHA-256 is enough: the secret is 256 random bits, not a password
        # that a dictionary could guess, and the lookup must stay cheap.
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def create_for(
        cls, user, *, name: str, expires_at: datetime | None = None
    ) -> tuple["ApiToken", str]:
        """Make a token for ``user``; return it with the full key, shown only once."""
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            key_hash=cls.hash_secret(secret),
            expires_at=expires_at,
        )
        return token, f"{prefix}.{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.key_hash, self.hash_secret(secret))

    def is_expired(self, *, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class DigestLog(models.Model):
    """One person's daily digest: claimed, then sent or failed.

    The row is the claim: ``crm.digests`` inserts it (status "sending") before
    sending, and the unique (user, day) makes a second run, on this server or
    another, find it and leave that digest alone. A failed row is claimed again
    by the next run; so is a row left "sending" by a process that died, once it
    is older than ``crm.digests.RECLAIM_AFTER``.
    """

    Status = DigestStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="digest_logs",
    )
    digest_on = models.DateField(_("digest of"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    overdue = models.PositiveIntegerField(_("overdue"), default=0)
    due_soon = models.PositiveIntegerField(_("due within 7 days"), default=0)
    waiting = models.PositiveIntegerField(_("waiting on the partner"), default=0)
    stale = models.PositiveIntegerField(_("partnerships gone quiet"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    claimed_at = models.DateTimeField(_("claimed at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("digest log")
        verbose_name_plural = _("digest logs")
        ordering = ["-digest_on", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "digest_on"], name="crm_digestlog_one_per_user_per_day"
            ),
            choices_constraint("status", DigestStatus, "digestlog"),
            models.CheckConstraint(
                condition=Q(status=DigestStatus.SENT, sent_at__isnull=False)
                | (~Q(status=DigestStatus.SENT) & Q(sent_at__isnull=True)),
                name="crm_digestlog_sent_at_iff_sent",
            ),
        ]
        indexes = [
            # Admin changelist filtered by day and status: "who got nothing today?".
            # (The unique constraint's index serves the per-user lookups of a run.)
            models.Index(fields=["digest_on", "status"], name="crm_digestlog_day_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.digest_on}"
