"""Imports of any size from the staff pages (issue 23, point 3): upload, check, confirm, result.

The steps run as jobs; here the test plays the worker, calling the task's body
(``crm.importing.jobs.run``) with the task the job names, as ``run_jobs`` would.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import jobs
from crm.importing import jobs as import_jobs
from crm.models import ImportJob, Organization, Person, StaffProfile
from crm.storage import document_storage
from tests import factories

pytestmark = pytest.mark.django_db

ORGANISATIONS = (
    "slug,name,kind,country\n"
    "visa,Visa,company,US\n"
    "stanford,Stanford University,university,US\n"
    "port-of-la,Port of Los Angeles,port_authority,US\n"
)
PEOPLE = "slug,given_name,family_name,email\nada-l,Ada,Lovelace,ada@example.org\n"


@pytest.fixture
def coordinator(coordinator):
    """Coordination, reading its pages and e-mails in English (the problems found too)."""
    StaffProfile.for_user(coordinator)
    StaffProfile.objects.filter(user=coordinator).update(language="en")
    return coordinator


@pytest.fixture
def client_en(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def upload(client, content: str = ORGANISATIONS, *, kind="organizations", name="orgs.csv"):
    return client.post(
        reverse("import-new"),
        {"kind": kind, "file": SimpleUploadedFile(name, content.encode(), "text/csv")},
    )


def work(job: ImportJob) -> ImportJob:
    """Run the job's queued step as the worker would; return it as it then is."""
    job.refresh_from_db()
    import_jobs.run(job.pk, task_id=job.task_id)
    job.refresh_from_db()
    return job


def checked(client, content: str = ORGANISATIONS, **kwargs) -> ImportJob:
    response = upload(client, content, **kwargs)
    assert response.status_code == 302, response.content
    return work(ImportJob.objects.get())


# The way through: upload, check, confirm, import.


def test_an_upload_is_kept_and_checked_by_a_job_the_page_follows(client_en, coordinator):
    client_en.force_login(coordinator)

    response = upload(client_en)

    job = ImportJob.objects.get()
    assert response["Location"] == reverse("import-job", args=[job.pk])
    assert (job.step, job.status, job.kind, job.file_name) == (
        "check",
        "queued",
        "organizations",
        "orgs.csv",
    )
    assert document_storage.open(job.upload).read().decode() == ORGANISATIONS
    page = client_en.get(response["Location"])
    assert "Waiting for a worker" in page.text
    assert '<meta http-equiv="refresh"' in page.text


def test_the_check_previews_the_file_and_saves_nothing(client_en, coordinator):
    client_en.force_login(coordinator)
    factories.OrganizationFactory(slug="visa", name="Visa", kind="company", country="US")

    job = checked(client_en)

    assert (job.step, job.status, job.total, job.done) == ("check", "done", 3, 3)
    assert (job.result["created"], job.result["updated"], job.result["unchanged"]) == (2, 0, 1)
    assert job.result["error_count"] == 0
    assert Organization.objects.count() == 1
    page = client_en.get(reverse("import-job", args=[job.pk]))
    assert "Checked: 3 rows, without a problem" in page.text
    assert "create 2 records, update 0 and leave 1 unchanged" in page.text
    assert "Import the file" in page.text
    assert "stanford" in page.text  # The first rows.
    assert '<meta http-equiv="refresh"' not in page.text


