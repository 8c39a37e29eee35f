"""What partners promised (commitments), the log of their status, and exchange rates."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.models.choices import CommitmentKind, CommitmentStatus, Currency
from crm.models.constraints import choices_constraint
from crm.models.partnerships import Partnership
from crm.models.sources import Source
from crm.models.state_changes import (
    StateChange,
    from_state,
    history_index,
    state_change_constraints,
    subject_field,
    to_state,
)

# Amounts: up to a thousand billion with two decimals, in any currency. Never floats.
AMOUNT = {"max_digits": 17, "decimal_places": 2}


class ExchangeRateManager(models.Manager):
    def get_by_natural_key(self, currency: str, rate_on: str):
        return self.get(currency=currency, rate_on=rate_on)


class ExchangeRate(models.Model):
    """How many CFA francs one unit of a currency was worth on a day.

    Entered by Coordination in the admin or imported from a CSV
    (``manage.py import_exchange_rates``); nothing is fetched from the internet.
    The euro needs none: XOF is pegged to it (``crm.money.XOF_PER_EUR``).
    """

    Currency = Currency

    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    rate_on = models.DateField(_("date of the rate"))
    xof_per_unit = models.DecimalField(
        _("XOF per unit"), max_digits=18, decimal_places=6, help_text=_("e.g. 605.5 for USD")
    )
    note = models.CharField(
        _("where the rate comes from"), max_length=300, blank=True, help_text=_("e.g. BCEAO")
    )
    # An illustrative rate converts only demonstration amounts (crm.money.rates_on).
    is_demo = models.BooleanField(
        _("demonstration data"), default=False, help_text=_("Made by load_demo; not a fact.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Its version: a rate corrected in the admin refuses a copy opened before.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ExchangeRateManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-rate_on"]
        indexes = [
            # API sync: ?updated_since=… ORDER BY updated_at, id (the cursor pages).
            models.Index(fields=["updated_at", "id"], name="crm_exchangerate_sync_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "rate_on"], name="crm_exchangerate_unique"
            ),
            choices_constraint("currency", Currency, "exchangerate"),
            models.CheckConstraint(
                condition=Q(xof_per_unit__gt=0), name="crm_exchangerate_positive"
            ),
            # XOF is the unit of account and EUR is at the fixed parity: a dated
            # rate for either would contradict the one constant.
            models.CheckConstraint(
                condition=~Q(currency__in=["XOF", "EUR"]), name="crm_exchangerate_not_pegged"
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.xof_per_unit} XOF ({self.rate_on})"

    def natural_key(self) -> tuple[str, str]:
        return (self.currency, self.rate_on.isoformat())


class CommitmentQuerySet(models.QuerySet):
    def active(self):
        """Commitments still standing: announced, confirmed or delivered."""
        return self.filter(status__in=Commitment.STANDING_STATUSES)


class Commitment(models.Model):
    """What one partner promised one Compact project: kind, amount, status."""

    Kind = CommitmentKind
    Status = CommitmentStatus
    Currency = Currency
    STANDING_STATUSES = (
        CommitmentStatus.ANNOUNCED,
        CommitmentStatus.CONFIRMED,
        CommitmentStatus.DELIVERED,
    )
    # The moves the services allow; anything else is refused.
    TRANSITIONS = {
        CommitmentStatus.ANNOUNCED: {
            CommitmentStatus.CONFIRMED,
            CommitmentStatus.WITHDRAWN,
            CommitmentStatus.LAPSED,
        },
        CommitmentStatus.CONFIRMED: {
            CommitmentStatus.DELIVERED,
            CommitmentStatus.WITHDRAWN,
            CommitmentStatus.LAPSED,
        },
        CommitmentStatus.DELIVERED: set(),
        CommitmentStatus.WITHDRAWN: set(),
        CommitmentStatus.LAPSED: set(),
    }

    partnership = models.ForeignKey(
        Partnership,
        verbose_name=_("partnership"),
        on_delete=models.PROTECT,
        related_name="commitments",
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    description = models.TextField(_("description"))
    amount = models.DecimalField(_("amount"), null=True, blank=True, **AMOUNT)
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.XOF
    )
    amount_delivered = models.DecimalField(_("amount delivered"), default=0, **AMOUNT)
    expected_on = models.DateField(_("expected on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ANNOUNCED
    )
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Where the commitment is recorded; confirming needs a source or a document."),
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

    objects = CommitmentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("kind", CommitmentKind, "commitment"),
            choices_constraint("status", CommitmentStatus, "commitment"),
            choices_constraint("currency", Currency, "commitment"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="crm_commitment_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(amount_delivered__gte=0),
                name="crm_commitment_amount_delivered_not_negative",
            ),
            # Something can be delivered only once confirmed.
            models.CheckConstraint(
                condition=Q(amount_delivered=0)
                | Q(status__in=["confirmed", "delivered", "withdrawn", "lapsed"]),
                name="crm_commitment_delivered_after_confirmed",
            ),
        ]
        indexes = [
            # Project totals: the commitments of a project's partnerships by status.
            models.Index(fields=["partnership", "status"], name="crm_commitment_status_idx"),
            # API sync: ?updated_since=… ORDER BY updated_at, id.
            models.Index(fields=["updated_at", "id"], name="crm_commitment_sync_idx"),
        ]

    def __str__(self) -> str:
        # In the reader's language: "300 000,00 USD" in French, not "300,000.00".
        amount = (
            f" — {number_format(self.amount, 2, force_grouping=True)} {self.currency}"
            if self.amount is not None
            else ""
        )
        return f"{self.partnership.organization}: {self.get_kind_display()}{amount}"

    def get_absolute_url(self) -> str:
        return reverse("commitment", args=[self.pk])

    # Kinds that are money by nature: without an amount they would count in
    # the totals as nothing. (An intent to invest may not have a figure yet.)
    KINDS_WITH_AMOUNT = (CommitmentKind.FINANCING,)

    def clean(self) -> None:
        super().clean()
        if self.kind in self.KINDS_WITH_AMOUNT and self.amount is None:
            raise ValidationError(
                {
                    "amount": _(
                        "Give the amount of the financing, in its currency: it counts "
                        "in the totals."
                    )
                }
            )

    @property
    def allowed_statuses(self) -> list[str]:
        """Statuses this commitment may move to, in the order of the choices."""
        allowed = self.TRANSITIONS[self.status]
        return [status for status in CommitmentStatus if status in allowed]


class CommitmentStatusChange(StateChange, subject="commitment", state="status"):
    """One move of a commitment, or one part delivered. Never edited."""

    commitment = subject_field(Commitment, _("commitment"), related_name="status_changes")
    from_status = from_state(CommitmentStatus)
    to_status = to_state(CommitmentStatus)
    amount = models.DecimalField(
        _("amount delivered"),
        null=True,
        blank=True,
        help_text=_("The part delivered with this change, in the commitment's currency."),
        **AMOUNT,
    )

    class Meta(StateChange.Meta):
        verbose_name = _("commitment status change")
        verbose_name_plural = _("commitment status changes")
        # A row is a move, or a part delivered while the status stays.
        constraints = state_change_constraints("status", CommitmentStatus, or_else=Q(amount__gt=0))
        indexes = [history_index("commitment", "crm_commitmentchange_hist_idx")]
