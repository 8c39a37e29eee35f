"""Spreadsheet imports: small ones waiting between preview and confirmation, large ones as jobs."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.managers import PendingImportQuerySet
from crm.models.choices import ImportKind
from crm.models.constraints import choices_constraint
from crm.models.jobs import Job, job_indexes


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


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("waiting")
    RUNNING = "running", _("in progress")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class ImportStep(models.TextChoices):
    # The dry run whose outcome is the preview, then, once confirmed, the import.
    CHECK = "check", _("check")
    IMPORT = "import", _("import")


class ImportJob(Job):
    """A spreadsheet imported by a job (``crm/importing/jobs.py``): checked, then imported.

    Its upload waits in the private documents storage until the import is done;
    its outcome (counts, the first problems and rows) is kept in ``result`` and
    every row's outcome in the ``report`` file. Read by its requester (and
    Coordination); deleted with its files after ``CRM_EXPORT_FILE_RETENTION_DAYS``.
    """

    Status = ImportJobStatus
    Step = ImportStep
    Kind = ImportKind

    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    step = models.CharField(_("step"), max_length=10, choices=Step.choices, default=Step.CHECK)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    # The rows the file holds (0 while they are not counted yet), and read so far.
    total = models.PositiveIntegerField(_("rows in the file"), default=0)
    done = models.PositiveIntegerField(_("rows read"), default=0)
    # The uploaded file in storage, deleted once the file is imported.
    upload = models.CharField(_("uploaded file in storage"), max_length=300, blank=True)
    # Every row's outcome (row, action, key), written by the import step.
    report = models.CharField(_("report in storage"), max_length=300, blank=True)
    # The step's outcome: counts, the first problems, the first rows (crm.importing.jobs).
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at"]
        constraints = [
            choices_constraint("status", ImportJobStatus, "importjob"),
            choices_constraint("step", ImportStep, "importjob"),
            choices_constraint("kind", ImportKind, "importjob"),
        ]
        indexes = job_indexes("importjob")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_step_display()}, {self.get_status_display()})"

    @property
    def awaits_confirmation(self) -> bool:
        """Checked without a problem, and not imported yet."""
        return (
            self.step == self.Step.CHECK
            and self.status == self.Status.DONE
            and not self.result.get("error_count")
        )
