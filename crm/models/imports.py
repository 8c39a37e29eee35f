"""Spreadsheet uploads waiting between their preview and the confirmation."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.managers import PendingImportQuerySet
from crm.models.choices import ImportKind
from crm.models.constraints import choices_constraint


class PendingImport(models.Model):
    """An uploaded file that its user previewed and may still confirm.

    Kept in the database, not on a server's disk, so that the confirmation may
    land on any app server. Only the user who uploaded it can confirm it, within
    ``TTL``; it is deleted once confirmed, and expired ones are deleted whenever
    someone previews a new file, so personal data does not pile up.
    """

    Kind = ImportKind
    TTL = timedelta(hours=1)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="pending_imports",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The name tells the format (.csv or .xlsx); the tail is kept if it is long.
    file_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(_("content"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PendingImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("pending import")
        verbose_name_plural = _("pending imports")
        constraints = [
            choices_constraint("kind", ImportKind, "pendingimport"),
            models.CheckConstraint(
                condition=~Q(file_name=""), name="crm_pendingimport_file_name_not_empty"
            ),
        ]
        indexes = [
            # The cleanup on every preview: WHERE created_at < now - TTL
            # ORDER BY created_at LIMIT 100. (Confirming looks up the primary key.)
            models.Index(fields=["created_at"], name="crm_pendingimport_created_idx"),
        ]

    def __str__(self) -> str:
        return self.file_name

    def is_expired(self, *, now: datetime) -> bool:
        return self.created_at < now - self.TTL
