"""Odd parameters are a 400 naming them, never a 500 (issue 9, item 4)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from crm.api.parameters import MAX_JSON_DEPTH, json_depth
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_language_after():
    # The English requests below leave English active in this thread; the
    # tests that follow expect the project's language.
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def client(coordinator) -> Client:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(coordinator)
    return client


@pytest.mark.parametrize(
    "query",
    [
        "page_size=²",
        "page=²",
        "assignee=²",
        "project=٣",
        "organization=1.5",
        "format=csv&page_size=²",
    ],
)
def test_integer_parameters_take_ascii_digits_only(client, query):
    response = client.get(f"/api/v1/follow-ups/?{query}")

    assert response.status_code == 400
    name = query.split("=")[0] if "format" not in query else "page_size"
    # The error comes in the format asked for (JSON, or a CSV of the errors).
    assert name in response.content.decode()


def test_ascii_ids_still_filter(client):
    follow_up = factories.FollowUpFactory()
    factories.FollowUpFactory()

    response = client.get(f"/api/v1/follow-ups/?project={follow_up.project_id}&page_size=10")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [follow_up.pk]


@pytest.mark.parametrize(
    "url",
    [
        "/search/?q=a%00b",
        "/interactions/new/?organization=a%00b",
        "/follow-ups/new/?project=x%00",
        "/api/v1/organizations/?q=a%00b",
        "/api/v1/follow-ups/?status=open%00",
        "/?scope%00=team",
    ],
)
def test_a_nul_byte_in_any_query_parameter_is_a_400(client, url):
    response = client.get(url)

    assert response.status_code == 400


def test_the_nul_byte_answer_of_the_api_names_the_parameter(client):
    response = client.get("/api/v1/organizations/?q=a%00b")

    assert response.json() == {"q": ["This parameter contains a NUL byte."]}


def test_deeply_nested_json_is_a_400(client):
    body = "[" * 5000 + "]" * 5000

    response = client.post("/api/v1/organizations/", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(json.dumps({"name": "[[[[{{{{" * 100, "tags": [["a"]]})) == 3
    assert json_depth('{"a": "\\"[[["}') == 1


def test_json_within_the_depth_limit_is_parsed(client):
    nested = {"name": "x"}
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = {"a": nested}

    response = client.post(
        "/api/v1/organizations/", json.dumps(nested), content_type="application/json"
    )

    # Past the parser: the serializer answers for the missing fields.
    assert response.status_code == 400
    assert "kind" in response.json()


@pytest.mark.parametrize("resource", ["follow-ups", "partnerships", "organizations"])
def test_an_unknown_list_parameter_is_a_400_naming_it(client, resource):
    response = client.get(f"/api/v1/{resource}/?bogus_filter=1&format=csv")

    assert response.status_code == 400
    assert "bogus_filter" in response.content.decode()
    listed = client.get(f"/api/v1/{resource}/?bogus_filter=1")
    assert list(listed.json()) == ["bogus_filter"]
    assert "Unknown parameter" in listed.json()["bogus_filter"][0]


def test_a_typo_in_a_filter_exports_nothing(client):
    factories.FollowUpFactory()

    response = client.get("/api/v1/follow-ups/?asignee=me&format=csv")

    assert response.status_code == 400
    assert "asignee" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "format=json",
        "page=1",
        "page_size=5",
        "ordering=-due_on",
        "status=open&status=waiting",
        "overdue=false&assignee=me",
        "updated_since=2026-01-01T00:00:00Z",
    ],
)
def test_known_list_parameters_are_accepted(client, query):
    assert client.get(f"/api/v1/follow-ups/?{query}").status_code == 200


def test_a_cursor_is_a_known_parameter(client):
    factories.FollowUpFactory.create_batch(3)
    first = client.get("/api/v1/follow-ups/?updated_since=2000-01-01T00:00:00Z&page_size=1")

    response = client.get(first.json()["next"])

    assert response.status_code == 200


def test_an_action_asked_with_a_format_suffix_is_no_server_error(coordinator_api):
    # The router gives every action a ".json" twin; each must accept it.
    follow_up = factories.FollowUpFactory()

    done = coordinator_api.post(
        f"/api/v1/follow-ups/{follow_up.pk}/complete.json", {"note": "Sent."}, format="json"
    )
    totals = coordinator_api.get("/api/v1/commitments/totals.json")

    assert (done.status_code, totals.status_code) == (200, 200)


def test_a_moment_with_an_offset_postgresql_refuses_is_read_in_utc(client):
    # Valid ISO 8601 for Python (offsets up to ±23:59), beyond PostgreSQL's ±15:59:
    # sent as written, it was a 500 on PostgreSQL.
    factories.FollowUpFactory()
    factories.StageChangeFactory()

    for url in (
        "/api/v1/follow-ups/?updated_since=2000-01-01T05:26:04-20:13",
        "/api/v1/follow-ups/?updated_since=4540-11-20T05:26:04-20:13&format=csv",
        "/api/v1/stage-changes/?changed_since=2000-01-01T05:26:04%2B20:13",
    ):
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)


def test_an_unterminated_string_is_scanned_once_not_once_per_quote():
    """2.5 MB of ``\\"`` (the largest body accepted) is measured in one pass.

    Rescanning from every quote made 80 KB take 37 s and 2.5 MB take hours; the
    check runs in a child process under a CPU limit far above a linear scan's
    cost (milliseconds), so the quadratic scan fails here instead of hanging.
    """
    script = (
        "import resource, re, sys\n"
        "resource.setrlimit(resource.RLIMIT_CPU, (10, 10))\n"
        "from crm.api.parameters import json_depth\n"
        "body = '\\\\\"' * (1250 * 1024)\n"
        "print(json_depth('[' + body), json_depth(body + '[[]'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings"},
        check=False,
    )

    assert done.returncode == 0, done.stderr[-500:]
    # The opening bracket counts; the ones inside the unterminated string don't.
    assert done.stdout.split() == ["1", "0"]


def test_json_depth_stops_counting_past_its_limit():
    assert json_depth("[" * 10_000, limit=MAX_JSON_DEPTH) == MAX_JSON_DEPTH + 1
