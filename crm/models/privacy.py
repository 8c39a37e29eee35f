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


class PersonRead(models.Model):
    """Someone read a person's data: opened their page, or exported a list of people.

    The data-protection officer's to read (crm.roles); deleted after
    ``CRM_ACCESS_LOG_RETENTION_DAYS`` by ``purge_access_log``. The person by id;
    an export's filters as they were asked.
    """

    class What(models.TextChoices):
        PAGE = "page", _("Page opened")
        EXPORT = "export", _("List exported")

    what = models.CharField(_("what"), max_length=10, choices=What.choices)
    person_id_number = models.PositiveBigIntegerField(_("person (id)"), null=True, blank=True)
    filters = models.JSONField(_("filters"), null=True, blank=True)
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("read by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    read_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("personal data read")
        verbose_name_plural = _("personal data reads")
        ordering = ["-read_at", "-id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(what__in=["page", "export"]), name="crm_personread_what_valid"
            )
        ]
        indexes = [
            # purge_access_log's WHERE read_at < …, and the admin's newest first.
            models.Index(fields=["read_at"], name="crm_personread_read_at_idx"),
            models.Index(fields=["person_id_number"], name="crm_personread_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_what_display()} #{self.person_id_number or '—'}"
