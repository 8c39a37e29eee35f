"""Exports above CRM_EXPORT_JOB_THRESHOLD rows are written by a job (crm/jobs.py).

The API answers 202 with the job's address, the staff pages a page with the
job's progress; ``manage.py run_jobs`` writes the file, run here in the test's
process; the requester (and Coordination) downloads it; anyone else is told
"not found". A job that raises, or whose worker died, is failed with its reason
and its requester told.
"""

import io
from datetime import timedelta
from unittest import mock

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.core import mail, signing
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from crm import jobs
from crm.api import exporters
from crm.api.base import CrmViewSet
from crm.api.export import Export
from crm.models import ExportJob, ExportLog, FollowUp, Organization, Person, Project
from crm.storage import document_storage
from crm.views import exports as page_exports
from tests import factories
from tests.api_resources import one_of_each, resources
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db

THRESHOLD = 3


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.CRM_EXPORT_JOB_THRESHOLD = THRESHOLD


@pytest.fixture(autouse=True)
def worker_in_the_test_transaction():
    # The worker closes a connection that is not in autocommit, as it would
    # after a request; the test's transaction is one such, and must stay open.
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        yield


def run_jobs() -> None:
    call_command("run_jobs", batch=True, startup_delay=False, reload=False, verbosity=0)


def content(response) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def sheet_rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


@pytest.fixture
def follow_ups():
    return factories.FollowUpFactory.create_batch(THRESHOLD + 2)


def ask(api, url="/api/v1/follow-ups/?format=xlsx"):
    response = api.get(url)
    assert response.status_code == 202, response
    return response


# The threshold, both ways.


def test_an_export_at_the_threshold_is_answered_at_once(coordinator_api):
    factories.FollowUpFactory.create_batch(THRESHOLD)

    response = coordinator_api.get("/api/v1/follow-ups/?format=xlsx")

    assert response.status_code == 200
    assert len(sheet_rows(content(response))) == THRESHOLD + 1
    assert not ExportJob.objects.exists()


def test_an_export_above_the_threshold_is_accepted_as_a_job(
    coordinator_api, coordinator, follow_ups
):
    response = ask(coordinator_api)

    job = ExportJob.objects.get()
    assert response["Location"] == f"/api/v1/jobs/{job.pk}/"
    assert response.json() == {
        "id": str(job.pk),
        "status": "queued",
        "done": 0,
        "total": THRESHOLD + 2,
        "format": "xlsx",
        "list": "follow-ups",
        "file_name": job.filename,
        "created_at": job.created_at.isoformat(),
        "finished_at": None,
        "error": None,
        "download": None,
    }
    assert job.requested_by == coordinator
    # Queued on the task backend, in the same transaction.
    assert DBTaskResult.objects.get().id.hex == job.task_id.replace("-", "")


@pytest.mark.parametrize("rows", [THRESHOLD + 1, 3 * THRESHOLD])
def test_the_202_runs_a_fixed_number_of_queries_whatever_the_rows(
    coordinator_api, rows, django_assert_num_queries
):
    factories.FollowUpFactory.create_batch(rows)

    # The user's permissions (2); the bounded COUNT, then the full one; in one
    # transaction (2: its savepoint and release here): the export log and the
    # personal-data read (follow-ups name people), the task, the job.
    with django_assert_num_queries(10):
        ask(coordinator_api)


def test_the_job_is_in_the_export_log_with_its_rows_once_written(
    coordinator_api, coordinator, follow_ups
):
    ask(coordinator_api, "/api/v1/follow-ups/?format=csv&ordering=due_on")
    entry = ExportLog.objects.get()
    assert (entry.user, entry.kind, entry.resource, entry.row_count) == (
        coordinator,
        "csv",
        "follow-ups",
        None,
    )
    assert entry.filters == {"format": ["csv"], "ordering": ["due_on"]}

    run_jobs()

    entry.refresh_from_db()
    assert entry.row_count == THRESHOLD + 2


# The worker, the progress and the file.


def test_the_worker_writes_the_file_and_the_requester_downloads_every_row(
    coordinator_api, follow_ups
):
    location = ask(coordinator_api)["Location"]

    run_jobs()

    state = coordinator_api.get(location).json()
    assert (state["status"], state["done"], state["total"]) == ("done", 5, 5)
    assert state["download"] == f"{location}download/"
    rows = sheet_rows(content(coordinator_api.get(state["download"])))
    assert len(rows) == 1 + len(follow_ups)
    titles = {row[rows[0].index("Title")] for row in rows[1:]}
    assert titles == {follow_up.title for follow_up in follow_ups}


