"""Imports of any size, off the request: a job checks the file, another imports it once confirmed.

A file uploaded on the staff page (``/imports/new/``), or on the admin's import
page when it holds more than ``ADMIN_MAX_ROWS`` rows, goes to the private
documents storage and becomes an ``ImportJob``. Its first step checks every row
as the import would (``import_contacts`` as a dry run: the same conversions,
keys and database refusals, rolled back), reporting the rows read; its page
then shows the preview: what would be created, updated or left alone, the first
rows, every problem with its row. Its requester confirms, and the second step
imports the file in one transaction, checking it again (the data may have
changed since): all or nothing. The page then lists what was created, and
every row's outcome is kept as a CSV with the job.

Each step runs on the queue of exports (``crm/jobs.py``) and shares its
lifecycle: progress with a heartbeat, a dead worker's attempt retried or
failed, the requester told by e-mail, files purged after the retention.
"""

import csv
import io
import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task

from crm import emails, jobs
from crm.importing import ImportFileError, ImportResult, count_rows_in, import_contacts
from crm.models import ImportJob
from crm.storage import document_storage

logger = logging.getLogger(__name__)

# Where uploads and reports are kept in the documents storage.
FOLDER = "imports"
# The formats an import reads, by the file name's ending.
SUFFIXES = (".csv", ".xlsx")
# How many created records the result page lists (every row is in the report).
CREATED_LISTED = 100


class ImportTooLarge(Exception):
    """An upload over CRM_IMPORT_MAX_BYTES, refused while it arrives (crm.uploads)."""

    def __init__(self):
        super().__init__(too_large_message())


def too_large_message() -> str:
    return _("The file is larger than %(size)s: split it.") % {
        "size": filesizeformat(settings.CRM_IMPORT_MAX_BYTES)
    }


def start(user, upload, *, kind: str) -> ImportJob:
    """Keep ``upload`` (a file of ``kind``) in storage and queue its check; return the job."""
    job = ImportJob(requested_by=user, kind=kind, file_name=(upload.name or "")[-255:])
    upload.seek(0)
    job.upload = document_storage.save(
        f"{FOLDER}/{job.pk}{Path(job.file_name).suffix.lower()}", File(upload)
    )
    try:
        with transaction.atomic():
            job.task_id = run_import.enqueue(str(job.pk)).id
            job.save(force_insert=True)
    except BaseException:
        document_storage.delete(job.upload)
        raise
    return job


def confirm(user, job_id) -> bool:
    """Queue the import of a file ``user`` uploaded, checked without a problem.

    False when there is nothing to confirm: someone else's job, one not checked
    yet or with problems, or one already confirmed (the row lock makes a double
    click count once).
    """
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update()
            .filter(pk=job_id, requested_by=user)
            .only("pk", "step", "status", "result", "upload")
            .first()
        )
        if job is None or not job.awaits_confirmation or not job.upload:
            return False
        job.step, job.status = ImportJob.Step.IMPORT, ImportJob.Status.QUEUED
        job.done = job.attempts = 0
        job.started_at = job.heartbeat_at = job.finished_at = None
        job.task_id = run_import.enqueue(str(job.pk)).id
        job.save(
            update_fields=[
                "step",
                "status",
                "done",
                "attempts",
                "started_at",
                "heartbeat_at",
                "finished_at",
                "task_id",
            ]
        )
    return True


@task(takes_context=True)
def run_import(context: TaskContext, job_id: str) -> int | None:
    """The task: run the job's step, check or import (run by ``manage.py run_jobs``)."""
    return run(job_id, task_id=str(context.task_result.id))


def run(job_id, *, task_id: str) -> int | None:
    """Run the step of job ``job_id`` as task ``task_id``; return its rows, None if not ours."""
    if not jobs.take(ImportJob, job_id, task_id=task_id):
        return None
    job = ImportJob.objects.select_related("requested_by").get(pk=job_id)
    try:
        # The problems found are written in the words of the one who reads them.
        with translation.override(emails.language_of(job.requested_by)):
            rows = _run_step(job, task_id)
    except jobs.Superseded:
        logger.warning("Import job %s was given to another worker; this attempt stops.", job_id)
        return None
    except ImportFileError as unreadable:
        # The file's fault, not the worker's: no other attempt would do better.
        jobs.fail(job, reason=str(unreadable), task_id=task_id)
        return None
    except Exception as error:
        jobs.fail(job, reason=f"{type(error).__name__}: {error}", task_id=task_id)
        raise
    job.refresh_from_db()
    notify(job)
    return rows


