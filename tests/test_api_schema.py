"""The OpenAPI schema, and property-based tests of every operation against it.

Schemathesis generates requests from the schema, valid and malformed, and calls
the WSGI application in process (inside the test's database transaction) as a
Coordination user with a token: no answer may be a server error, every answer
must match the schema, and malformed input must get a 4xx.
"""

import re

import pytest
import schemathesis
from django.core import signals
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from crm import services
from crm.models import ApiToken
from tests import factories

MAX_EXAMPLES = 12


def test_the_schema_is_valid_and_complete(coordinator_api):
    response = coordinator_api.get("/api/v1/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for resource in [
        "organizations",
        "people",
        "affiliations",
        "projects",
        "missions",
        "interactions",
        "partnerships",
        "follow-ups",
        "stage-changes",
        "commitments",
        "commitment-status-changes",
        "agreements",
        "agreement-status-changes",
        "documents",
        "exchange-rates",
    ]:
        listing = paths[f"/api/v1/{resource}/"]["get"]
        names = {parameter["name"] for parameter in listing["parameters"]}
        assert {"format", "page", "page_size", "ordering"} <= names, resource
    follow_ups = {p["name"] for p in paths["/api/v1/follow-ups/"]["get"]["parameters"]}
    assert {
        "status",
        "project",
        "organization",
        "assignee",
        "due_before",
        "due_after",
        "overdue",
        "updated_since",
        "cursor",
    } <= follow_ups
    assert "/api/v1/follow-ups/{id}/complete/" in paths
    assert "/api/v1/partnerships/{id}/change-stage/" in paths
    for action in ["confirm", "deliver", "withdraw", "lapse"]:
        assert "post" in paths[f"/api/v1/commitments/{{id}}/{action}/"], action
    assert "get" in paths["/api/v1/commitments/totals/"]
    for action in ["submit", "reopen", "sign", "bring-into-force", "expire", "terminate"]:
        assert "post" in paths[f"/api/v1/agreements/{{id}}/{action}/"], action
    upload = paths["/api/v1/documents/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "413" in upload["responses"]
    download = paths["/api/v1/documents/{id}/download/"]["get"]
    assert "application/octet-stream" in download["responses"]["200"]["content"]


def test_spectacular_validates_the_schema_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_docs_page_is_served_from_our_static_files(client, coordinator):
    client.force_login(coordinator)

    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in response.text
    # No script or style from elsewhere (a random CSRF token may well hold "cdn").
    assert not re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", response.text)
    css = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert css.status_code == 200
    assert client.get("/api/v1/redoc/").status_code == 200


@pytest.fixture
def keep_connection():
    """Keep the test's database connection across in-process WSGI requests.

    A WSGI handler closes "old" connections around each request, and one inside
    the test's transaction counts as old; Django's test client disconnects
    these handlers the same way.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, coordinator, settings, keep_connection):
    """The schema as the application serves it, to a Coordination user."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # Schemathesis calls "localhost".
    call_command("loaddata", "compact_togo_2023", verbosity=0)
    factories.FollowUpFactory.create_batch(3)
    factories.StageChangeFactory()
    # Commitments, agreements and documents for the new operations to find.
    factories.ExchangeRateFactory()
    factories.CommitmentFactory(source=factories.SourceFactory())
    factories.AgreementFactory().parties.create(organization=factories.OrganizationFactory())
    services.document_create(
        by=None,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="a.pdf"),
        title="A",
        organization=factories.OrganizationFactory(),
    )
    _token, key = ApiToken.create_for(coordinator, name="schemathesis")
    headers = {"Authorization": f"Token {key}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json", get_wsgi_application(), headers=headers
    )
    schema.config.update(headers=headers)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
    )
    return schema


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    negative_data_rejection,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_to_the_schema(api_schema, mode):
    # Schemathesis' own pytest loader (from_fixture) does not run on pytest 9,
    # so each operation's strategy is driven by Hypothesis here.
    failures = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case):
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # A group of schemathesis failures.
            failures.append(f"{operation.label}: {str(error)[:1500]}")

    assert operations >= 40
    assert not failures, "\n\n".join(failures)