def test_the_csv_job_writes_the_same_bytes_as_the_immediate_export(
    coordinator_api, follow_ups, settings
):
    location = ask(coordinator_api, "/api/v1/follow-ups/?format=csv")["Location"]
    run_jobs()
    written = content(coordinator_api.get(f"{location}download/"))

    settings.CRM_EXPORT_JOB_THRESHOLD = 1000
    immediate = content(coordinator_api.get("/api/v1/follow-ups/?format=csv"))

    assert written == immediate


def test_polling_shows_the_rows_done_of_the_total(
    coordinator_api, follow_ups, django_assert_max_num_queries
):
    location = ask(coordinator_api)["Location"]
    ExportJob.objects.update(status="running", done=2, started_at=timezone.now())

    with django_assert_max_num_queries(3):
        state = coordinator_api.get(location).json()

    assert (state["status"], state["done"], state["total"], state["download"]) == (
        "running",
        2,
        5,
        None,
    )


def test_the_worker_reports_progress_while_it_writes(follow_ups, rf, coordinator, monkeypatch):
    monkeypatch.setattr(jobs, "ROWS_PER_CHECK", 2)
    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0)
    seen = []
    report = jobs.Progress.__call__

    def watched(progress, done):
        report(progress, done)
        seen.append(ExportJob.objects.values_list("status", "done", "total").get())

    monkeypatch.setattr(jobs.Progress, "__call__", watched)
    request = rf.get("/")
    request.user = coordinator
    jobs.start_export(
        request,
        queryset=FollowUp.objects.order_by("pk"),
        columns=[jobs.exporting.Column("title", "title")],
        total=5,
        kind="xlsx",
        resource="follow-ups",
        filters={},
        basename="follow-ups",
        title="Follow-ups",
    )

    run_jobs()

    assert seen == [("running", 2, 5), ("running", 4, 5)]
    assert ExportJob.objects.values_list("status", "done").get() == ("done", 5)


def test_a_job_is_written_once(coordinator_api, follow_ups):
    ask(coordinator_api)
    job = ExportJob.objects.get()
    run_jobs()

    # Its task given again (a duplicate, a replay): nothing is written twice.
    assert jobs.run_export(job.pk, task_id=job.task_id) is None
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 1)


# Who reads a job and its file.


def test_another_staff_member_is_told_the_job_does_not_exist(
    coordinator_api, follow_ups, api_client, staff_user
):
    location = ask(coordinator_api)["Location"]
    run_jobs()
    api_client.force_authenticate(staff_user)

    assert api_client.get(location).status_code == 404
    assert api_client.get(f"{location}download/").status_code == 404


def test_coordination_reads_a_staff_members_job(api_client, staff_user, coordinator, follow_ups):
    api_client.force_authenticate(staff_user)
    location = ask(api_client)["Location"]
    run_jobs()

    api_client.force_authenticate(coordinator)

    assert api_client.get(location).json()["status"] == "done"
    assert len(sheet_rows(content(api_client.get(f"{location}download/")))) == 6


def test_anonymous_clients_are_refused(coordinator_api, follow_ups):
    location = ask(coordinator_api)["Location"]
    run_jobs()
    api_client = APIClient()

    assert api_client.get(location).status_code in (401, 403)
    assert api_client.get(f"{location}download/").status_code in (401, 403)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/00000000-0000-0000-0000-000000000000/",
        "/api/v1/jobs/00000000-0000-0000-0000-000000000000/download/",
        "/api/v1/jobs/not-a-uuid/",
        "/api/v1/jobs/%00/",
    ],
)
def test_an_unknown_job_is_not_found_in_the_api(coordinator_api, path):
    assert coordinator_api.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/exports/00000000-0000-0000-0000-000000000000/",
        "/exports/00000000-0000-0000-0000-000000000000/download/",
        "/exports/1/",
    ],
)
def test_an_unknown_job_is_not_found_on_the_pages(client, coordinator, path):
    client.force_login(coordinator)

    assert client.get(path).status_code == 404


def test_a_file_is_not_downloadable_before_it_is_written(coordinator_api, follow_ups):
    location = ask(coordinator_api)["Location"]

    assert coordinator_api.get(f"{location}download/").status_code == 404


# Failures.


def test_a_job_that_raises_is_failed_with_its_reason_and_its_requester_told(
    coordinator_api, coordinator, follow_ups, monkeypatch
):
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    location = ask(coordinator_api)["Location"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs, "write_file", broken)
    run_jobs()

    state = coordinator_api.get(location).json()
    assert (state["status"], state["error"], state["download"]) == (
        "failed",
        "RuntimeError: disk full",
        None,
    )
    assert DBTaskResult.objects.get().status == "FAILED"
    assert len(mail.outbox) == 1
    assert "disk full" in mail.outbox[0].body
    assert location.removeprefix("/api/v1/jobs/") in mail.outbox[0].body.replace("/exports/", "")


