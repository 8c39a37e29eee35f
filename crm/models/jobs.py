"""Work run off the request by a job (``crm/jobs.py``): what every kind shares, and exports.

``Job`` holds a job's lifecycle, which ``crm.jobs`` reads whatever the kind:
who asked, its status, its attempts, the task of the attempt that may write, its
heartbeat, its error. ``ExportJob`` adds an export's plan and file; imports
(``crm.models.imports.ImportJob``) their upload, step and outcome.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.audit import ExportKind
from crm.models.constraints import choices_constraint


class ExportJobStatus(models.TextChoices):
    QUEUED = "queued", _("waiting")
    RUNNING = "running", _("being written")
    DONE = "done", _("ready")
    FAILED = "failed", _("failed")


class Job(models.Model):
    """A piece of work run by ``manage.py run_jobs`` (django-tasks-db): its lifecycle.

    Each kind sets ``Status`` (the same four values, its own words) and its
    ``status`` field with them, its ``total`` and ``done``, and the two indexes
    the housekeeping reads (``job_indexes``).
    """

    # A UUID: the job's address says nothing about how many there are.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The task result (django-tasks-db) of the attempt that may write: an older
    # attempt still alive finds it changed and stops.
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Moved with every progress report; a running job whose heartbeat is older
    # than CRM_JOB_STALE_SECONDS lost its worker.
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


def job_indexes(model_name: str) -> list[models.Index]:
    """The indexes crm.jobs' housekeeping reads on a kind of job."""
    return [
        # crm.jobs.reap_stalled(): running jobs whose heartbeat is old.
        models.Index(
            fields=["heartbeat_at"],
            name=f"crm_{model_name}_running_idx",
            condition=Q(status="running"),
        ),
        # crm.jobs.purge(): jobs older than the retention.
        models.Index(fields=["created_at"], name=f"crm_{model_name}_created_idx"),
    ]


class ExportJob(Job):
    """One export too large for a request: its query, its progress and, once written, its file.

    Created by the request that asked for the file (API or staff page), with the
    export's query and columns as that request built them (``plan``, signed);
    run by ``manage.py run_jobs`` through the task queue (django-tasks-db), which
    writes the file to the private documents storage. Read by its requester (and
    Coordination) only; deleted with its file after
    ``CRM_EXPORT_FILE_RETENTION_DAYS``.
    """

    Status = ExportJobStatus

    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    kind = models.CharField(_("format"), max_length=10, choices=ExportKind.choices)
    # As in the export log: the API list ("follow-ups") or the page ("page: people").
    resource = models.CharField(_("list"), max_length=50)
    # Checked again at download: a requester who lost it no longer reads the file.
    permission = models.CharField(_("permission needed"), max_length=100)
    filename = models.CharField(_("file name"), max_length=200)
    title = models.CharField(_("sheet title"), max_length=100, blank=True)
    # The export as the request built it (query, columns, language, time zone),
    # pickled and signed with the secret key (crm.jobs.pack).
    plan = models.TextField(_("plan"), editable=False)
    export_log = models.ForeignKey(
        "crm.ExportLog",
        verbose_name=_("export log entry"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    total = models.PositiveIntegerField(_("rows to write"))
    done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.CharField(_("file in storage"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ["-created_at"]
        constraints = [
            choices_constraint("status", ExportJobStatus, "exportjob"),
            choices_constraint("kind", ExportKind, "exportjob"),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(file=""), name="crm_exportjob_done_has_file"
            ),
        ]
        indexes = job_indexes("exportjob")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"
