"""A worker killed mid-export (kill -9): its job is written by another, once (issue 23, point 5).

A real ``manage.py run_jobs`` process takes the job, reports progress and is
killed with SIGKILL; the housekeeping finds the job silent, gives it a new
attempt, and a second worker writes the whole file. PostgreSQL only: the
worker process needs the test's database, committed (transactional test).
"""

import io
import signal
import time
from datetime import timedelta
from unittest import mock

import openpyxl
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from crm import jobs, roles
from crm.api import exporters
from crm.models import ExportJob, FollowUp
from crm.storage import document_storage
from tests import factories
from tests.job_worker import worker_process

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 30_000


def wait_for(condition, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_job_whose_worker_was_killed_is_written_once_by_another(postgres_only, tmp_path):
    for name in roles.ROLES:
        Group.objects.get_or_create(name=name)
    roles.sync_role_permissions()
    call_command("generate_data", follow_ups=ROWS, no_progress=True, stdout=io.StringIO())
    requester = factories.UserFactory(is_superuser=True)
    request = RequestFactory().get("/")
    request.user = requester
    job = jobs.start_export(
        request,
        queryset=FollowUp.objects.order_by("pk"),
        columns=exporters.columns_for(FollowUp),
        total=ROWS,
        kind="xlsx",
        resource="follow-ups",
        filters={},
        basename="follow-ups",
        title="Follow-ups",
    )
    first_task = job.task_id

    worker = worker_process(tmp_path / "private")
    try:
        wait_for(lambda: ExportJob.objects.filter(pk=job.pk, done__gt=0).exists())
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        worker.kill()

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("running", 1)
    assert 0 < job.done < ROWS
    # Not yet silent long enough: left alone.
    assert jobs.reap_stalled() == (0, 0)
    later = timezone.now() + timedelta(seconds=settings.CRM_JOB_STALE_SECONDS + 1)
    assert jobs.reap_stalled(now=later) == (1, 0)

    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("run_jobs", batch=True, startup_delay=False, reload=False, verbosity=0)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.done, job.total) == ("done", 2, ROWS, ROWS)
    assert DBTaskResult.objects.get(id=first_task).exception_class_path == "crm.jobs.WorkerLost"
    assert DBTaskResult.objects.get(id=job.task_id).status == "SUCCESSFUL"
    # One file, the second worker's: the killed one never stored anything.
    assert document_storage.listdir("exports")[1] == [job.file.removeprefix("exports/")]
    sheet = openpyxl.load_workbook(document_storage.open(job.file), read_only=True).active
    assert sum(1 for _row in sheet.iter_rows(values_only=True)) == ROWS + 1