def test_the_requester_is_told_when_the_file_is_ready(coordinator_api, coordinator, follow_ups):
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    ask(coordinator_api)

    run_jobs()

    job = ExportJob.objects.get()
    assert len(mail.outbox) == 1
    assert f"/exports/{job.pk}/" in mail.outbox[0].body


def stalled_job(coordinator_api, *, attempts: int) -> ExportJob:
    ask(coordinator_api)
    long_ago = timezone.now() - timedelta(seconds=settings.CRM_JOB_STALE_SECONDS + 1)
    # A worker took it, then was killed: the backend shows its task running.
    DBTaskResult.objects.update(status="RUNNING", started_at=long_ago)
    ExportJob.objects.update(
        status="running", attempts=attempts, heartbeat_at=long_ago, started_at=long_ago
    )
    return ExportJob.objects.get()


def test_a_job_whose_worker_died_is_run_again(coordinator_api, follow_ups):
    job = stalled_job(coordinator_api, attempts=1)

    assert jobs.reap_stalled() == (1, 0)

    old_task = DBTaskResult.objects.get(id=job.task_id)
    assert old_task.status == "FAILED"
    assert old_task.exception_class_path == "crm.jobs.WorkerLost"
    # The dead worker's attempt, should it come back, may write nothing.
    assert jobs.run_export(job.pk, task_id=job.task_id) is None

    run_jobs()

    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == ("done", 2, 5)
    assert len(sheet_rows(document_storage.open(job.file).read())) == 6


def test_a_job_whose_worker_died_too_often_is_failed_and_its_requester_told(
    coordinator_api, coordinator, follow_ups
):
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    job = stalled_job(coordinator_api, attempts=settings.CRM_JOB_MAX_ATTEMPTS)

    assert jobs.reap_stalled() == (0, 1)

    job.refresh_from_db()
    assert job.status == "failed"
    assert "stopped" in job.error
    assert len(mail.outbox) == 1
    assert not DBTaskResult.objects.ready().exists()


def test_a_job_whose_worker_died_before_starting_it_is_run_again(coordinator_api, follow_ups):
    ask(coordinator_api)
    long_ago = timezone.now() - timedelta(seconds=settings.CRM_JOB_STALE_SECONDS + 1)
    # The worker took the task, then died before it took the job.
    DBTaskResult.objects.update(status="RUNNING", started_at=long_ago)
    ExportJob.objects.update(created_at=long_ago)
    job = ExportJob.objects.get()

    assert jobs.reap_stalled() == (1, 0)
    run_jobs()

    job.refresh_from_db()
    # Attempts: the one that never began, and the one that wrote the file.
    assert (job.status, job.attempts, job.done) == ("done", 2, 5)


def test_a_job_whose_task_failed_before_starting_it_is_failed_in_the_end(
    coordinator_api, follow_ups, settings
):
    settings.CRM_JOB_MAX_ATTEMPTS = 1
    ask(coordinator_api)
    long_ago = timezone.now() - timedelta(seconds=settings.CRM_JOB_STALE_SECONDS + 1)
    DBTaskResult.objects.update(status="FAILED")
    ExportJob.objects.update(created_at=long_ago)

    assert jobs.reap_stalled() == (0, 1)

    assert ExportJob.objects.get().status == "failed"


def test_a_job_waiting_for_a_worker_is_left_waiting(coordinator_api, follow_ups):
    ask(coordinator_api)
    ExportJob.objects.update(created_at=timezone.now() - timedelta(days=1))

    assert jobs.reap_stalled() == (0, 0)
    assert ExportJob.objects.get().status == "queued"


def test_a_running_job_that_reports_progress_is_left_alone(coordinator_api, follow_ups):
    ask(coordinator_api)
    ExportJob.objects.update(status="running", attempts=1, heartbeat_at=timezone.now())

    assert jobs.reap_stalled() == (0, 0)


# Retention.


def test_files_are_deleted_with_their_jobs_after_the_retention(coordinator_api, follow_ups):
    ask(coordinator_api)
    run_jobs()
    job = ExportJob.objects.get()
    assert document_storage.exists(job.file)
    later = timezone.now() + timedelta(days=settings.CRM_EXPORT_FILE_RETENTION_DAYS)

    assert jobs.purge(now=later - timedelta(minutes=1)) == 0
    assert jobs.purge(now=later + timedelta(minutes=1)) == 1

    assert not ExportJob.objects.exists()
    assert not document_storage.exists(job.file)
    assert not DBTaskResult.objects.exists()


# The staff pages.


def page(client, url):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(url)