def test_confirming_imports_the_file_and_lists_what_was_created(
    client_en, coordinator, django_capture_on_commit_callbacks
):
    client_en.force_login(coordinator)
    factories.OrganizationFactory(slug="visa", name="Visa", kind="company", country="US")
    job = checked(client_en)
    upload_name = job.upload

    response = client_en.post(reverse("import-job-confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.step, job.status) == ("import", "queued")
    with django_capture_on_commit_callbacks(execute=True):
        job = work(job)

    assert (job.step, job.status) == ("import", "done")
    assert set(Organization.objects.values_list("slug", flat=True)) == {
        "visa",
        "stanford",
        "port-of-la",
    }
    page = client_en.get(reverse("import-job", args=[job.pk]))
    assert "Imported: 3 rows; 2 records created, 0 updated, 1 unchanged" in page.text
    stanford = Organization.objects.get(slug="stanford")
    assert f'href="{stanford.get_absolute_url()}">Stanford University</a>' in page.text
    # The upload, which may name people, is gone once imported; the report stays.
    assert not job.upload and not document_storage.exists(upload_name)
    report = client_en.get(reverse("import-job-report", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["Row", "Outcome", "Key"],
        ["2", "unchanged", "visa"],
        ["3", "created", "stanford"],
        ["4", "created", "port-of-la"],
    ]


def test_a_file_with_a_wrong_row_names_it_and_cannot_be_imported(client_en, coordinator):
    client_en.force_login(coordinator)

    job = checked(client_en, ORGANISATIONS + "bad,Bad,no_such_kind,US\n")

    assert job.result["error_count"] == 1
    assert not job.upload  # Nothing left to import: the file is deleted.
    page = client_en.get(reverse("import-job", args=[job.pk]))
    assert "The file has 1 problem: nothing can be imported" in page.text
    assert "Row 5" in page.text and "no_such_kind" in page.text
    assert "Import the file" not in page.text
    client_en.post(reverse("import-job-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert (job.step, job.status) == ("check", "done")
    assert not Organization.objects.exists()


def test_a_problem_arising_after_the_check_imports_nothing(client_en, coordinator):
    client_en.force_login(coordinator)
    job = checked(client_en, PEOPLE + "grace-h,Grace,Hopper,grace@example.org\n", kind="people")
    # Meanwhile someone else records Ada's address on another person.
    factories.PersonFactory(slug="someone-else", email="ada@example.org")

    client_en.post(reverse("import-job-confirm", args=[job.pk]))
    job = work(job)

    assert (job.step, job.status, job.result["error_count"]) == ("import", "done", 1)
    assert not Person.objects.filter(slug__in=["ada-l", "grace-h"]).exists()
    page = client_en.get(reverse("import-job", args=[job.pk]))
    assert "Nothing was imported: 1 problem appeared since the check" in page.text


def test_a_file_is_imported_once_however_often_it_is_confirmed(client_en, coordinator):
    client_en.force_login(coordinator)
    job = checked(client_en)

    assert import_jobs.confirm(coordinator, job.pk)
    first_task = ImportJob.objects.get().task_id
    assert not import_jobs.confirm(coordinator, job.pk)

    assert ImportJob.objects.get().task_id == first_task


def test_the_requester_is_told_when_the_file_is_checked_and_when_it_is_imported(
    client_en, coordinator
):
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    client_en.force_login(coordinator)
    mail.outbox.clear()

    job = checked(client_en)
    import_jobs.confirm(coordinator, job.pk)
    work(job)

    assert len(mail.outbox) == 2
    assert "Your file “orgs.csv” is checked" in mail.outbox[0].subject
    assert "is imported: 3 records created" in mail.outbox[1].body
    assert str(job.pk) in mail.outbox[1].body


# Files the job cannot read: failed, with the reason, and the requester told.


def test_a_file_of_the_other_kind_fails_with_its_reason(client_en, coordinator):
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    client_en.force_login(coordinator)

    job = checked(client_en, PEOPLE, kind="organizations")

    assert job.status == "failed"
    assert "holds people, not organisations" in job.error
    assert len(mail.outbox) == 1
    page = client_en.get(reverse("import-job", args=[job.pk]))
    assert "nothing was imported" in page.text


def test_an_unreadable_spreadsheet_fails_without_a_retry(client_en, coordinator):
    client_en.force_login(coordinator)

    response = client_en.post(
        reverse("import-new"),
        {"kind": "organizations", "file": SimpleUploadedFile("orgs.xlsx", b"not a zip")},
    )
    job = work(ImportJob.objects.get())

    assert response.status_code == 302
    assert job.status == "failed" and job.attempts == 1
    assert jobs.reap_stalled(now=timezone.now() + timedelta(hours=1)) == (0, 0)


# The form.


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "organizations"}, "file"),
        ({"kind": "nonsense", "file": SimpleUploadedFile("a.csv", b"x")}, "kind"),
        ({"kind": "organizations", "file": SimpleUploadedFile("a.pdf", b"x")}, "file"),
    ],
)
def test_a_bad_upload_is_refused_with_a_field_error(client_en, coordinator, data, field):
    client_en.force_login(coordinator)

    response = client_en.post(reverse("import-new"), data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_refused_as_it_arrives(client_en, coordinator, settings):
    settings.CRM_IMPORT_MAX_BYTES = 1000
    client_en.force_login(coordinator)

    response = upload(client_en, ORGANISATIONS + "x" * 2000)

    assert response.status_code == 413
    assert "split it" in response.text
    assert not ImportJob.objects.exists()


# Who may.


def test_a_reader_may_not_import(client, reader):
    client.force_login(reader)

    assert client.get(reverse("import-new")).status_code == 403


def test_someone_who_may_change_people_only_imports_people_only(client):
    from django.contrib.auth.models import Permission

    user = factories.UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="crm", codename__in=["add_person", "change_person"]
        )
    )
    client.force_login(user)

    form = client.get(reverse("import-new")).context["form"]
    refused = upload(client, kind="organizations")

    assert [value for value, _label in form.fields["kind"].choices] == ["people"]
    assert refused.status_code == 400 and "kind" in refused.context["form"].errors
    assert not ImportJob.objects.exists()


