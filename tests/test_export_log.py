"""Every export and calendar fetch is recorded (issue 9, item 6)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from crm.calendar import calendar_url_for
from crm.models import ApiToken, ExportLog
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_csv_export_is_recorded_with_its_filters_and_row_count(api_client, staff_user):
    project = factories.ProjectFactory()
    factories.FollowUpFactory.create_batch(3, project=project)
    factories.FollowUpFactory()
    token, key = ApiToken.create_for(staff_user, name="BI")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api_client.get(f"/api/v1/follow-ups/?format=csv&project={project.pk}")
    b"".join(response.streaming_content)

    log = ExportLog.objects.get()
    assert (log.user, log.username, log.token, log.token_prefix) == (
        staff_user,
        "staffer",
        token,
        token.prefix,
    )
    assert (log.kind, log.resource, log.row_count) == ("csv", "follow-ups", 3)
    assert log.filters == {"format": ["csv"], "project": [str(project.pk)]}
    assert log.address == "127.0.0.1"


def test_an_xlsx_export_through_the_session_is_recorded_without_token(coordinator):
    factories.OrganizationFactory.create_batch(2)
    client = Client()
    client.force_login(coordinator)

    response = client.get("/api/v1/organizations/?format=xlsx&kind=company")

    assert response.status_code == 200
    log = ExportLog.objects.get()
    assert (log.user, log.token, log.kind, log.resource, log.row_count) == (
        coordinator,
        None,
        "xlsx",
        "organisations",
        2,
    )
    assert log.filters == {"format": ["xlsx"], "kind": ["company"]}


def test_json_pages_are_not_exports(coordinator_api):
    factories.OrganizationFactory()

    assert coordinator_api.get("/api/v1/organizations/").status_code == 200
    assert not ExportLog.objects.exists()


def test_an_export_adds_a_count_and_a_log_row(coordinator_api, django_assert_num_queries):
    factories.OrganizationFactory.create_batch(3)
    # The user's permissions (2), the COUNT and the log's INSERT, then the rows;
    # and first a COUNT that stops at CRM_EXPORT_JOB_THRESHOLD (a job or not?).
    with django_assert_num_queries(6):
        response = coordinator_api.get("/api/v1/organizations/?format=xlsx")
    assert response.status_code == 200


def test_a_calendar_fetch_is_recorded(rf, staff_user):
    factories.FollowUpFactory.create_batch(2, assignee=staff_user)
    url = calendar_url_for(staff_user, rf.get("/"))

    response = Client().get(url)

    assert response.status_code == 200
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.resource, log.row_count) == (
        staff_user,
        "calendar",
        "calendar",
        2,
    )


def test_an_unknown_calendar_address_records_nothing():
    assert Client().get("/calendar/nope.ics").status_code == 404
    assert not ExportLog.objects.exists()


# The admin.


def make_log(**fields) -> ExportLog:
    user = fields.pop("user", None) or factories.UserFactory()
    values = {
        "user": user,
        "username": user.username,
        "kind": "csv",
        "resource": "follow-ups",
        "row_count": 1,
        **fields,
    }
    return ExportLog.objects.create(**values)


def test_coordination_reads_and_filters_the_log(coordinator):
    csv = make_log(kind="csv")
    calendar = make_log(kind="calendar", resource="calendar")
    client = Client()
    client.force_login(coordinator)

    response = client.get("/admin/crm/exportlog/", {"kind__exact": "calendar"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [calendar]
    assert csv not in response.context["cl"].result_list


def test_coordination_cannot_edit_or_delete_the_log(coordinator):
    log = make_log()
    client = Client()
    client.force_login(coordinator)

    assert client.get("/admin/crm/exportlog/add/").status_code == 403
    assert (
        client.post(f"/admin/crm/exportlog/{log.pk}/change/", {"row_count": 0}).status_code == 403
    )
    assert client.get(f"/admin/crm/exportlog/{log.pk}/delete/").status_code == 403
    log.refresh_from_db()
    assert log.row_count == 1


@pytest.mark.parametrize("actor", ["staff_user", "reader"])
def test_only_coordination_sees_the_log(request, actor):
    make_log()
    client = Client()
    client.force_login(request.getfixturevalue(actor))

    assert client.get("/admin/crm/exportlog/").status_code == 403


def test_the_changelist_runs_a_fixed_number_of_queries(coordinator, django_assert_num_queries):
    for _ in range(5):
        make_log(token=ApiToken.create_for(factories.UserFactory(), name="x")[0])
    client = Client()
    client.force_login(coordinator)
    client.get("/admin/crm/exportlog/")  # warm the session and permission caches

    # Session, user, permissions (2), counts (2), the page of rows with users and
    # tokens joined, the date hierarchy's first and last dates (one) and the
    # filters (1): none per row. PostgreSQL first asks the planner's estimate
    # of the table's size (crm.admin.changelist), one more.
    estimate = 1 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(9 + estimate):
        response = client.get("/admin/crm/exportlog/")
    assert len(response.context["cl"].result_list) == 5


# Retention.


def test_purge_deletes_entries_older_than_the_retention(settings):
    settings.CRM_EXPORT_LOG_RETENTION_DAYS = 30
    old = make_log(created_at=timezone.now() - timedelta(days=31))
    recent = make_log(created_at=timezone.now() - timedelta(days=29))
    out = StringIO()

    call_command("purge_export_log", stdout=out)

    assert list(ExportLog.objects.all()) == [recent]
    assert not ExportLog.objects.filter(pk=old.pk).exists()
    assert "deleted 1 entries older than 30 days" in out.getvalue()


def test_purge_dry_run_deletes_nothing():
    make_log(created_at=timezone.now() - timedelta(days=400))

    call_command("purge_export_log", "--dry-run", "--days", "10", stdout=StringIO())

    assert ExportLog.objects.count() == 1


def test_a_csv_download_cut_short_is_recorded_without_a_row_count(api_client, staff_user):
    factories.FollowUpFactory.create_batch(2)
    api_client.force_authenticate(staff_user)

    api_client.get("/api/v1/follow-ups/?format=csv")  # The body is never read.

    log = ExportLog.objects.get()
    assert (log.resource, log.row_count) == ("follow-ups", None)


# JSON pages: a page larger than the default takes a list wholesale, as an
# export does (issue 17), and is recorded like one.


def test_a_json_page_larger_than_the_default_is_recorded(api_client, staff_user):
    factories.OrganizationFactory.create_batch(3)
    token, key = ApiToken.create_for(staff_user, name="BI")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api_client.get("/api/v1/organizations/?page_size=500&kind=company")

    assert response.status_code == 200
    log = ExportLog.objects.get()
    assert (log.user, log.token, log.kind, log.resource, log.row_count) == (
        staff_user,
        token,
        "json",
        "organisations",
        len(response.json()["results"]),
    )
    assert log.filters == {"page_size": ["500"], "kind": ["company"]}
    assert log.address == "127.0.0.1"


def test_a_sync_page_larger_than_the_default_is_recorded(coordinator_api):
    factories.FollowUpFactory.create_batch(2)

    response = coordinator_api.get(
        "/api/v1/follow-ups/?updated_since=2000-01-01T00:00:00Z&page_size=51"
    )

    assert response.status_code == 200
    log = ExportLog.objects.get()
    assert (log.kind, log.resource, log.row_count) == ("json", "follow-ups", 2)


@pytest.mark.parametrize("query", ["", "?page_size=50", "?page_size=10", "?page=1"])
def test_a_json_page_no_larger_than_the_default_is_not_recorded(coordinator_api, query):
    factories.OrganizationFactory()

    assert coordinator_api.get(f"/api/v1/organizations/{query}").status_code == 200
    assert not ExportLog.objects.exists()


# Outside any transaction, as a request: the two INSERTs are one transaction of their own.
@pytest.mark.django_db(transaction=True)
def test_an_export_of_people_leaves_both_traces_or_neither(rf, monkeypatch):
    from django.db import DatabaseError

    from crm.audit import record_export
    from crm.models import PersonRead

    def refused(**fields):
        raise DatabaseError("the log table refused the row")

    monkeypatch.setattr(ExportLog.objects, "create", refused)
    request = rf.get("/api/v1/people/?format=csv")

    with pytest.raises(DatabaseError):
        record_export(
            request, user=factories.UserFactory(), kind="csv", resource="people", filters={}
        )

    assert not PersonRead.objects.exists()
