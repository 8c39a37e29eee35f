"""What the CRM keeps per member of staff: preferences, API keys, digests sent."""

import hashlib
import hmac
import secrets
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.choices import DigestKind, DigestStatus, Language
from crm.models.constraints import choices_constraint


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
    interface_language = models.CharField(
        _("language of the pages"),
        max_length=2,
        choices=Language.choices,
        blank=True,
        help_text=_(
            "Saved when the person switches language; it wins over the browser's. Empty: French."
        ),
    )
    # Random, replaced to revoke the calendar URL; NULL until first asked for (a
    # callable default would give every existing row the same value on migrate).
    calendar_token = models.CharField(
        _("calendar token"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    # NULL: as the role decides (Coordination gets it, others not); True or
    # False: the person's own choice, which wins (crm.weekly.wants_summary_q).
    weekly_summary = models.BooleanField(
        _("weekly summary by e-mail"),
        null=True,
        blank=True,
        help_text=_(
            "Once a week, the overview's headline figures and what moved in the week. "
            "Empty: as your role decides (Coordination receives it)."
        ),
    )
    is_demo = models.BooleanField(
        _("demonstration account"),
        default=False,
        help_text=_("Made by load_demo; removed with the demonstration data."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            choices_constraint("language", Language, "staffprofile"),
            models.CheckConstraint(
                condition=Q(interface_language="") | Q(interface_language__in=Language.values),
                name="crm_staffprofile_interface_language_valid",
            ),
        ]

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
    """One person's daily digest or weekly summary: claimed, then sent or failed.

    The row is the claim: ``crm.digests`` inserts it (status "sending") before
    sending, and the unique (user, kind, day) makes a second run, on this server
    or another, find it and leave that e-mail alone. A weekly summary's day is
    the Monday of its week, so one week has one row per person. A failed row is claimed again
    by the next run; so is a row left "sending" by a process that died, once it
    is older than ``crm.digests.claim_lease()``.
    """

    Kind = DigestKind
    Status = DigestStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="digest_logs",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DAILY)
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
                fields=["user", "kind", "digest_on"],
                name="crm_digestlog_one_per_user_kind_day",
            ),
            choices_constraint("status", DigestStatus, "digestlog"),
            choices_constraint("kind", DigestKind, "digestlog"),
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
        return f"{self.user} — {self.get_kind_display()} — {self.digest_on}"
