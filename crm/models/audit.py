"""What left the building: every spreadsheet export and calendar-feed fetch."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.constraints import choices_constraint


class ExportKind(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("XLSX")
    CALENDAR = "calendar", _("Calendar feed")
    # An API list read in pages larger than the default (up to 500 rows each).
    JSON = "json", _("JSON (large pages)")


class ExportLog(models.Model):
    """One export (CSV, XLSX) of an API list, a JSON page of it larger than the
    default, or one fetch of a calendar feed.

    Written by the API's list and pages and the calendar view, never edited: who (the
    user, and the token when one was used), when, which list, with which
    filters, and how many rows. Coordination reads it in the admin; entries
    older than ``CRM_EXPORT_LOG_RETENTION_DAYS`` are deleted by
    ``purge_export_log``.
    """

    Kind = ExportKind

    created_at = models.DateTimeField(_("when"), default=timezone.now)
    # SET_NULL: an account is deactivated rather than deleted, but should one be
    # deleted its exports stay on record under the name kept beside it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150)
    token = models.ForeignKey(
        "crm.ApiToken",
        verbose_name=_("API token"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    token_prefix = models.CharField(_("token prefix"), max_length=16, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    resource = models.CharField(
        _("list"), max_length=50, help_text=_("The API list exported, or “calendar”.")
    )
    filters = models.JSONField(
        _("filters"), default=dict, blank=True, help_text=_("The query parameters, as sent.")
    )
    row_count = models.PositiveIntegerField(
        _("rows"), null=True, blank=True, help_text=_("Empty when the download was cut short.")
    )
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")
        ordering = ["-created_at", "-id"]
        constraints = [choices_constraint("kind", ExportKind, "exportlog")]
        indexes = [
            # The admin's list, newest first, and purge_export_log's
            # created_at < cutoff.
            models.Index(fields=["-created_at"], name="crm_exportlog_created_idx"),
            # "What did this person take?": the admin filtered by user.
            models.Index(fields=["user", "-created_at"], name="crm_exportlog_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} — {self.resource} ({self.get_kind_display()})"
