"""The Compact programme and its projects."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.managers import NaturalKeyManager, ProjectManager
from crm.models.choices import DatePrecision, ProgrammeStatus, ProjectSector, ProjectStatus
from crm.models.constraints import choices_constraint
from crm.models.directory import Organization
from crm.models.sources import Source


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
