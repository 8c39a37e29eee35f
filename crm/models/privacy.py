"""Requests made under Togo's law n° 2019-014: a person's access to their data, and erasure.

The log says who answered, when, why and for which person (by id), never what
was erased: it outlives the data, and is what an erasure is replayed from
after a backup older than it is restored (docs/backup.md).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.choices import PrivacyRequestKind
from crm.models.constraints import choices_constraint


class PrivacyRequest(models.Model):
    Kind = PrivacyRequestKind

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The id, not a key: the log stays whatever happens to the record.
    person_id_number = models.PositiveBigIntegerField(_("person (id)"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    made_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("data-protection request")
        verbose_name_plural = _("data-protection requests")
        ordering = ["-made_at", "-id"]
        default_permissions = ("view",)
        constraints = [choices_constraint("kind", PrivacyRequestKind, "privacyrequest")]
        indexes = [models.Index(fields=["person_id_number"], name="crm_privacyrequest_person_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.person_id_number}"
