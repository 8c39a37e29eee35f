"""Long work off the request: exports too large to answer at once, written by a job.

The queue is Django's task interface (``django.tasks`` in Django 6, the
``django-tasks`` backport here) on its database backend (django-tasks-db): the
tasks are rows of the database we already run, taken by ``manage.py
run_jobs`` with ``SELECT … FOR UPDATE SKIP LOCKED``, so no new server (Redis,
RabbitMQ) is needed and several workers on several hosts never take the same
task.

An export (API list with ``?format=csv|xlsx``, or a staff page's "Export"
button) selecting more than ``CRM_EXPORT_JOB_THRESHOLD`` rows becomes an
``ExportJob``: the request builds the export as it would have written it (its
query, its columns in the reader's language), records it in the export log,
stores it signed on the job and enqueues ``write_export``; it answers at once
(202 with the job's address, or the staff page with its progress bar). The
worker writes the file row by row, reporting how many rows are done, to the
private documents storage (``crm/storage.py``), where its requester and
Coordination download it for ``CRM_EXPORT_FILE_RETENTION_DAYS`` days.

What a dead worker leaves behind: the backend marks a task running when a
worker takes it, and nothing else would ever notice that the worker was killed.
Each job reports progress at least every few seconds (``heartbeat_at``); the
workers' housekeeping (``housekeeping()``, run by ``run_jobs``) gives a job
silent for ``CRM_JOB_STALE_SECONDS`` a new attempt, or after
``CRM_JOB_MAX_ATTEMPTS`` marks it failed with its reason and tells its
requester. An attempt writes only while the job names its task: an older attempt
that comes back to life finds another task named and stops, so no job is ever
written by two workers at once, nor finished twice.
"""

import base64
import dataclasses
import io
import logging
import pickle
import tempfile
import time
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import F, Q
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tasks import TaskContext, task
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import normalize_uuid

from crm import emails, roles, schedule
from crm.api import export as exporting
from crm.audit import record_export
from crm.models import ExportJob, ExportLog, ImportJob
from crm.storage import document_storage

logger = logging.getLogger(__name__)

# The export's plan is signed: only this application's requests can give a
# worker a query to unpickle.
PLAN_SALT = "crm.jobs.export-plan"
# Where finished exports are kept in the documents storage.
FOLDER = "exports"
# A running job reports its progress at most this often (seconds), and at least
# every ROWS_PER_CHECK rows read.
PROGRESS_SECONDS = 1.0
ROWS_PER_CHECK = 500
# How often a worker looks for dead jobs and expired files.
HOUSEKEEPING_SECONDS = 60


# Each kind of job: the task that runs an attempt, and the notice that tells its
# requester how it ended (by path: the import's live with the importing).
KINDS = {
    ExportJob: ("crm.jobs.write_export", "crm.jobs.notify"),
    ImportJob: ("crm.importing.jobs.run_import", "crm.importing.jobs.notify"),
}


class Superseded(Exception):
    """This attempt no longer owns its job (the job was given to another worker)."""


class WorkerLost(Exception):
    """The worker running the task stopped without finishing it (recorded on its task)."""


# Deciding.


def long_export_total(queryset) -> int | None:
    """Return the number of rows when the export of ``queryset`` must be a job, else None.

    The first count stops at the threshold (a cheap, bounded query whatever the
    table's size); only an export above it is counted in full, for its progress.
    """
    threshold = settings.CRM_EXPORT_JOB_THRESHOLD
    if queryset.order_by()[: threshold + 1].count() <= threshold:
        return None
    return queryset.order_by().count()


def view_permission(model) -> str:
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def start_export(
    request,
    *,
    queryset,
    columns,
    total: int,
    kind: str,
    resource: str,
    filters: dict,
    basename: str,
    title: str,
    style: exporting.CSVStyle = exporting.MACHINE_CSV,
) -> ExportJob:
    """Record the export, and queue the job that writes it; call with the reader's language on.

    The job and its task are written in one transaction: neither exists without
    the other.
    """
    export = exporting.Export.of(queryset, columns, style)
    with transaction.atomic():
        entry = record_export(
            request, user=request.user, kind=kind, resource=resource, filters=filters
        )
        job = ExportJob(
            requested_by=request.user,
            kind=kind,
            resource=resource,
            permission=view_permission(queryset.model),
            filename=exporting._filename(basename, kind),
            title=title[:100],
            plan=pack(export),
            export_log=entry,
            total=total,
        )
        job.task_id = write_export.enqueue(str(job.pk)).id
        job.save(force_insert=True)
    return job


# The export's plan: what the request built, for the worker.


