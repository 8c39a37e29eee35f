"""Hostile input to the API is a 4xx that says what is wrong, never a 500 (issue 17).

Each test reproduces one finding of the issue's "26 kinds of 500" (or of its
point 2): before the change it answered 500, or silently did something else
than asked.
"""

import importlib
import json
import pkgutil

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from rest_framework import serializers
from rest_framework.fields import empty

import crm.api
from crm import services
from crm.api.base import CrmViewSet
from crm.models import Commitment
from tests import factories
from tests.api_resources import choice_fields, one_of_each, resources

pytestmark = pytest.mark.django_db

LONE_SURROGATE = '"\\ud800"'  # JSON text: a backslash-u escape, not a character.


@pytest.fixture(autouse=True)
def default_language_after():
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def records(coordinator):
    return one_of_each(coordinator)


def send(client, method: str, url: str, body: str):
    return getattr(client, method)(url, body, content_type="application/json")


def assert_refused_without_echo(response):
    assert response.status_code == 400, response.content[:300]
    text = response.content.decode("utf-8")  # Encodable: no lone surrogate in it.
    assert "ud800" not in text.lower()
    return response.json()


# Lone surrogates: ``{"kind": "\ud800"}`` was a 500 in every choice field.

CHOICE_FIELDS = [
    (resource.prefix, field)
    for resource in resources()
    if resource.writable
    for field in choice_fields(resource.serializer_class())
]


def test_the_choice_fields_are_those_the_issue_names():
    assert {prefix for prefix, _field in CHOICE_FIELDS} >= {
        "organizations",
        "people",
        "partnerships",
        "follow-ups",
        "commitments",
        "agreements",
        "interactions",
        "projects",
    }


@pytest.mark.parametrize(("prefix", "field"), CHOICE_FIELDS)
def test_a_lone_surrogate_in_a_choice_field_is_a_400_that_does_not_echo_it(
    coordinator_api, records, prefix, field
):
    resource = next(resource for resource in resources() if resource.prefix == prefix)
    record = records[resource.basename]
    body = f'{{"{field}": {LONE_SURROGATE}}}'

    created = send(coordinator_api, "post", resource.url, body)
    patched = send(coordinator_api, "patch", resource.detail_url(record.pk), body)

    for response in (created, patched):
        assert assert_refused_without_echo(response) == {
            "detail": "The body holds text that is not valid Unicode (a lone surrogate escape)."
        }


def test_a_lone_surrogate_in_change_stage_is_a_400(coordinator_api, records):
    url = f"/api/v1/partnerships/{records['partnership'].pk}/change-stage/"

    response = send(coordinator_api, "post", url, f'{{"stage": {LONE_SURROGATE}}}')

    assert_refused_without_echo(response)


@pytest.mark.parametrize(
    "body",
    [
        '{"\\udfff": "a"}',  # In a key.
        '{"name": "x", "tags": [["a", "\\udbff"]]}',  # Deep in a value.
        '{"name": "\\ude00\\ud83d"}',  # A pair in the wrong order is two lone halves.
        '"\\ud800"',  # The whole body.
    ],
)
def test_a_lone_surrogate_anywhere_in_the_body_is_a_400(coordinator_api, body):
    assert_refused_without_echo(send(coordinator_api, "post", "/api/v1/organizations/", body))


def test_a_surrogate_pair_is_one_character_and_accepted(coordinator_api):
    body = '{"slug": "smile", "name": "Smile \\ud83d\\ude00", "kind": "company"}'

    response = send(coordinator_api, "post", "/api/v1/organizations/", body)

    assert response.status_code == 201
    assert response.json()["name"] == "Smile \N{GRINNING FACE}"


@pytest.mark.parametrize("body", ['{"name": "a\\u0000b"}', '{"a\\u0000": 1}'])
def test_a_nul_character_anywhere_in_the_body_is_a_400(coordinator_api, body):
    # PostgreSQL refuses NUL in text: a 500 there, whatever the field.
    response = send(coordinator_api, "post", "/api/v1/organizations/", body)

    assert response.status_code == 400
    assert response.json() == {"detail": "The body holds a NUL character."}


