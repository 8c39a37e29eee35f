"""The staff pages of imports: upload a spreadsheet, follow its check, confirm, read the result.

Every step runs as a job (``crm/importing/jobs.py``), so no request waits on a
file, whatever its size. The job's page follows it as the export's does (it
reloads itself every few seconds, no script): the rows read while the file is
checked, the preview and its problems once checked, the rows imported, and
then what was created. Its requester confirms; Coordination may read it.
"""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from crm import importing, jobs, roles, uploads
from crm.api.export import CSV_MEDIA_TYPE
from crm.forms import ImportUploadForm, importable_kinds
from crm.importing import jobs as import_jobs
from crm.importing.jobs import ImportTooLarge
from crm.models import ImportJob, Organization, Person
from crm.views.jobs import REFRESH_SECONDS


@csrf_exempt
@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    """Upload a file of organisations or people; its check starts at once."""
    if not importable_kinds(request.user):
        raise PermissionDenied
    if request.method == "POST":
        # Before anything reads the body (the CSRF check reads the form).
        uploads.limit_uploads(
            request, limit=settings.CRM_IMPORT_MAX_BYTES, too_large=ImportTooLarge
        )
    try:
        return _import_new(request)
    except ImportTooLarge as error:
        form = ImportUploadForm(data={}, files={}, user=request.user)
        form.errors.clear()
        form.add_error("file", str(error))
        return render(request, "crm/import_new.html", _new_context(request, form), status=413)


@csrf_protect
def _import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            job = import_jobs.start(
                request.user, form.cleaned_data["file"], kind=form.cleaned_data["kind"]
            )
            return redirect("import-job", pk=job.pk)
        return render(request, "crm/import_new.html", _new_context(request, form), status=400)
    return render(request, "crm/import_new.html", _new_context(request, form))


# How many of the user's own imports the upload page lists.
RECENT_LISTED = 10


def _new_context(request: HttpRequest, form) -> dict:
    return {
        "form": form,
        "recent": ImportJob.objects.filter(requested_by=request.user)
        .defer("result")
        .order_by("-created_at")[:RECENT_LISTED],
        "columns": importing.COLUMNS,
        "max_bytes": settings.CRM_IMPORT_MAX_BYTES,
        "max_rows": importing.MAX_ROWS,
    }


def _job_for_user(user, pk) -> ImportJob:
    """The import ``user`` may read: theirs while they may still import its kind, or any for
    Coordination; else 404 (as an export job's file once its permission is lost)."""
    job = jobs.job_for_user(user, pk, model=ImportJob)
    lost = job.requested_by_id == user.pk and job.kind not in importable_kinds(user)
    if lost and not roles.is_coordination(user):
        raise Http404
    return job


@require_GET
@login_required
def import_job(request: HttpRequest, pk) -> HttpResponse:
    job = _job_for_user(request.user, pk)
    left = jobs.seconds_left(job)
    # Every count the page reads, whatever a step left (a failed one: none).
    result = {**dict.fromkeys(import_jobs.COUNTS, 0), **job.result}
    return render(
        request,
        "crm/import_job.html",
        {
            "job": job,
            "result": result,
            "errors": [
                {"row": row, "column": column, "message": message}
                for row, column, message in result.get("errors", [])
            ],
            "errors_not_listed": result.get("error_count", 0) - len(result.get("errors", [])),
            "preview": [
                {"row": row, "action": action, "key": key}
                for row, action, key in result.get("preview", [])
            ],
            "created": _created(job, result),
            "can_confirm": job.awaits_confirmation and job.requested_by_id == request.user.pk,
            "refresh": None if job.is_finished else REFRESH_SECONDS,
            "percent": int(100 * job.done / job.total) if job.total else None,
            "minutes_left": None if left is None else left // 60,
            "seconds_left": None if left is None else left % 60,
        },
    )


def _created(job: ImportJob, result: dict) -> list:
    """The first records the import created, as they are now (one query)."""
    if job.step != ImportJob.Step.IMPORT or job.status != ImportJob.Status.DONE:
        return []
    keys = result.get("created_keys", [])
    if not keys:
        return []
    model = Organization if job.kind == ImportJob.Kind.ORGANIZATIONS else Person
    found = {record.slug: record for record in model.objects.filter(slug__in=keys)}
    # A record since merged or erased is listed by its key alone.
    return [{"key": key, "record": found.get(key)} for key in keys]


@require_POST
@login_required
def import_job_confirm(request: HttpRequest, pk) -> HttpResponse:
    """Import the checked file: its requester only, once."""
    job = _job_for_user(request.user, pk)
    if not import_jobs.confirm(request.user, job.pk):
        messages.error(request, _("This file cannot be imported (any more): see below."))
    return redirect("import-job", pk=job.pk)


@require_GET
@login_required
def import_job_report(request: HttpRequest, pk) -> HttpResponse:
    """Every row's outcome, as a CSV."""
    job = _job_for_user(request.user, pk)
    if not job.report:
        raise Http404
    name = f"{Path(job.file_name).stem}-{_('report')}.csv"
    return jobs.stored_file_response(job.report, filename=name, media_type=CSV_MEDIA_TYPE)