def pack(export: exporting.Export) -> str:
    """Return ``export`` as signed text: its model, its query and its bound columns.

    A queryset pickles its rows, so its query is pickled alone (as Django's
    documentation shows); the columns keep what the writers read (header, kind,
    width, places), their labels being already in ``export.labels``.
    """
    columns = [
        dataclasses.replace(column, header=str(column.header), value="pk", choices=())
        for column in export.columns
    ]
    portable = dataclasses.replace(export, queryset=None, columns=columns)
    buffer = io.BytesIO()
    _ModelsByName(buffer, pickle.HIGHEST_PROTOCOL).dump(
        (export.queryset.model, export.queryset.query, portable)
    )
    return signing.Signer(salt=PLAN_SALT).sign(base64.b64encode(buffer.getvalue()).decode())


def _model(app_label: str, model_name: str) -> type[models.Model]:
    return apps.get_model(app_label, model_name)


class _ModelsByName(pickle.Pickler):
    """Pickle model classes by their app label and name.

    The through model of a many-to-many field (``Interaction_staff``) is made
    by Django, not defined in its module, so pickle cannot find it by its import
    path; the app registry knows every model by name.
    """

    def reducer_override(self, obj):
        if isinstance(obj, type) and issubclass(obj, models.Model):
            return _model, (obj._meta.app_label, obj._meta.model_name)
        return NotImplemented


def unpack(plan: str) -> exporting.Export:
    """Return the export ``pack`` stored; BadSignature if the text was not ours."""
    payload = base64.b64decode(signing.Signer(salt=PLAN_SALT).unsign(plan))
    # Only text this application signed reaches pickle.
    model, query, export = pickle.loads(payload)
    queryset = model._default_manager.all()
    queryset.query = query
    return dataclasses.replace(export, queryset=queryset.values_list(*export.aliases))


# Writing.


@dataclasses.dataclass
class Progress:
    """Report rows done on the job, at most every PROGRESS_SECONDS; Superseded if not ours.

    ``aside``: the job runs inside its own transaction (an import, all or
    nothing), where an update would be seen by nobody until the end; its
    progress is written by a connection of its own, committed at once. SQLite
    has one writer, the job itself: there the progress waits for the end.
    """

    job_id: object
    task_id: str
    model: type[models.Model] = ExportJob
    aside: bool = False
    reported_at: float = dataclasses.field(default_factory=time.monotonic)

    def __call__(self, done: int) -> None:
        if time.monotonic() - self.reported_at < PROGRESS_SECONDS:
            return
        if self.aside:
            mine = _report_aside(self.model, self.job_id, self.task_id, done)
        else:
            mine = self.model.objects.filter(
                pk=self.job_id, task_id=self.task_id, status=self.model.Status.RUNNING
            ).update(done=done, heartbeat_at=timezone.now())
        if not mine:
            raise Superseded
        self.reported_at = time.monotonic()


def _report_aside(model, job_id, task_id: str, done: int) -> int:
    """Write a job's progress on a connection of its own; return the rows updated."""
    if connection.vendor != "postgresql":
        return 1
    aside = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with aside.cursor() as cursor:
            cursor.execute(
                f"UPDATE {aside.ops.quote_name(model._meta.db_table)} "
                "SET done = %s, heartbeat_at = %s "
                "WHERE id = %s AND task_id = %s AND status = %s",
                [done, timezone.now(), job_id, task_id, model.Status.RUNNING.value],
            )
            return cursor.rowcount
    finally:
        aside.close()


@dataclasses.dataclass
class _CountedExport(exporting.Export):
    """The export, its rows counted as the writers read them."""

    progress: Progress | None = None

    def rows(self):
        for done, row in enumerate(super().rows(), 1):
            yield row
            if done % ROWS_PER_CHECK == 0:
                self.progress(done)


def write_file(export: exporting.Export, file, *, kind: str, title: str) -> int:
    """Write the export to ``file`` (binary); return the rows written.

    The CSV is the Python path's (the same bytes as COPY, which tests compare):
    COPY holds the connection, so a job writing by COPY could not report progress.
    """
    if kind == "xlsx":
        return exporting.write_xlsx(export, file, title)
    counter: dict = {}
    file.write(("\ufeff" + exporting._csv_line(export.headers, export.style.delimiter)).encode())
    for part in exporting.csv_lines_python(export, counter):
        file.write(part.encode())
    return counter["rows"]


@task(takes_context=True)
def write_export(context: TaskContext, job_id: str) -> int | None:
    """The task: write the job's export (run by ``manage.py run_jobs``)."""
    return run_export(job_id, task_id=str(context.task_result.id))


