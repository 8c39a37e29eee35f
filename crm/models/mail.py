"""Mail messages: e-mails and invitations received by the unit, and what they became."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.mail.reasons import Reason, say
from crm.models.constraints import choices_constraint
from crm.models.directory import Organization, Person
from crm.models.documents import Document
from crm.models.missions import Interaction
from crm.models.programme import Project
from crm.storage import get_document_storage


class MailDoor(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    API = "api", _("API")
    MAILBOX = "mailbox", _("Shared mailbox")


class MailStatus(models.TextChoices):
    FILED = "filed", _("Filed")
    TO_FILE = "to_file", _("To file")
    DISCARDED = "discarded", _("Discarded")
    # The message could not be read (or processing crashed): the error says why.
    FAILED = "failed", _("Failed")
    # Hostile or oversized, refused as a whole (from the mailbox door only: the
    # upload and API doors answer 4xx and keep nothing).
    REFUSED = "refused", _("Refused")


# The statuses of "Courriels à classer": what waits for someone to act.
WAITING_STATUSES = (MailStatus.TO_FILE, MailStatus.FAILED, MailStatus.REFUSED)


def mail_path(message: "MailMessage", filename: str) -> str:
    return f"mail/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml"


class MailMessageQuerySet(models.QuerySet):
    def waiting(self):
        """The messages that wait in "Courriels à classer"."""
        return self.filter(status__in=WAITING_STATUSES)

    def body_expired(self, *, now):
        """Messages whose body is older than CRM_MAIL_BODY_RETENTION_DAYS and still kept."""
        limit = now - timezone.timedelta(days=settings.CRM_MAIL_BODY_RETENTION_DAYS)
        return self.filter(received_at__lt=limit, body_purged_at__isnull=True)


class MailMessage(models.Model):
    """One e-mail or invitation, however often it arrived, and the meeting it became."""

    Door = MailDoor
    Status = MailStatus

    # "mid:" + SHA-256 of the Message-ID, else "sha:" + SHA-256 of the normalised
    # headers and body: the same message from any door is this one row.
    fingerprint = models.CharField(_("fingerprint"), max_length=80, unique=True)
    # SHA-256 of sender, minute sent and subject: a copy received directly and
    # the same message forwarded inline (which loses its Message-ID) meet here.
    content_key = models.CharField(_("content key"), max_length=64, blank=True, db_index=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    from_name = models.CharField(_("sender's name"), max_length=200, blank=True)
    from_address = models.CharField(_("sender's address"), max_length=254, blank=True)
    to_addresses = models.JSONField(_("to"), default=list, blank=True)
    cc_addresses = models.JSONField(_("cc"), default=list, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body = models.TextField(_("body"), blank=True)
    summary = models.TextField(_("summary"), blank=True)
    body_purged_at = models.DateTimeField(_("body purged at"), null=True, blank=True)
    # The message as received, to file its attachments later; purged with the body.
    raw = models.FileField(
        _("message as received"),
        upload_to=mail_path,
        storage=get_document_storage,
        max_length=200,
        blank=True,
    )
    door = models.CharField(_("door"), max_length=20, choices=Door.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    reason = models.TextField(
        _("why it waits"), blank=True, help_text=_("Why it was not filed by itself.")
    )
    # The values the reason and the error name, when they were stored as their
    # English text to be translated when shown (crm.mail.reasons). Nullable:
    # SQLite adds such a column in place.
    reason_values = models.JSONField(_("values of the reason"), null=True, blank=True)
    discard_reason = models.TextField(_("reason for discarding"), blank=True)
    error = models.TextField(_("error"), blank=True)
    error_values = models.JSONField(_("values of the error"), null=True, blank=True)
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("meeting"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mail_messages",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mail_messages",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("sender on file"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mail_messages",
    )
    project = models.ForeignKey(
        Project,
        verbose_name=_("project"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mail_messages",
    )
    documents = models.ManyToManyField(
        Document, verbose_name=_("attachments"), related_name="mail_messages", blank=True
    )
    skipped_attachments = models.JSONField(_("attachments not kept"), default=list, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The colleague who forwarded or sent it (matched by address), else who
    # uploaded it: the person the digest reminds of it while it waits.
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="filed_mail",
    )
    invitation_uid = models.CharField(_("invitation UID"), max_length=255, blank=True)
    invitation_sequence = models.PositiveIntegerField(_("invitation sequence"), default=0)
    invitation_method = models.CharField(_("invitation method"), max_length=20, blank=True)
    invitation_starts_at = models.DateTimeField(_("invitation starts at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = MailMessageQuerySet.as_manager()
    # The body and summary are personal data with their own retention: a history
    # row must not keep what the purge blanks.
    history = HistoricalRecords(excluded_fields=["body", "summary", "raw"])

    class Meta:
        verbose_name = _("mail message")
        verbose_name_plural = _("mail messages")
        ordering = ["-received_at", "-id"]
        permissions = [("read_mail_body", _("Can read the bodies and attachments of mail"))]
        constraints = [
            choices_constraint("door", MailDoor, "mailmessage"),
            choices_constraint("status", MailStatus, "mailmessage"),
            models.CheckConstraint(
                condition=~Q(status=MailStatus.FILED) | Q(interaction__isnull=False),
                name="crm_mailmessage_filed_has_meeting",
            ),
            models.CheckConstraint(
                condition=~Q(status=MailStatus.DISCARDED) | ~Q(discard_reason=""),
                name="crm_mailmessage_discarded_has_reason",
            ),
            # One record per content key: two workers receiving the copy and the
            # inline forward of one message at the same moment (two fingerprints)
            # cannot both insert; the loser returns the winner's record.
            models.UniqueConstraint(
                fields=["content_key"],
                condition=~Q(content_key=""),
                name="crm_mailmessage_content_key_unique",
            ),
        ]
        indexes = [
            # "Courriels à classer" and the dashboard's count:
            # WHERE status IN (to_file, failed, refused) ORDER BY received_at DESC.
            models.Index(
                fields=["-received_at"],
                condition=Q(status__in=WAITING_STATUSES),
                name="crm_mail_waiting_idx",
            ),
            # API sync: ?updated_since=… ORDER BY updated_at, id.
            models.Index(fields=["updated_at", "id"], name="crm_mailmessage_sync_idx"),
            # An invitation's update or cancellation: WHERE invitation_uid = … .
            models.Index(
                fields=["invitation_uid"],
                condition=~Q(invitation_uid=""),
                name="crm_mail_invitation_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or str(_("(no subject)"))

    def get_absolute_url(self) -> str:
        return reverse("mail-message", args=[self.pk])

    @property
    def is_waiting(self) -> bool:
        return self.status in WAITING_STATUSES

    @property
    def reason_display(self) -> str:
        """Why it waits, in the reader's language."""
        return say(self.reason, self.reason_values)

    @property
    def error_display(self) -> str:
        """Why it was refused or failed, in the reader's language."""
        return say(self.error, self.error_values)

    def set_reason(self, reason: Reason | None) -> None:
        self.reason, self.reason_values = (
            (reason.text, reason.values or None) if reason else ("", None)
        )

    def set_error(self, error: Reason | str) -> None:
        if isinstance(error, Reason):
            self.error, self.error_values = error.text, error.values or None
        else:
            self.error, self.error_values = error, None