@pytest.mark.parametrize("value", ["%ED%A0%80", "%ED%BF%BF", "%F4%90%80%80", "%C0%80"])
def test_broken_utf_8_in_a_query_parameter_is_no_server_error(coordinator_api, value):
    # Django reads invalid UTF-8 in a query string as U+FFFD: nothing unencodable
    # reaches a view, and a filter answers as for any unknown value.
    for url in (
        f"/api/v1/organizations/?q={value}",
        f"/api/v1/organizations/?kind={value}",
        f"/api/v1/follow-ups/?status={value}&format=csv",
    ):
        response = coordinator_api.get(url)
        assert response.status_code in (200, 400), (url, response.status_code)
        response.content.decode("utf-8")


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/search/?q=%ED%A0%80", None),
        ("get", "/organizations/?q=%ED%A0%80&kind=%ED%A0%80", None),
        ("get", "/admin/crm/organization/?q=%ED%A0%80", None),
        ("post", "/organizations/new/", "name=%ED%A0%80&slug=%ED%A0%80&kind=company"),
        ("post", "/organizations/new/", "name=a%00b&slug=a&kind=company"),
    ],
)
def test_broken_utf_8_in_a_page_s_parameters_or_form_is_no_server_error(
    coordinator, method, url, body
):
    # Query strings and form bodies are decoded with replacement characters
    # (U+FFFD, stored as any text): no lone surrogate reaches a form; a NUL is
    # refused by the form fields.
    client = Client(raise_request_exception=False)
    client.force_login(coordinator)

    if body is None:
        response = client.get(url)
    else:
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code in (200, 302, 400), response.status_code
    response.content.decode("utf-8")


# One JSON parser for every resource: documents used DRF's, without the depth check.


@pytest.mark.parametrize(
    "resource",
    [r for r in resources() if r.writable and r.takes_json],
    ids=lambda resource: resource.prefix,
)
def test_every_writable_resource_parses_json_with_the_depth_and_text_checks(
    coordinator_api, records, resource
):
    body = "[" * 5000 + "]" * 5000
    url = resource.detail_url(records[resource.basename].pk)

    response = send(coordinator_api, "patch", url, body)

    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.parametrize(
    "resource",
    [r for r in resources() if r.writable and not r.takes_json],
    ids=lambda resource: resource.prefix,
)
def test_a_resource_that_takes_no_json_refuses_a_json_body_as_unsupported(
    coordinator_api, resource
):
    response = send(coordinator_api, "post", resource.url, "[" * 5000 + "]" * 5000)

    assert response.status_code == 415


def test_deeply_nested_json_on_a_document_is_a_400(coordinator_api, records):
    url = f"/api/v1/documents/{records['document'].pk}/"

    response = send(coordinator_api, "patch", url, "[" * 5000 + "]" * 5000)

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than 32 levels is refused."}


# Service arguments an endpoint can omit.


def test_deliver_without_an_amount_is_a_400_asking_for_it(coordinator_api, records, coordinator):
    commitment = records["commitment"]
    services.commitment_change_status(
        commitment=commitment,
        to_status=Commitment.Status.CONFIRMED,
        by=coordinator,
        source=factories.SourceFactory(),
    )

    response = coordinator_api.post(
        f"/api/v1/commitments/{commitment.pk}/deliver/", {}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"amount": ["Give the amount delivered."]}


def test_deliver_final_without_an_amount_is_accepted(coordinator_api, records, coordinator):
    commitment = records["commitment"]
    services.commitment_change_status(
        commitment=commitment,
        to_status=Commitment.Status.CONFIRMED,
        by=coordinator,
        source=factories.SourceFactory(),
    )

    response = coordinator_api.post(
        f"/api/v1/commitments/{commitment.pk}/deliver/", {"final": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "delivered"


def action_payloads() -> list[type]:
    """Return every plain Serializer of the API's modules: the payloads of the actions."""
    found = []
    for module_info in pkgutil.iter_modules(crm.api.__path__):
        module = importlib.import_module(f"crm.api.{module_info.name}")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, serializers.Serializer)
            and not issubclass(value, serializers.ModelSerializer)
            and value.__module__ == module.__name__
        ]
    return found