def run_export(job_id, *, task_id: str) -> int | None:
    """Write the export of job ``job_id`` as task ``task_id``; return the rows, None if not ours.

    A job is taken only while it waits under this task: never twice, never by
    an attempt the housekeeping replaced.
    """
    if not take(ExportJob, job_id, task_id=task_id):
        return None
    job = ExportJob.objects.get(pk=job_id)
    name = ""
    try:
        export = unpack(job.plan)
        export = _CountedExport(
            **{f.name: getattr(export, f.name) for f in dataclasses.fields(export)},
            progress=Progress(job.pk, task_id),
        )
        with tempfile.TemporaryFile() as file:
            rows = write_file(export, file, kind=job.kind, title=job.title)
            file.seek(0)
            name = document_storage.save(f"{FOLDER}/{job.pk}.{job.kind}", File(file))
        finished = ExportJob.objects.filter(
            pk=job.pk, task_id=task_id, status=ExportJob.Status.RUNNING
        ).update(
            status=ExportJob.Status.DONE,
            file=name,
            done=rows,
            total=rows,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        if not finished:
            raise Superseded
    except Superseded:
        logger.warning("Export job %s was given to another worker; this attempt stops.", job_id)
        if name:
            document_storage.delete(name)
        return None
    except Exception as error:
        if name:
            document_storage.delete(name)
        fail(job, reason=f"{type(error).__name__}: {error}", task_id=task_id)
        raise
    if job.export_log_id:
        ExportLog.objects.filter(pk=job.export_log_id).update(row_count=rows)
    job.refresh_from_db()
    notify(job)
    return rows


def take(model, job_id, *, task_id: str) -> bool:
    """Mark job ``job_id`` running as task ``task_id``; False unless it waits under that task.

    So a job is taken once, and never by an attempt the housekeeping replaced.
    """
    now = timezone.now()
    return bool(
        model.objects.filter(pk=job_id, task_id=task_id, status=model.Status.QUEUED).update(
            status=model.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            done=0,
            attempts=F("attempts") + 1,
        )
    )


def fail(job, *, reason: str, task_id: str | None = None) -> bool:
    """Mark ``job`` (of any kind) failed with ``reason`` and tell its requester.

    False if it had moved on (finished, or given to another attempt).
    """
    model = type(job)
    jobs = model.objects.filter(pk=job.pk).exclude(
        status__in=[model.Status.DONE, model.Status.FAILED]
    )
    if task_id is not None:
        jobs = jobs.filter(task_id=task_id)
    failed = jobs.update(
        status=model.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
    )
    if not failed:
        return False
    job.refresh_from_db()
    import_string(KINDS[model][1])(job)
    return True


def notify(job: ExportJob) -> None:
    """E-mail the requester that their export is ready, or failed; a mail error is logged."""
    user = job.requested_by
    if not user.email:
        return
    with translation.override(emails.language_of(user)):
        if job.status == ExportJob.Status.DONE:
            subject = _("Your export “%(file)s” is ready") % {"file": job.filename}
        else:
            subject = _("Your export “%(file)s” failed") % {"file": job.filename}
        message = emails.build_message(
            to=user,
            subject=emails.subject_line(subject),
            template="export_job",
            context={
                "job": job,
                "url": emails.absolute_url(reverse("export-job", args=[job.pk])),
                "days": settings.CRM_EXPORT_FILE_RETENTION_DAYS,
            },
        )
    try:
        message.send()
    except Exception:
        logger.exception("The notice of export job %s could not be sent.", job.pk)


# Reading (pages and API).


def job_for_user(user, job_id, model=ExportJob):
    """Return the job ``user`` may read: their own, or any for Coordination; else 404.

    Someone else's job is "not found", as an unknown one: its address says nothing.
    """
    job = model.objects.filter(pk=job_id).select_related("requested_by").first()
    if job is None or (job.requested_by_id != user.pk and not roles.is_coordination(user)):
        raise Http404
    return job


def downloadable(user, job_id) -> ExportJob:
    """Return the finished job whose file ``user`` may download; else 404."""
    job = job_for_user(user, job_id)
    if job.status != ExportJob.Status.DONE or not user.has_perm(job.permission):
        raise Http404
    return job


def seconds_left(job, *, now=None) -> int | None:
    """Estimate the seconds until the job is done, from its pace so far; None if unknown."""
    if job.status != job.Status.RUNNING or not job.done or not job.total or not job.started_at:
        return None
    elapsed = ((now or timezone.now()) - job.started_at).total_seconds()
    return max(0, round(elapsed / job.done * max(job.total - job.done, 0)))


# Housekeeping (run_jobs).


def reap_stalled(*, now=None) -> tuple[int, int]:
    """Give dead workers' jobs (of every kind) another attempt, or fail them.

    Return (retried, failed). A job is dead when it is running and has not
    reported progress for CRM_JOB_STALE_SECONDS; or when it still waits but its
    task is gone, failed, or was taken that long ago by a worker that died
    before starting it. Its task, which the backend would show as running
    forever, is marked failed.
    """
    now = now or timezone.now()
    retried = failed = 0
    for model in KINDS:
        counts = _reap(model, now=now)
        retried, failed = retried + counts[0], failed + counts[1]
    return retried, failed


def _reap(model, *, now) -> tuple[int, int]:
    limit = now - timedelta(seconds=settings.CRM_JOB_STALE_SECONDS)
    enqueue = import_string(KINDS[model][0]).enqueue
    retried, to_fail = 0, []
    with transaction.atomic():
        candidates = list(
            model.objects.filter(
                Q(status=model.Status.RUNNING, heartbeat_at__lt=limit)
                | Q(status=model.Status.QUEUED, created_at__lt=limit)
            )
            # The jobs' rows only, not their requesters'.
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("requested_by")[:100]
        )
        tasks = {
            normalize_uuid(task.id): task
            for task in DBTaskResult.objects.filter(id__in=[job.task_id for job in candidates])
        }
        for job in candidates:
            task = tasks.get(job.task_id)
            if job.status == model.Status.QUEUED:
                taken_and_lost = (
                    task is not None
                    and task.status == "RUNNING"
                    and (task.started_at is None or task.started_at < limit)
                )
                if task is not None and task.status != "FAILED" and not taken_and_lost:
                    continue  # Waiting for a worker: nothing is lost.
                # The attempt that never began counts as one.
                job.attempts += 1
            if task is not None and task.status not in ("SUCCESSFUL", "FAILED"):
                DBTaskResult.objects.filter(id=task.id).update(
                    status="FAILED",
                    finished_at=now,
                    exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                    traceback="The worker stopped without finishing the task.",
                )
            if job.attempts < settings.CRM_JOB_MAX_ATTEMPTS:
                job.status = model.Status.QUEUED
                job.done = 0
                job.task_id = enqueue(str(job.pk)).id
                job.save(update_fields=["status", "done", "task_id", "attempts"])
                retried += 1
                logger.warning(
                    "%s %s lost its worker; attempt %s queued.",
                    model.__name__,
                    job.pk,
                    job.attempts + 1,
                )
            else:
                to_fail.append(job)
    for job in to_fail:
        fail(
            job,
            reason=(
                f"The worker running the job stopped (killed or restarted) "
                f"{job.attempts} time(s); no attempt is left."
            ),
        )
    return retried, len(to_fail)


def purge(*, now=None) -> int:
    """Delete jobs (of every kind) older than the retention, and their files; return how many.

    The backend's own finished task rows go after the same time.
    """
    now = now or timezone.now()
    limit = now - timedelta(days=settings.CRM_EXPORT_FILE_RETENTION_DAYS)
    deleted = 0
    for model in KINDS:
        old = model.objects.filter(created_at__lt=limit)
        for job in old.only(*FILE_FIELDS[model])[:1000]:
            delete_files(job)
            deleted += model.objects.filter(pk=job.pk).delete()[0]
    DBTaskResult.objects.finished().filter(finished_at__lt=limit).delete()
    return deleted


# Where each kind of job keeps its files in the documents storage.
FILE_FIELDS = {ExportJob: ("file",), ImportJob: ("upload", "report")}


def delete_files(job) -> None:
    """Delete the files ``job`` keeps in storage (a file already gone is no error)."""
    for name in FILE_FIELDS[type(job)]:
        if getattr(job, name):
            document_storage.delete(getattr(job, name))


def housekeeping() -> None:
    """Do what every worker does once a minute.

    Dead jobs retried or failed, old files deleted, the scheduled commands whose
    period has begun queued (crm.schedule).
    """
    reap_stalled()
    purge()
    schedule.queue_due()
    schedule.purge()


def file_response(job: ExportJob) -> FileResponse:
    """Send the export job's file from the private storage; 404 if it is gone (purged)."""
    media_type = exporting.XLSX_MEDIA_TYPE if job.kind == "xlsx" else exporting.CSV_MEDIA_TYPE
    return stored_file_response(job.file, filename=job.filename, media_type=media_type)


def stored_file_response(name: str, *, filename: str, media_type: str) -> FileResponse:
    """Send a job's file ``name`` from the private storage as ``filename``; 404 if it is gone."""
    try:
        file = document_storage.open(name, "rb")
    except OSError as missing:
        raise Http404 from missing
    response = FileResponse(file, content_type=media_type)
    response["Content-Disposition"] = exporting.content_disposition(filename)
    return response