def test_someone_elses_import_is_not_found_and_coordination_reads_but_cannot_confirm(
    client, staff_user, coordinator
):
    client.force_login(coordinator)
    job = checked(client)
    other = factories.UserFactory()
    other.groups.set(staff_user.groups.all())

    client.force_login(other)
    assert client.get(reverse("import-job", args=[job.pk])).status_code == 404
    assert client.post(reverse("import-job-confirm", args=[job.pk])).status_code == 404
    assert client.get(reverse("import-job-report", args=[job.pk])).status_code == 404

    job.requested_by = staff_user
    job.save()
    client.force_login(coordinator)
    page = client.get(reverse("import-job", args=[job.pk]))
    assert page.status_code == 200 and not page.context["can_confirm"]
    client.post(reverse("import-job-confirm", args=[job.pk]))
    assert ImportJob.objects.get().step == "check"


def test_a_requester_who_may_no_longer_import_no_longer_reads_the_job(client, staff_user):
    client.force_login(staff_user)
    job = checked(client)
    staff_user.groups.clear()
    staff_user.user_permissions.clear()
    client.force_login(type(staff_user).objects.get(pk=staff_user.pk))

    for name in ("import-job", "import-job-report"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert client.post(reverse("import-job-confirm", args=[job.pk])).status_code == 404


# Bounded: the page reads what it shows, whatever the file.


def _pages_queries(client, job) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("import-job", args=[job.pk])).status_code == 200
    return len(queries)


def test_the_result_page_runs_a_fixed_number_of_queries_whatever_the_file(client, coordinator):
    client.force_login(coordinator)
    counts = []
    for rows in (3, 300):
        ImportJob.objects.all().delete()
        content = "slug,name,kind\n" + "".join(
            f"o-{rows}-{n},Org {n},company\n" for n in range(rows)
        )
        job = checked(client, content)
        import_jobs.confirm(coordinator, job.pk)
        job = work(job)
        assert job.result["created"] == rows
        counts.append(_pages_queries(client, job))

    assert counts[0] == counts[1]
    assert len(ImportJob.objects.get().result["created_keys"]) == import_jobs.CREATED_LISTED


# Lifecycle, shared with exports (crm/jobs.py).


def test_an_import_whose_worker_died_is_run_again_then_failed(client, coordinator):
    client.force_login(coordinator)
    upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    assert jobs.reap_stalled() == (1, 0)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("queued", 1)
    job = work(job)
    assert (job.status, job.attempts) == ("done", 2)


def test_old_imports_are_purged_with_their_files(client, coordinator):
    client.force_login(coordinator)
    job = checked(client)
    name = job.upload
    later = timezone.now() + timedelta(days=settings.CRM_EXPORT_FILE_RETENTION_DAYS, seconds=1)

    assert jobs.purge(now=later) == 1

    assert not ImportJob.objects.exists()
    assert not document_storage.exists(name)


def test_an_erasure_deletes_the_imports_not_running_and_their_files(
    client, coordinator, django_capture_on_commit_callbacks
):
    from crm import services

    client.force_login(coordinator)
    job = checked(client, PEOPLE, kind="people")
    name = job.upload
    person = factories.PersonFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(person=person, by=coordinator, reason="Asked by the person")

    assert not ImportJob.objects.exists()
    assert not document_storage.exists(name)
