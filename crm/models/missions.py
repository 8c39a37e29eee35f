"""Missions and interactions: who met whom, when, about which project."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.managers import (
    InteractionOrganizationManager,
    InteractionPersonManager,
    InteractionProjectManager,
    MissionMemberManager,
    NaturalKeyManager,
)
from crm.models.choices import DatePrecision, InteractionKind
from crm.models.constraints import choices_constraint, span_constraint
from crm.models.directory import Organization, Person
from crm.models.programme import Project
from crm.models.sources import Source


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
    # The moment, when known (an invitation's start); occurred_on is its date.
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    # Nullable without a default, so that SQLite adds the column in place: a
    # rebuilt table would lose the triggers of migration 0016.
    cancelled_at = models.DateTimeField(
        _("cancelled at"), null=True, blank=True, help_text=_("A planned meeting called off.")
    )
    # Nullable for the same reason as cancelled_at; empty and NULL both say "not known".
    location = models.CharField(  # noqa: DJ001
        _("place"),
        max_length=200,
        null=True,
        blank=True,
        help_text=_("Where it takes place: a room, an address, a video link."),
    )
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
        Person,
        verbose_name=_("people met"),
        through="InteractionPerson",
        related_name="interactions",
        blank=True,
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff present"),
        related_name="interactions",
        blank=True,
    )
    projects = models.ManyToManyField(
        Project,
        verbose_name=_("projects discussed"),
        through="InteractionProject",
        related_name="interactions",
        blank=True,
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
        indexes = [
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_interaction_sync_idx"),
            # Admin changelist: ORDER BY occurred_on DESC, id DESC LIMIT 100 (read
            # backwards), and its date hierarchy's MIN/MAX(occurred_on).
            models.Index(fields=["occurred_on", "id"], name="crm_interaction_date_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = self.make_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("interaction", args=[self.slug])

    def clean(self) -> None:
        super().clean()
        zone = timezone.get_default_timezone()
        if (
            self.starts_at is not None
            and self.occurred_on is not None
            and timezone.localtime(self.starts_at, zone).date() != self.occurred_on
        ):
            raise ValidationError(
                {
                    "starts_at": _(
                        "The time must fall on the date of the meeting, %(date)s (in Lomé)."
                    )
                    % {"date": self.occurred_on.isoformat()}
                }
            )

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def make_slug(self) -> str:
        """Return a slug unique without a round trip: title, date and a short random tail."""
        title = slugify(self.title)[:60] or "interaction"
        return f"{title}-{self.occurred_on:%Y%m%d}-{secrets.token_hex(3)}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


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


class LastInteraction(models.Model):
    """The latest interaction on record with an organisation, planned ones included.

    Written by the database alone: the triggers of migration 0016 keep it
    whenever an organisation is linked to an interaction, unlinked, or an
    interaction is re-dated, whatever does it (services, admin, fixtures,
    COPY). It lets "gone quiet" read one row per partnership instead of
    searching every interaction of the organisation
    (``Partnership.objects.with_last_contact()``). An organisation nobody has
    met has no row.
    """

    organization = models.OneToOneField(
        Organization,
        verbose_name=_("organisation"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="last_interaction",
    )
    occurred_on = models.DateField(_("date"))
    date_precision = models.CharField(_("date precision"), max_length=20)

    class Meta:
        verbose_name = _("latest interaction")
        verbose_name_plural = _("latest interactions")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.occurred_on}"


class InteractionPerson(models.Model):
    """A person met at an interaction.

    An explicit table so that a person with meetings on record cannot be deleted
    (PROTECT): a plain many-to-many would drop the attendance silently, and
    simple-history keeps no trace of many-to-many rows. It is the table the
    plain many-to-many made (same name, columns and unique pair; migration 0008).
    """

    interaction = models.ForeignKey(
        Interaction, verbose_name=_("interaction"), on_delete=models.CASCADE
    )
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT)

    objects = InteractionPersonManager()

    class Meta:
        db_table = "crm_interaction_people"
        verbose_name = _("person met")
        verbose_name_plural = _("people met")
        # unique_together rather than a named UniqueConstraint: it is the
        # constraint the plain many-to-many created, kept under Django's name
        # (crm_interaction_people_interaction_id_person_id_<hash>_uniq).
        unique_together = [("interaction", "person")]

    def __str__(self) -> str:
        return str(self.person)

    def natural_key(self) -> tuple[str, str]:
        return (self.interaction.slug, self.person.slug)

    natural_key.dependencies = ["crm.interaction", "crm.person"]


class InteractionProject(models.Model):
    """A Compact project discussed at an interaction.

    An explicit table so that a project discussed in meetings cannot be deleted
    (PROTECT) and take that record with it; the table the plain many-to-many
    made, as for InteractionPerson.
    """

    interaction = models.ForeignKey(
        Interaction, verbose_name=_("interaction"), on_delete=models.CASCADE
    )
    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.PROTECT)

    objects = InteractionProjectManager()

    class Meta:
        db_table = "crm_interaction_projects"
        verbose_name = _("project discussed")
        verbose_name_plural = _("projects discussed")
        # As InteractionPerson: the existing constraint, under Django's name.
        unique_together = [("interaction", "project")]

    def __str__(self) -> str:
        return str(self.project)

    def natural_key(self) -> tuple[str, str]:
        return (self.interaction.slug, self.project.code)

    natural_key.dependencies = ["crm.interaction", "crm.project"]
