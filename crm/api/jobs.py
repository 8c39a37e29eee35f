"""Export jobs in the API: ``/api/v1/jobs/<id>/`` and its file.

A list asked for as ``?format=csv|xlsx`` that selects more than
``CRM_EXPORT_JOB_THRESHOLD`` rows answers ``202 Accepted`` with ``Location:
/api/v1/jobs/<id>/`` (``CrmViewSet.list``); a script polls that address until
``status`` is ``done`` (or ``failed``, with ``error``), then fetches
``download``. A job is its requester's (and Coordination's): anyone else's, like
an unknown one, is 404.
"""

from django.http import JsonResponse
from django.urls import reverse
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import jobs
from crm.models import ExportJob


def job_url(job: ExportJob) -> str:
    return reverse("api:export-job", args=[job.pk])


def job_payload(job: ExportJob) -> dict:
    done = job.status == ExportJob.Status.DONE
    return {
        "id": str(job.pk),
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "format": job.kind,
        "list": job.resource,
        "file_name": job.filename,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error or None,
        "download": reverse("api:export-job-download", args=[job.pk]) if done else None,
    }


def accepted(job: ExportJob) -> JsonResponse:
    """The answer to an export that became a job: 202, the job's address and its state."""
    response = JsonResponse(job_payload(job), status=202)
    response["Location"] = job_url(job)
    return response


# One job, never a page of them, even where a list documents it (its 202).
JOB_SCHEMA = set_override(
    inline_serializer(
        "ExportJob",
        {
            "id": serializers.UUIDField(),
            "status": serializers.ChoiceField(choices=ExportJob.Status.choices),
            "done": serializers.IntegerField(help_text="Rows written so far."),
            "total": serializers.IntegerField(help_text="Rows to write."),
            "format": serializers.CharField(),
            "list": serializers.CharField(),
            "file_name": serializers.CharField(),
            "created_at": serializers.DateTimeField(),
            "finished_at": serializers.DateTimeField(allow_null=True),
            "error": serializers.CharField(allow_null=True),
            "download": serializers.CharField(
                allow_null=True, help_text="Where the file is, once the job is done."
            ),
        },
    ),
    "many",
    False,
)


class ExportJobView(APIView):
    """An export job: its status and progress (rows done of the total), then its file."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: JOB_SCHEMA}, operation_id="jobs_retrieve")
    def get(self, request, pk):
        return Response(job_payload(jobs.job_for_user(request.user, pk)))


class ExportJobDownloadView(APIView):
    """The file of a finished export job, to its requester (and Coordination)."""

    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request, force=False):
        # The answer is the file, whatever the client says it accepts.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="The CSV or XLSX file.")},
        operation_id="jobs_download",
    )
    def get(self, request, pk):
        return jobs.file_response(jobs.downloadable(request.user, pk))