def test_a_long_page_export_leads_to_its_progress_then_its_file(client, coordinator, follow_ups):
    client.force_login(coordinator)

    response = page(client, "/?scope=team&export=xlsx")

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/exports/{job.pk}/"
    waiting = page(client, response["Location"])
    assert b'http-equiv="refresh"' in waiting.content
    assert b"Waiting for a worker" in waiting.content

    with time_machine.travel(timezone.now(), tick=False):
        ExportJob.objects.update(
            status="running", done=2, started_at=timezone.now() - timedelta(seconds=4)
        )
        running = page(client, response["Location"]).content.decode()
    assert '<progress class="job-progress" max="5" value="2"' in running
    assert "2 rows of 5 written (40 %), about 6 s left." in " ".join(running.split())
    ExportJob.objects.update(status="queued", done=0, task_id=job.task_id)

    run_jobs()

    ready = page(client, response["Location"])
    assert b'http-equiv="refresh"' not in ready.content
    assert f'href="/exports/{job.pk}/download/"'.encode() in ready.content
    rows = sheet_rows(content(client.get(f"/exports/{job.pk}/download/")))
    assert len(rows) == 1 + len(follow_ups)
    assert ExportLog.objects.get().resource == "page: dashboard"


def test_a_small_page_export_is_still_answered_at_once(client, coordinator):
    factories.FollowUpFactory.create_batch(THRESHOLD, assignee=coordinator)
    client.force_login(coordinator)

    response = page(client, "/?export=xlsx")

    assert response.status_code == 200
    assert not ExportJob.objects.exists()


def test_the_progress_page_is_the_requesters_alone(client, coordinator, staff_user, follow_ups):
    client.force_login(coordinator)
    location = page(client, "/?scope=team&export=csv")["Location"]
    run_jobs()

    client.force_login(staff_user)
    assert page(client, location).status_code == 404
    assert page(client, f"{location}download/").status_code == 404

    client.logout()
    assert page(client, location)["Location"].startswith("/accounts/login/")
    assert page(client, f"{location}download/")["Location"].startswith("/accounts/login/")


def test_the_progress_page_runs_a_fixed_number_of_queries(
    client, coordinator, follow_ups, django_assert_max_num_queries
):
    client.force_login(coordinator)
    location = page(client, "/?scope=team&export=xlsx")["Location"]

    with django_assert_max_num_queries(8):
        assert page(client, location).status_code == 200


# The plan: what the request built, as the worker reads it.


# The lists that export (CrmViewSet's): mail has no file.
EXPORTING = [resource for resource in resources() if issubclass(resource.viewset, CrmViewSet)]


@pytest.mark.parametrize("resource", EXPORTING, ids=lambda resource: resource.prefix)
def test_every_api_list_written_by_a_job_is_the_file_the_request_would_have_sent(
    resource, coordinator_api, coordinator, settings
):
    one_of_each(coordinator)
    settings.CRM_EXPORT_JOB_THRESHOLD = 10**9
    immediate = content(coordinator_api.get(f"{resource.url}?format=csv"))
    settings.CRM_EXPORT_JOB_THRESHOLD = 0

    location = ask(coordinator_api, f"{resource.url}?format=csv")["Location"]
    run_jobs()

    assert content(coordinator_api.get(f"{location}download/")) == immediate
    assert immediate.count(b"\n") >= 2  # the header and at least one row


@pytest.mark.parametrize(
    "queryset, columns",
    [
        (
            lambda: page_exports.dashboard_follow_ups(FollowUp.objects.all(), today=TODAY),
            page_exports.follow_up_columns,
        ),
        (lambda: Organization.objects.all(), page_exports.organization_columns),
        (lambda: Person.objects.all(), page_exports.person_columns),
        (lambda: Project.objects.all(), lambda: page_exports.project_columns(today=TODAY)),
    ],
    ids=["dashboard", "organizations", "people", "projects"],
)
def test_every_page_export_reaches_the_worker_as_the_request_built_it(queryset, columns):
    export = Export.of(queryset(), columns())

    unpacked = jobs.unpack(jobs.pack(export))

    assert str(unpacked.queryset.query) == str(export.queryset.query)


def test_a_plan_not_signed_by_the_application_is_refused():
    export = Export.of(FollowUp.objects.all(), exporters.columns_for(FollowUp))
    plan = jobs.pack(export)
    forged = plan[:-1] + ("A" if plan[-1] != "A" else "B")

    with pytest.raises(signing.BadSignature):
        jobs.unpack(forged)


def test_the_schema_documents_the_202_of_a_long_export(coordinator_api):
    schema = coordinator_api.get("/api/v1/schema/?format=json").json()

    accepted = schema["paths"]["/api/v1/follow-ups/"]["get"]["responses"]["202"]
    job = schema["paths"]["/api/v1/jobs/{id}/"]["get"]["responses"]["200"]
    assert "/api/v1/jobs/<id>/" in accepted["description"]
    assert (
        accepted["content"]["application/json"]["schema"]
        == job["content"]["application/json"]["schema"]
    )
