"""Files kept as evidence: a signed MoU, a concept note. Versions are kept."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.models.agreements import Agreement
from crm.models.choices import DocumentType
from crm.models.commitments import Commitment
from crm.models.constraints import choices_constraint
from crm.models.directory import Organization
from crm.models.missions import Interaction
from crm.storage import get_document_storage

# What a document may be attached to; at least one is required.
ATTACHMENTS = ("organization", "interaction", "agreement", "commitment")


def document_path(document: "Document", filename: str) -> str:
    """Return a fresh name for every upload, so that nothing is ever overwritten."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"documents/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class DocumentQuerySet(models.QuerySet):
    def _from_mail_q(self) -> Q:
        # Kept from a mail's attachment: linked to a message whose meeting is the
        # document's own. A file kept before and only linked by a later message
        # stays as open as it was.
        through = self.model.mail_messages.through
        return Q(
            models.Exists(
                through.objects.filter(
                    document_id=models.OuterRef("pk"),
                    mailmessage__interaction_id=models.OuterRef("interaction_id"),
                )
            )
        )

    def from_mail(self):
        """The documents kept from the attachments of mail."""
        return self.filter(self._from_mail_q())

    def visible_to(self, user):
        """The documents ``user`` may see: mail's attachments need ``crm.read_mail_body``."""
        if user.has_perm("crm.read_mail_body"):
            return self
        return self.exclude(self._from_mail_q())


class Document(models.Model):
    """One version of a file, checked on upload and served only to those allowed."""

    Type = DocumentType

    title = models.CharField(_("title"), max_length=300)
    file = models.FileField(
        _("file"), upload_to=document_path, storage=get_document_storage, max_length=200
    )
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(
        _("type"), max_length=100, choices=DocumentType.choices, editable=False
    )
    size = models.PositiveBigIntegerField(_("size (bytes)"), editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    # Named "revision", not "version": edit forms carry the record's version
    # (crm.versions) in a field of that name.
    revision = models.PositiveIntegerField(_("version"), default=1, editable=False)
    previous_version = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_version",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    commitment = models.ForeignKey(
        Commitment,
        verbose_name=_("commitment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    notes = models.TextField(_("notes"), blank=True)
    is_demo = models.BooleanField(
        _("demonstration data"), default=False, help_text=_("Made by load_demo; not a fact.")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = DocumentQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["file"])

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            choices_constraint("content_type", DocumentType, "document"),
            models.CheckConstraint(
                condition=Q(organization__isnull=False)
                | Q(interaction__isnull=False)
                | Q(agreement__isnull=False)
                | Q(commitment__isnull=False),
                name="crm_document_attached",
            ),
            models.CheckConstraint(
                condition=Exact(Length("sha256"), 64), name="crm_document_sha256_length"
            ),
            models.CheckConstraint(
                condition=Q(revision=1, previous_version__isnull=True)
                | Q(revision__gt=1, previous_version__isnull=False),
                name="crm_document_version_chain",
            ),
        ]
        indexes = [
            # API sync: ?updated_since=… ORDER BY updated_at, id.
            models.Index(fields=["updated_at", "id"], name="crm_document_sync_idx"),
            # Mail attachments: WHERE sha256 = … (the same file sent twice is kept once).
            models.Index(fields=["sha256"], name="crm_document_sha256_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.revision})"

    def get_absolute_url(self) -> str:
        return reverse("document-download", args=[self.pk])