def test_every_optional_field_of_an_action_payload_has_a_default():
    """What a client may omit reaches the service as a value, never as a missing argument."""
    missing = [
        f"{payload.__module__}.{payload.__name__}.{name}"
        for payload in action_payloads()
        for name, field in payload().fields.items()
        if not field.read_only and not field.required and field.default is empty
    ]

    assert missing == []


def test_every_action_answers_an_empty_body_with_a_4xx(coordinator_api, records):
    wrong = []
    for resource in resources():
        for url_path, _name in resource.actions():
            url = f"{resource.detail_url(records[resource.basename].pk)}{url_path}/"
            response = coordinator_api.post(url, {}, format="json")
            if not (response.status_code < 500):
                wrong.append((url, response.status_code))

    assert wrong == []


def test_patching_the_parties_of_an_agreement_is_a_400_naming_the_field(coordinator_api, records):
    agreement = records["agreement"]
    other = factories.OrganizationFactory()

    response = coordinator_api.patch(
        f"/api/v1/agreements/{agreement.pk}/",
        {"party_organizations": [other.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "party_organizations": [
            "The parties are set when the agreement is created; "
            "add or remove one in the agreement's page of the admin."
        ]
    }
    assert [party.organization for party in agreement.parties.all()] == [records["organization"]]


def test_sending_the_same_parties_back_changes_nothing(coordinator_api, records):
    agreement = records["agreement"]

    response = coordinator_api.patch(
        f"/api/v1/agreements/{agreement.pk}/",
        {"party_organizations": [records["organization"].pk], "title": "MoU (final)"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["title"] == "MoU (final)"


# Orderings and parameters.


@pytest.mark.parametrize("resource", resources(), ids=lambda resource: resource.prefix)
def test_an_unknown_ordering_is_a_400_naming_the_allowed_values(coordinator_api, resource):
    allowed = resource.viewset.ordering_fields

    exports = issubclass(resource.viewset, CrmViewSet)

    response = coordinator_api.get(f"{resource.url}?ordering=password")

    assert response.status_code == 400
    message = response.json()["ordering"][0]
    assert message.startswith("Unknown ordering “password”. Order by: ")
    assert all(name in message for name in allowed)
    if exports:  # Mail is read as JSON only: no CSV renderer, a 404 for ?format=csv.
        exported = coordinator_api.get(f"{resource.url}?ordering=-nope,{allowed[0]}&format=csv")
        assert exported.status_code == 400
        assert "nope" in exported.content.decode()


def test_known_orderings_in_either_direction_are_accepted(coordinator_api, records):
    response = coordinator_api.get("/api/v1/follow-ups/?ordering=-due_on,title")

    assert response.status_code == 200


def test_a_list_whose_filters_are_declared_as_fields_knows_them(coordinator_api, records):
    # agreement-status-changes declares filterset_fields, not a FilterSet: its
    # filters were refused as unknown parameters.
    agreement = records["agreement"]

    response = coordinator_api.get(
        f"/api/v1/agreement-status-changes/?agreement={agreement.pk}&to_status=draft"
    )
    refused = coordinator_api.get("/api/v1/agreement-status-changes/?agreement=٣")

    assert response.status_code == 200
    assert [row["agreement"] for row in response.json()["results"]] == [agreement.pk]
    assert refused.status_code == 400
    assert list(refused.json()) == ["agreement"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/commitments/totals/?bogus=1",
        "/api/v1/commitments/totals/?page=2",
        "/api/v1/commitments/totals.json?project=1&ordering=amount",
    ],
)
def test_an_unknown_parameter_on_totals_is_a_400_naming_it(coordinator_api, url):
    response = coordinator_api.get(url)

    assert response.status_code == 400
    assert set(response.json()) <= {"bogus", "page", "ordering"}
    assert "Unknown parameter" in json.dumps(response.json())


def test_totals_still_take_the_filters_of_the_list(coordinator_api, records):
    response = coordinator_api.get(
        f"/api/v1/commitments/totals/?project={records['partnership'].project_id}"
        "&status=announced&format=json"
    )

    assert response.status_code == 200


@pytest.mark.parametrize("action", ["", "download/"])
def test_a_record_takes_no_parameter_but_format(coordinator_api, records, action):
    url = f"/api/v1/documents/{records['document'].pk}/{action}"

    assert coordinator_api.get(f"{url}?format=json").status_code == 200
    response = coordinator_api.get(f"{url}?expand=all")

    assert response.status_code == 400
    assert list(response.json()) == ["expand"]


def test_an_unknown_parameter_on_an_action_is_a_400(coordinator_api, records):
    url = f"/api/v1/follow-ups/{records['followup'].pk}/complete/?force=1"

    response = coordinator_api.post(url, {"note": "Done."}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["force"]
    records["followup"].refresh_from_db()
    assert records["followup"].status == "open"


# Ids: ASCII digits only.


@pytest.mark.parametrize("pk", ["٣", "²", "３", "1e3", "-1", "1" * 30, "0x1"])
def test_an_id_in_the_path_is_ascii_digits_or_a_404(coordinator_api, records, pk):
    follow_up = records["followup"]
    assert coordinator_api.get(f"/api/v1/follow-ups/{follow_up.pk}/").status_code == 200

    for url in (f"/api/v1/follow-ups/{pk}/", f"/api/v1/follow-ups/{pk}/complete/"):
        response = (
            coordinator_api.post(url, {"note": "x"}, format="json")
            if url.endswith("complete/")
            else coordinator_api.get(url)
        )
        assert response.status_code == 404, (url, response.status_code)


def test_a_non_ascii_digit_reads_no_record(coordinator_api, records):
    # "٣" is int() 3: it used to return follow-up 3.
    for follow_up in factories.FollowUpFactory.create_batch(3):
        digits = str(follow_up.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        assert coordinator_api.get(f"/api/v1/follow-ups/{digits}/").status_code == 404


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "spell",
    [
        lambda pk: str(pk).translate(ARABIC_INDIC),  # int() reads it as pk.
        lambda pk: str(pk).translate(FULL_WIDTH),
        lambda pk: f" {pk}",
        lambda pk: f"{pk}\n",
        lambda pk: f"{pk}.0",
        lambda pk: f"{pk}e0",
        lambda pk: "²",
        lambda pk: True,
    ],
    ids=[
        "arabic-indic digits",
        "full-width digits",
        "leading space",
        "trailing newline",
        "decimal",
        "exponent",
        "superscript",
        "boolean",
    ],
)
def test_an_id_in_the_body_is_ascii_digits_or_a_400(coordinator_api, records, spell):
    body = {"title": "Call back", "project": spell(records["project"].pk), "due_on": "2030-01-01"}

    response = coordinator_api.post("/api/v1/follow-ups/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["project"]


def test_an_id_in_the_body_as_digits_in_a_string_is_accepted(coordinator_api, records):
    body = {"title": "Call back", "project": str(records["project"].pk), "due_on": "2030-01-01"}

    response = coordinator_api.post("/api/v1/follow-ups/", body, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("url", "field", "record"),
    [
        ("/api/v1/interactions/", "organizations", "organization"),
        ("/api/v1/agreements/", "party_organizations", "organization"),
        ("/api/v1/projects/", "lead", "coordinator"),
    ],
)
def test_ids_in_lists_and_user_fields_are_ascii_digits_too(
    coordinator_api, records, coordinator, url, field, record
):
    pk = (coordinator if record == "coordinator" else records[record]).pk
    value = str(pk).translate(ARABIC_INDIC)
    body = {field: value if field == "lead" else [value]}

    response = coordinator_api.post(url, body, format="json")

    assert response.status_code == 400
    assert "Give the id in digits 0 to 9." in json.dumps(response.json()[field])
