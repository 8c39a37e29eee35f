"""The lean path of the JSON lists (crm/api/rows.py): the same rows as the records say, cheaper."""

from datetime import date
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import services
from crm.api import rows
from crm.api.follow_ups import FollowUpFilter
from crm.api.urls import router
from crm.models import FollowUp
from tests import factories
from tests.test_api import LIST_MAKERS
from tests.test_api_commitments import _grow

pytestmark = pytest.mark.django_db

# The lists that take the lean path. A serializer change that sends one back to
# the usual path (a property of the record, a method field without row_<name>)
# fails here: add what its rows need, or take it off this list knowingly.
LEAN = {
    "organizations",
    "projects",
    "missions",
    "partnerships",
    "follow-ups",
    "commitment-status-changes",
    "agreement-status-changes",
    "exchange-rates",
}


def _plan(prefix: str):
    viewset = next(viewset for p, viewset, _basename in router.registry if p == prefix)
    view = viewset(request=None, format_kwarg=None, action="list", kwargs={})
    queryset = view.get_queryset()
    return rows.plan_for(view.get_serializer_class(), frozenset(queryset.query.annotations))


def test_the_lists_that_take_the_lean_path():
    assert {prefix for prefix, _viewset, _basename in router.registry if _plan(prefix)} == LEAN


def _varied_follow_ups(coordinator, today):
    """Follow-ups in each state, with and without the optional records they name."""
    assignee = factories.UserFactory(first_name="Ama", last_name="Mensah")
    factories.FollowUpFactory(
        organization=factories.OrganizationFactory(),
        person=factories.PersonFactory(),
        assignee=assignee,
        priority=FollowUp.Priority.HIGH,
        due_on=date(2020, 1, 1),  # overdue
        created_by=coordinator,
    )
    factories.FollowUpFactory(assignee=factories.UserFactory(first_name="", last_name=""))
    done = factories.FollowUpFactory(due_on=date(2020, 1, 2))
    services.follow_up_complete(follow_up=done, note="Called back.", by=coordinator)
    waiting = factories.FollowUpFactory(due_on=date(2099, 1, 1))
    services.follow_up_mark_waiting(follow_up=waiting, by=coordinator)


def _make(resource, coordinator, today) -> None:
    if resource == "follow-ups":
        _varied_follow_ups(coordinator, today)
    elif resource in LIST_MAKERS:
        for _ in range(3):
            LIST_MAKERS[resource]()
    else:
        _grow(3)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("resource", sorted(LEAN))
def test_a_lean_list_shows_each_row_as_its_record_does(
    coordinator_api, coordinator, pages_today, resource, language
):
    _make(resource, coordinator, pages_today)

    listed = coordinator_api.get(
        f"/api/v1/{resource}/?page_size=500", HTTP_ACCEPT_LANGUAGE=language
    )

    assert listed.status_code == 200, listed.content
    results = listed.json()["results"]
    assert len(results) >= 3
    for row in results:
        record = coordinator_api.get(
            f"/api/v1/{resource}/{row['id']}/", HTTP_ACCEPT_LANGUAGE=language
        )
        assert record.status_code == 200
        assert row == record.json()


def test_a_follow_up_page_reads_its_rows_without_joining_what_it_names(
    coordinator_api, coordinator, pages_today
):
    _varied_follow_ups(coordinator, pages_today)

    with CaptureQueriesContext(connection) as queries:
        response = coordinator_api.get("/api/v1/follow-ups/")

    assert response.status_code == 200
    page = [
        query["sql"]
        for query in queries
        if 'FROM "crm_followup"' in query["sql"] and "COUNT(" not in query["sql"]
    ]
    assert len(page) == 1
    assert "JOIN" not in page[0]
    # Only the columns the list shows (or needs to compute what it shows).
    assert '"crm_followup"."waiting_since"' not in page[0]


def test_a_follow_up_list_names_each_related_record_once_per_page(
    coordinator_api, coordinator, pages_today
):
    project = factories.ProjectFactory(name="Energy")
    assignee = factories.UserFactory(first_name="Ama", last_name="Mensah")
    for _ in range(3):
        factories.FollowUpFactory(project=project, assignee=assignee)

    with CaptureQueriesContext(connection) as queries:
        response = coordinator_api.get("/api/v1/follow-ups/")

    rows_ = response.json()["results"]
    assert {(row["project_name"], row["assignee_name"]) for row in rows_} == {
        ("Energy", "Ama Mensah")
    }
    assert sum('FROM "crm_project"' in query["sql"] for query in queries) == 1


def test_sync_pages_keep_the_usual_path(coordinator_api, coordinator, pages_today):
    _varied_follow_ups(coordinator, pages_today)

    response = coordinator_api.get("/api/v1/follow-ups/?updated_since=2000-01-01T00:00:00Z")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 4


def test_moments_are_written_as_the_field_writes_them_in_another_time_zone(
    coordinator_api, coordinator, pages_today, settings
):
    settings.TIME_ZONE = "Europe/Paris"  # +01:00 or +02:00: no "Z"
    _varied_follow_ups(coordinator, pages_today)

    results = coordinator_api.get("/api/v1/follow-ups/").json()["results"]

    assert results[0]["created_at"].endswith(("+01:00", "+02:00"))
    for row in results:
        assert row == coordinator_api.get(f"/api/v1/follow-ups/{row['id']}/").json()


def test_a_list_without_filter_parameters_builds_no_filterset(
    coordinator_api, coordinator, pages_today
):
    _varied_follow_ups(coordinator, pages_today)

    with mock.patch.object(FollowUpFilter, "__init__", side_effect=AssertionError):
        response = coordinator_api.get("/api/v1/follow-ups/?page_size=2&ordering=-due_on")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_a_filter_parameter_still_filters(coordinator_api, coordinator, pages_today):
    _varied_follow_ups(coordinator, pages_today)

    response = coordinator_api.get("/api/v1/follow-ups/?status=done")

    assert [row["status"] for row in response.json()["results"]] == ["done"]
