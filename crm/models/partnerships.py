"""Partnerships per Compact project, and the log of their stages."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.managers import PartnershipManager
from crm.models.choices import PartnershipRole, PartnershipStage
from crm.models.constraints import choices_constraint
from crm.models.directory import Organization
from crm.models.programme import Project
from crm.models.sources import Source
from crm.models.state_changes import (
    StateChange,
    from_state,
    history_index,
    state_change_constraints,
    subject_field,
    to_state,
)


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
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_partnership_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} — {self.project}"

    def get_absolute_url(self) -> str:
        return reverse("partnership", args=[self.pk])

    def natural_key(self) -> tuple[str, str]:
        return (self.organization.slug, self.project.code)

    natural_key.dependencies = ["crm.organization", "crm.project"]


class StageChange(StateChange, subject="partnership", state="stage"):
    """One move of a partnership from one stage to another. Never edited."""

    partnership = subject_field(Partnership, _("partnership"), related_name="stage_changes")
    from_stage = from_state(PartnershipStage)
    to_stage = to_state(PartnershipStage)

    class Meta(StateChange.Meta):
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        constraints = state_change_constraints("stage", PartnershipStage)
        indexes = [
            history_index("partnership", "crm_stagechange_history_idx"),
            # Admin changelist: ORDER BY changed_at DESC, id DESC LIMIT 100 (read
            # backwards), and its date hierarchy's MIN/MAX(changed_at).
            models.Index(fields=["changed_at", "id"], name="crm_stagechange_date_idx"),
        ]
