"""Personal API tokens: made and revoked on the token page, checked on each request."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from crm import roles
from crm.api.authentication import TokenAuthentication
from crm.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_hashed_and_its_key_works(api_client, reader):
    token, key = ApiToken.create_for(reader, name="Reporting")

    assert key.startswith(token.prefix + ".")
    secret = key.split(".", 1)[1]
    assert secret not in token.key_hash
    assert token.key_hash == ApiToken.hash_secret(secret)
    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_a_wrong_secret_is_a_401(api_client, reader):
    token, _key = ApiToken.create_for(reader, name="Reporting")

    response = api_client.get(
        "/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {token.prefix}.wrong"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token nodot", "Token .x", "Token x."])
def test_a_malformed_header_is_a_401(api_client, header):
    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_an_expired_token_is_a_401_that_says_so(api_client, reader):
    token, key = ApiToken.create_for(
        reader, name="Old", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_revoked_token_is_a_401_that_says_so(api_client, reader):
    token, key = ApiToken.create_for(reader, name="Old")
    token.revoke()

    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_token_of_an_inactive_user_is_a_401(api_client, reader):
    _token, key = ApiToken.create_for(reader, name="Old")
    reader.is_active = False
    reader.save()

    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 401


def test_last_used_is_written_at_most_once_a_minute(reader, rf, django_assert_num_queries):
    token, key = ApiToken.create_for(reader, name="Sync")
    authentication = TokenAuthentication()

    with django_assert_num_queries(2):  # Look-up, then the first use recorded.
        authentication.authenticate_key(key)
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    with django_assert_num_queries(1):  # Look-up only.
        authentication.authenticate_key(key)

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    authentication.authenticate_key(key)
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(minutes=2)


# The token page.


def test_the_token_page_needs_a_login(client):
    response = client.get("/account/tokens/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_making_a_token_shows_its_key_once(client, staff_user):
    client.force_login(staff_user)

    response = client.post("/account/tokens/", {"name": "Spreadsheet", "expires_on": ""})

    assert response.status_code == 200
    token = ApiToken.objects.get(user=staff_user)
    key = response.context["new_key"]
    assert key.startswith(token.prefix + ".")
    assert key in response.text
    assert "no-store" in response["Cache-Control"].split(", ")
    assert key not in client.get("/account/tokens/").text
    assert token.prefix in client.get("/account/tokens/").text


def test_a_token_can_expire_on_a_future_day_only(client, staff_user):
    client.force_login(staff_user)
    yesterday = timezone.localdate() - timedelta(days=1)
    next_week = timezone.localdate() + timedelta(days=7)

    refused = client.post("/account/tokens/", {"name": "Old", "expires_on": yesterday})
    assert refused.context["form"].errors
    client.post("/account/tokens/", {"name": "Week", "expires_on": next_week})

    token = ApiToken.objects.get(user=staff_user)
    assert timezone.localtime(token.expires_at).date() == next_week


def test_revoking_own_token(client, staff_user):
    client.force_login(staff_user)
    token, _key = ApiToken.create_for(staff_user, name="Sync")

    response = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.is_revoked


def test_nobody_revokes_someone_elses_token_on_the_page(client, staff_user, reader):
    client.force_login(staff_user)
    token, _key = ApiToken.create_for(reader, name="Theirs")

    response = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert not token.is_revoked


def test_the_page_lists_only_own_tokens(client, staff_user, reader):
    ApiToken.create_for(reader, name="Reader's key")
    ApiToken.create_for(staff_user, name="Staff key")
    client.force_login(staff_user)

    response = client.get("/account/tokens/")

    assert "Staff key" in response.text
    assert "Reader&#x27;s key" not in response.text


# The admin.


def test_coordination_sees_tokens_in_the_admin_without_their_hash(client, coordinator, reader):
    coordinator.is_staff = True
    coordinator.save()
    token, key = ApiToken.create_for(reader, name="Reporting")
    client.force_login(coordinator)

    listing = client.get(reverse("admin:crm_apitoken_changelist"))
    change = client.get(reverse("admin:crm_apitoken_change", args=[token.pk]))

    assert listing.status_code == 200
    assert "Reporting" in listing.text
    assert change.status_code == 200
    assert token.key_hash not in change.text
    assert key.split(".")[1] not in change.text
    assert client.get(reverse("admin:crm_apitoken_add")).status_code == 403


def test_coordination_revokes_tokens_in_the_admin(client, coordinator, reader):
    token, _key = ApiToken.create_for(reader, name="Reporting")
    client.force_login(coordinator)

    client.post(
        reverse("admin:crm_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.is_revoked


@pytest.mark.parametrize("role", [roles.STAFF, roles.READ_ONLY])
def test_other_roles_do_not_see_tokens_in_the_admin(client, role):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)

    response = client.get(reverse("admin:crm_apitoken_changelist"))

    assert response.status_code == 403


def _expiry_form(token, expires_at) -> dict:
    data = {"name": token.name, "expires_at_0": "", "expires_at_1": ""}
    if expires_at is not None:
        local = timezone.localtime(expires_at)
        data |= {
            "expires_at_0": local.strftime("%Y-%m-%d"),
            "expires_at_1": local.strftime("%H:%M:%S"),
        }
    return data


def _works(api_client, key: str) -> bool:
    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {key}")
    return response.status_code == 200


def test_coordination_cannot_revive_an_expired_token_by_clearing_its_expiry(
    client, api_client, coordinator, reader
):
    expired = timezone.now() - timedelta(days=1)
    token, key = ApiToken.create_for(reader, name="Reporting", expires_at=expired)
    client.force_login(coordinator)

    client.post(reverse("admin:crm_apitoken_change", args=[token.pk]), _expiry_form(token, None))

    token.refresh_from_db()
    assert token.expires_at == expired
    assert not _works(api_client, key)


def test_a_revoked_or_expired_tokens_expiry_is_read_only(client, coordinator, reader):
    expired, _key = ApiToken.create_for(
        reader, name="Old", expires_at=timezone.now() - timedelta(days=1)
    )
    revoked, _key = ApiToken.create_for(reader, name="Revoked")
    revoked.revoke()
    client.force_login(coordinator)

    for token in (expired, revoked):
        page = client.get(reverse("admin:crm_apitoken_change", args=[token.pk]))
        assert 'name="expires_at_0"' not in page.text


@pytest.mark.parametrize(
    "new_expiry",
    [pytest.param(None, id="cleared"), pytest.param(timedelta(days=30), id="later")],
)
def test_coordination_cannot_extend_a_colleagues_token(client, coordinator, reader, new_expiry):
    expires_at = (timezone.now() + timedelta(days=10)).replace(microsecond=0)
    token, _key = ApiToken.create_for(reader, name="Reporting", expires_at=expires_at)
    client.force_login(coordinator)
    later = None if new_expiry is None else expires_at + new_expiry

    response = client.post(
        reverse("admin:crm_apitoken_change", args=[token.pk]), _expiry_form(token, later)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [error.code for error in errors["expires_at"]] == ["later"]
    token.refresh_from_db()
    assert token.expires_at == expires_at


def test_coordination_stops_a_token_by_bringing_its_expiry_forward(
    client, api_client, coordinator, reader
):
    token, key = ApiToken.create_for(reader, name="Reporting")
    client.force_login(coordinator)
    now = timezone.now().replace(microsecond=0)

    response = client.post(
        reverse("admin:crm_apitoken_change", args=[token.pk]), _expiry_form(token, now)
    )

    assert response.status_code == 302
    assert not _works(api_client, key)
