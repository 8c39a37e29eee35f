"""The page of an export written by a job: its progress, then its file.

A staff page's "Export" above ``CRM_EXPORT_JOB_THRESHOLD`` rows sends its
reader here (``crm.views.exports.export_response``). While the job runs the
page shows the rows written of the total and the time left, and reloads itself
every few seconds (a ``<meta http-equiv="refresh">``: no script); once the file
is written it is the link to it. The requester (and Coordination) only: anyone
else is told "not found", as for an unknown job.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult

from crm import jobs, roles, schedule
from crm.models import ExportJob, ImportJob

# Seconds between two reloads of a running job's page.
REFRESH_SECONDS = 2


@require_GET
@login_required
def export_job(request: HttpRequest, pk) -> HttpResponse:
    job = jobs.job_for_user(request.user, pk)
    left = jobs.seconds_left(job)
    return render(
        request,
        "crm/export_job.html",
        {
            "job": job,
            "refresh": None if job.is_finished else REFRESH_SECONDS,
            "percent": int(100 * job.done / job.total) if job.total else 0,
            "minutes_left": None if left is None else left // 60,
            "seconds_left": None if left is None else left % 60,
            "retention_days": settings.CRM_EXPORT_FILE_RETENTION_DAYS,
        },
    )


@require_GET
@login_required
def export_job_download(request: HttpRequest, pk) -> HttpResponse:
    return jobs.file_response(jobs.downloadable(request.user, pk))


# How many export jobs each list of the jobs page shows.
JOBS_LISTED = 50


@require_GET
@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    """What the workers do, for Coordination: exports waiting, running, failed, the imports,
    the schedule.

    Eight queries whatever the volume: each list is cut at JOBS_LISTED.
    """
    if not roles.is_coordination(request.user):
        raise PermissionDenied
    exports = ExportJob.objects.select_related("requested_by").defer("plan")
    in_progress = ExportJob.Status.QUEUED, ExportJob.Status.RUNNING
    queue = dict(DBTaskResult.objects.order_by().values_list("status").annotate(count=Count("pk")))
    context = {
        "active": exports.filter(status__in=in_progress).order_by("created_at")[:JOBS_LISTED],
        "failed": exports.filter(status=ExportJob.Status.FAILED).order_by("-finished_at")[
            :JOBS_LISTED
        ],
        "done": exports.filter(status=ExportJob.Status.DONE).order_by("-finished_at")[
            :JOBS_LISTED
        ],
        "imports": ImportJob.objects.select_related("requested_by")
        .defer("result")
        .order_by("-created_at")[:JOBS_LISTED],
        "schedule": schedule.latest(),
        "scheduled": settings.CRM_SCHEDULE,
        "queue": {
            "waiting": queue.get("READY", 0),
            "running": queue.get("RUNNING", 0),
            "failed": queue.get("FAILED", 0),
            "done": queue.get("SUCCESSFUL", 0),
        },
    }
    return render(request, "crm/job_list.html", context)