def _run_step(job: ImportJob, task_id: str) -> int:
    importing = job.step == ImportJob.Step.IMPORT
    with document_storage.open(job.upload, "rb") as file, tempfile.TemporaryFile() as report:
        total = count_rows_in(file, job.file_name) or 0
        file.seek(0)
        # Committed before the step's transaction: the page shows the total at once.
        _mine(job, task_id).update(total=total, heartbeat_at=timezone.now())
        progress = jobs.Progress(job.pk, task_id, model=ImportJob, aside=True)
        outcomes = _Outcomes(io.TextIOWrapper(report, encoding="utf-8-sig", newline=""))
        with transaction.atomic():
            result = import_contacts(
                file,
                filename=job.file_name,
                dry_run=not importing,
                by=job.requested_by,
                expect=job.kind,
                progress=lambda number: progress(number - 1),
                on_row=outcomes.add if importing else None,
            )
            report_name = ""
            if result.saved:
                report_name = document_storage.save(
                    f"{FOLDER}/{job.pk}-report.csv", File(outcomes.finish())
                )
            # The upload waits only for its confirmation: once imported, or
            # found wrong, it is deleted (it may name people).
            keep_upload = not importing and not result.error_count
            if not keep_upload:
                upload = job.upload
                transaction.on_commit(lambda: document_storage.delete(upload))
            finished = _mine(job, task_id).update(
                status=ImportJob.Status.DONE,
                done=result.rows,
                total=result.rows,
                result=summary(result, outcomes.created),
                report=report_name,
                upload=job.upload if keep_upload else "",
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
            )
            if not finished:
                if report_name:
                    document_storage.delete(report_name)
                raise jobs.Superseded
    return result.rows


def _mine(job: ImportJob, task_id: str):
    """The job, while this attempt runs it."""
    return ImportJob.objects.filter(pk=job.pk, task_id=task_id, status=ImportJob.Status.RUNNING)


class _Outcomes:
    """Every row's outcome, written to the report as it comes; the first created kept."""

    def __init__(self, text) -> None:
        self.text = text
        self.writer = csv.writer(text)
        self.writer.writerow([_("Row"), _("Outcome"), _("Key")])
        self.created: list[str] = []
        self.labels = {
            "created": _("created"),
            "updated": _("updated"),
            "unchanged": _("unchanged"),
        }

    def add(self, number: int, action: str, key: str) -> None:
        self.writer.writerow([number, self.labels[action], key])
        if action == "created" and len(self.created) < CREATED_LISTED:
            self.created.append(key)

    def finish(self):
        self.text.flush()
        binary = self.text.buffer
        binary.seek(0)
        return binary


# The counts of a step's outcome, as ImportResult names them.
COUNTS = (
    "rows",
    "created",
    "updated",
    "unchanged",
    "affiliations_created",
    "affiliations_updated",
    "error_count",
)


def summary(result: ImportResult, created: list[str]) -> dict:
    """What the job's page shows of a step's outcome (JSON)."""
    return {
        **{name: getattr(result, name) for name in COUNTS},
        "errors": [[error.row, error.column, error.message] for error in result.errors],
        "preview": [list(row) for row in result.preview],
        "created_keys": created,
    }


def notify(job: ImportJob) -> None:
    """E-mail the requester that their file is checked, imported, or failed; errors are logged."""
    user = job.requested_by
    if not user.email:
        return
    with translation.override(emails.language_of(user)):
        if job.status == ImportJob.Status.FAILED:
            subject = _("Your import “%(file)s” failed")
        elif job.step == ImportJob.Step.CHECK:
            subject = _("Your file “%(file)s” is checked")
        else:
            subject = _("Your file “%(file)s” is imported")
        message = emails.build_message(
            to=user,
            subject=emails.subject_line(subject % {"file": job.file_name}),
            template="import_job",
            context={
                "job": job,
                "url": emails.absolute_url(reverse("import-job", args=[job.pk])),
            },
        )
    try:
        message.send()
    except Exception:
        logger.exception("The notice of import job %s could not be sent.", job.pk)
