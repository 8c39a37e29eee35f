"""API lists count at most COUNT_CAP rows: exact below it, capped (and said so) above."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crm.api import pagination
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def language_restored():
    """Leave the default language active after each request, whatever it negotiated."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(pagination.CappedPaginator, "cap", 5)


def test_count_is_exact_up_to_the_cap(coordinator_api, small_cap):
    factories.OrganizationFactory.create_batch(5)

    body = coordinator_api.get("/api/v1/organizations/?page_size=2").json()

    assert body["count"] == 5
    assert body["count_exact"] is True


def test_count_above_the_cap_is_the_cap_and_says_it_is_not_exact(coordinator_api, small_cap):
    factories.OrganizationFactory.create_batch(8)

    body = coordinator_api.get("/api/v1/organizations/?page_size=2").json()

    assert body["count"] == 5
    assert body["count_exact"] is False
    assert body["next"].endswith("page=2&page_size=2") or "page=2" in body["next"]


def test_pages_beyond_the_cap_are_still_reachable_and_end(coordinator_api, small_cap):
    organizations = factories.OrganizationFactory.create_batch(8)
    names = sorted(organization.name for organization in organizations)

    fourth = coordinator_api.get("/api/v1/organizations/?page_size=2&page=4").json()
    fifth = coordinator_api.get("/api/v1/organizations/?page_size=2&page=5")

    assert [row["name"] for row in fourth["results"]] == names[6:8]
    assert fourth["next"] is None
    assert fourth["previous"] is not None
    assert fifth.status_code == 404


def test_the_count_reads_at_most_the_cap_plus_one_rows(coordinator_api, small_cap):
    factories.OrganizationFactory.create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        coordinator_api.get("/api/v1/organizations/")

    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert len(counts) == 1
    assert "LIMIT 6" in counts[0]


def test_cursor_pages_carry_no_count(coordinator_api):
    factories.OrganizationFactory()

    body = coordinator_api.get("/api/v1/organizations/?updated_since=2000-01-01T00:00:00Z").json()

    assert "count" not in body
    assert "count_exact" not in body
