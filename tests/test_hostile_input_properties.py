"""Whatever a client puts in any writable field of the API, the answer is never a 500 (issue 17).

Property-based (Hypothesis): every field of every body the API reads (creations,
updates, each action's payload: ``write_endpoints()``, from the serializers the
schema names) receives the named hostile values of ``tests/hostile_values.py``
(lone surrogates, NUL, other scripts' digits, strings past ``max_length`` and of
1 MB, JSON nested within and past the depth limit, wrong types), then values
drawn at random. The rest of the body is valid, so that a value the field
accepts goes on to the service and the database.

Bounded for CI: derandomized, a fixed number of examples per field.
"""

import json

import pytest
from hypothesis import HealthCheck, example, given, settings

from tests.api_resources import one_of_each, valid_payload, writable_fields, write_endpoints
from tests.hostile_values import NAMED, hostile_values, value_for

pytestmark = pytest.mark.django_db

# Random examples per field, after the named ones.
RANDOM_EXAMPLES = 5

CASES = [
    (endpoint, field)
    for endpoint in write_endpoints()
    for field in writable_fields(endpoint.serializer_class)
]


def with_named_examples(test):
    for value in reversed(NAMED):
        test = example(value=value)(test)
    return test


@pytest.fixture
def records(coordinator):
    return one_of_each(coordinator)


def test_every_resource_and_action_is_covered():
    paths = {endpoint.path for endpoint, _field in CASES}

    assert "/api/v1/documents/{pk}/" in paths
    assert "/api/v1/commitments/{pk}/deliver/" in paths
    assert "/api/v1/partnerships/{pk}/change-stage/" in paths
    assert len(CASES) > 200


@pytest.mark.parametrize(
    ("endpoint", "field"), CASES, ids=[f"{endpoint} {field}" for endpoint, field in CASES]
)
@settings(
    max_examples=RANDOM_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(value=hostile_values())
@with_named_examples
def test_no_value_in_any_writable_field_is_a_server_error(
    coordinator_api, records, endpoint, field, value
):
    serializer_field = writable_fields(endpoint.serializer_class)[field]
    body = {**valid_payload(endpoint), field: value_for(value, serializer_field)}

    response = coordinator_api.generic(
        endpoint.method,
        endpoint.url(records),
        json.dumps(body),
        content_type="application/json",
    )

    assert 200 <= response.status_code < 500, response.content[:500]
    # Whatever is echoed can be encoded: no lone surrogate comes back.
    response.content.decode("utf-8")
