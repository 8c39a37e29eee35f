"""Who may call what: every endpoint × every kind of caller.

Anonymous callers and bad tokens get 401 (with a ``WWW-Authenticate`` header);
known users without the permission get 403. Read-only reads, Staff also adds
and changes, Coordination also deletes.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from crm import roles
from crm.models import ApiToken
from tests import factories

pytestmark = pytest.mark.django_db

RESOURCES = {
    "organizations": factories.OrganizationFactory,
    "people": factories.PersonFactory,
    "affiliations": factories.AffiliationFactory,
    "projects": factories.ProjectFactory,
    "missions": factories.MissionFactory,
    "interactions": lambda: factories.InteractionFactory(
        organizations=[factories.OrganizationFactory()]
    ),
    "partnerships": factories.PartnershipFactory,
    "follow-ups": factories.FollowUpFactory,
    "stage-changes": factories.StageChangeFactory,
}

ANONYMOUS, READ_ONLY, STAFF, COORDINATION, EXPIRED, REVOKED = (
    "anonymous",
    "read-only",
    "staff",
    "coordination",
    "expired token",
    "revoked token",
)
CALLERS = [ANONYMOUS, READ_ONLY, STAFF, COORDINATION, EXPIRED, REVOKED]

# What each caller may do; anything else is a 401 (no valid credentials) or 403.
ALLOWED = {
    ANONYMOUS: set(),
    EXPIRED: set(),
    REVOKED: set(),
    READ_ONLY: {"list", "retrieve"},
    STAFF: {"list", "retrieve", "create", "update", "action"},
    COORDINATION: {"list", "retrieve", "create", "update", "action", "destroy"},
}


def _caller(api_client, caller: str):
    if caller == ANONYMOUS:
        return api_client
    role = {
        READ_ONLY: roles.READ_ONLY,
        STAFF: roles.STAFF,
        EXPIRED: roles.COORDINATION,
        REVOKED: roles.COORDINATION,
    }.get(caller, roles.COORDINATION)
    user = factories.UserFactory()
    user.groups.add(Group.objects.get(name=role))
    token, key = ApiToken.create_for(user, name="test")
    if caller == EXPIRED:
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    if caller == REVOKED:
        token.revoke()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


def _requests(resource: str, pk: int):
    base = f"/api/v1/{resource}/"
    requests = [
        ("list", "get", base),
        ("list", "get", base + "?format=csv"),
        ("retrieve", "get", f"{base}{pk}/"),
    ]
    if resource != "stage-changes":
        requests += [
            ("create", "post", base),
            ("update", "patch", f"{base}{pk}/"),
            ("update", "put", f"{base}{pk}/"),
            ("destroy", "delete", f"{base}{pk}/"),
        ]
    if resource == "follow-ups":
        requests.append(("action", "post", f"{base}{pk}/complete/"))
    if resource == "partnerships":
        requests.append(("action", "post", f"{base}{pk}/change-stage/"))
    return requests


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
def test_permission_matrix(api_client, resource, caller):
    obj = RESOURCES[resource]()
    client = _caller(api_client, caller)

    for kind, method, url in _requests(resource, obj.pk):
        # Empty bodies: a permitted write then fails validation (400), which
        # still shows it got past authentication and permissions.
        response = getattr(client, method)(url, {})
        if kind in ALLOWED[caller]:
            assert response.status_code not in (401, 403), (method, url, response.status_code)
        elif caller in (ANONYMOUS, EXPIRED, REVOKED):
            assert response.status_code == 401, (method, url, response.status_code)
            assert response["WWW-Authenticate"] == "Token"
        else:
            assert response.status_code == 403, (method, url, response.status_code)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_stage_changes_are_read_only_for_everyone(coordinator_api, method):
    change = factories.StageChangeFactory()

    response = getattr(coordinator_api, method)(f"/api/v1/stage-changes/{change.pk}/", {})

    assert response.status_code == 405


def test_a_user_without_a_role_reads_nothing(api_client):
    api_client.force_authenticate(factories.UserFactory())

    assert api_client.get("/api/v1/organizations/").status_code == 403


def test_the_schema_needs_credentials(api_client, reader):
    assert api_client.get("/api/v1/schema/").status_code == 401
    api_client.force_authenticate(reader)
    assert api_client.get("/api/v1/schema/").status_code == 200


def test_the_docs_page_sends_anonymous_users_to_log_in(client):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 302
