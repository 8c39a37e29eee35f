"""Agreements (NDA, letter of intent, MoU…) from draft to expiry, with their parties."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.managers import NaturalKeyManager
from crm.models.choices import AgreementKind, AgreementStatus
from crm.models.constraints import choices_constraint, span_constraint
from crm.models.directory import Affiliation, Organization
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

# Agreements ending within these many days are flagged (digest, dashboard):
# the nearer window in red, the farther one in amber.
ENDING_SOON_DAYS = (30, 60)


class AgreementQuerySet(models.QuerySet):
    def ending_within(self, days: int, *, today):
        """Agreements signed or in force whose expiry falls in the next ``days`` days."""
        return self.filter(
            status__in=Agreement.CURRENT_STATUSES,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=days),
        )


class AgreementManager(NaturalKeyManager.from_queryset(AgreementQuerySet)):
    pass


class Agreement(models.Model):
    """A written agreement between the unit's side and partners, serving projects."""

    Kind = AgreementKind
    Status = AgreementStatus
    CURRENT_STATUSES = (AgreementStatus.SIGNED, AgreementStatus.IN_FORCE)
    # The moves the services allow; anything else is refused.
    TRANSITIONS = {
        AgreementStatus.DRAFT: {AgreementStatus.UNDER_REVIEW, AgreementStatus.TERMINATED},
        AgreementStatus.UNDER_REVIEW: {
            AgreementStatus.DRAFT,
            AgreementStatus.SIGNED,
            AgreementStatus.TERMINATED,
        },
        AgreementStatus.SIGNED: {AgreementStatus.IN_FORCE, AgreementStatus.TERMINATED},
        AgreementStatus.IN_FORCE: {AgreementStatus.EXPIRED, AgreementStatus.TERMINATED},
        AgreementStatus.EXPIRED: set(),
        AgreementStatus.TERMINATED: set(),
    }

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    projects = models.ManyToManyField(
        Project, verbose_name=_("projects"), related_name="agreements", blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_agreements",
        help_text=_("Hears of the expiry in the daily digest."),
    )
    effective_on = models.DateField(_("effective on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True
    )
    is_demo = models.BooleanField(
        _("demonstration data"), default=False, help_text=_("Made by load_demo; not a fact.")
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

    objects = AgreementManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("kind", AgreementKind, "agreement"),
            choices_constraint("status", AgreementStatus, "agreement"),
            span_constraint("effective_on", "expires_on", "agreement"),
        ]
        indexes = [
            # Digest and dashboard: current agreements by expiry date.
            models.Index(fields=["status", "expires_on"], name="crm_agreement_expiry_idx"),
            # API sync: ?updated_since=… ORDER BY updated_at, id.
            models.Index(fields=["updated_at", "id"], name="crm_agreement_sync_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("agreement", args=[self.slug])

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    @property
    def allowed_statuses(self) -> list[str]:
        allowed = self.TRANSITIONS[self.status]
        return [status for status in AgreementStatus if status in allowed]


class AgreementPartyManager(models.Manager):
    def get_by_natural_key(self, agreement: str, organization: str):
        return self.get(agreement__slug=agreement, organization__slug=organization)


class AgreementParty(models.Model):
    """An organisation bound by an agreement, and when it signed."""

    agreement = models.ForeignKey(
        Agreement, verbose_name=_("agreement"), on_delete=models.CASCADE, related_name="parties"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="agreement_parties",
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)

    objects = AgreementPartyManager()

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["organization__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "organization"], name="crm_agreementparty_unique"
            ),
        ]

    def __str__(self) -> str:
        return str(self.organization)

    def natural_key(self) -> tuple[str, str]:
        return (self.agreement.slug, self.organization.slug)

    natural_key.dependencies = ["crm.agreement", "crm.organization"]


class AgreementSignatory(models.Model):
    """A person who signs for a party, through one of their affiliations."""

    party = models.ForeignKey(
        AgreementParty,
        verbose_name=_("party"),
        on_delete=models.CASCADE,
        related_name="signatories",
    )
    affiliation = models.ForeignKey(
        Affiliation, verbose_name=_("affiliation"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("signatory")
        verbose_name_plural = _("signatories")
        constraints = [
            models.UniqueConstraint(
                fields=["party", "affiliation"], name="crm_agreementsignatory_unique"
            ),
        ]

    def __str__(self) -> str:
        return str(self.affiliation)

    def clean(self) -> None:
        if (
            self.party_id
            and self.affiliation_id
            and self.affiliation.organization_id != self.party.organization_id
        ):
            raise ValidationError(
                {"affiliation": _("The signatory must hold a role in the party's organisation.")}
            )


class AgreementAmendment(models.Model):
    """A change made to an agreement after it was signed."""

    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.PROTECT,
        related_name="amendments",
    )
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=300)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    summary = models.TextField(_("summary"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        ordering = ["agreement", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "number"], name="crm_agreementamendment_unique"
            ),
            models.CheckConstraint(
                condition=Q(number__gt=0), name="crm_agreementamendment_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} — {self.number}. {self.title}"


class AgreementStatusChange(StateChange, subject="agreement", state="status"):
    """One move of an agreement from one status to another. Never edited."""

    agreement = subject_field(Agreement, _("agreement"), related_name="status_changes")
    from_status = from_state(AgreementStatus)
    to_status = to_state(AgreementStatus)

    class Meta(StateChange.Meta):
        verbose_name = _("agreement status change")
        verbose_name_plural = _("agreement status changes")
        constraints = state_change_constraints("status", AgreementStatus)
        indexes = [history_index("agreement", "crm_agreementchange_hist_idx")]
