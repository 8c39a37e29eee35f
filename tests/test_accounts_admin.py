"""Borrowed accounts: Coordination and superuser passwords, staff profiles (issue 9, item 2)."""

import hypothesis
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.test import Client
from hypothesis import strategies as st

from crm import roles
from crm.models import ApiToken, StaffProfile
from tests import factories

pytestmark = pytest.mark.django_db

NEW_PASSWORD = {"password1": "Une-phrase-tres-longue-42", "password2": "Une-phrase-tres-longue-42"}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def password_url(user) -> str:
    return f"/admin/auth/user/{user.pk}/password/"


def other_coordinator():
    user = factories.UserFactory(username="coordinator2")
    user.groups.add(Group.objects.get(name=roles.COORDINATION))
    return user


def test_a_coordinator_may_not_set_another_coordinators_password(coordinator):
    victim = other_coordinator()
    client = as_user(coordinator)

    assert client.get(password_url(victim)).status_code == 403
    assert client.post(password_url(victim), NEW_PASSWORD).status_code == 403
    victim.refresh_from_db()
    assert not victim.check_password(NEW_PASSWORD["password1"])


def test_a_coordinator_may_not_set_a_superusers_password(coordinator):
    root = factories.UserFactory(username="root", is_superuser=True)

    assert as_user(coordinator).post(password_url(root), NEW_PASSWORD).status_code == 403


def test_a_coordinator_sets_their_own_password_and_a_staff_members(coordinator, staff_user):
    client = as_user(coordinator)

    assert client.post(password_url(staff_user), NEW_PASSWORD).status_code == 302
    assert client.post(password_url(coordinator), NEW_PASSWORD).status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password(NEW_PASSWORD["password1"])


def test_a_superuser_sets_a_coordinators_password(coordinator):
    root = factories.UserFactory(username="root", is_superuser=True)

    assert as_user(root).post(password_url(coordinator), NEW_PASSWORD).status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.check_password(NEW_PASSWORD["password1"])


def test_a_staff_profiles_user_cannot_be_changed(coordinator, staff_user):
    profile = StaffProfile.for_user(coordinator)
    client = as_user(coordinator)

    response = client.post(
        f"/admin/crm/staffprofile/{profile.pk}/change/",
        {"user": staff_user.pk, "language": "en"},
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.user, profile.language) == (coordinator, "en")


def test_staff_change_their_own_profile_only(staff_user, coordinator):
    own = StaffProfile.for_user(staff_user)
    theirs = StaffProfile.for_user(coordinator)
    client = as_user(staff_user)

    assert (
        client.post(f"/admin/crm/staffprofile/{own.pk}/change/", {"language": "en"}).status_code
        == 302
    )
    assert (
        client.post(f"/admin/crm/staffprofile/{theirs.pk}/change/", {"language": "en"}).status_code
        == 403
    )
    theirs.refresh_from_db()
    assert theirs.language == "fr"


def test_coordination_changes_anyones_profile(coordinator, staff_user):
    profile = StaffProfile.for_user(staff_user)

    response = as_user(coordinator).post(
        f"/admin/crm/staffprofile/{profile.pk}/change/", {"language": "en"}
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.language == "en"


def test_a_coordinator_may_not_change_another_coordinators_e_mail(coordinator):
    # With password reset on, the new address would receive the reset link.
    victim = other_coordinator()
    victim.email = "victim@example.org"
    victim.save()
    page = as_user(coordinator).get(f"/admin/auth/user/{victim.pk}/change/")

    assert page.status_code == 200
    assert 'name="email"' not in page.text
    assert 'name="username"' not in page.text


def test_a_coordinator_changes_a_staff_members_e_mail(coordinator, staff_user):
    page = as_user(coordinator).get(f"/admin/auth/user/{staff_user.pk}/change/")

    assert 'name="email"' in page.text


# Taking over a peer (issue 17): the guard is decided from what protects the
# account, and no request may remove that protection.

ATTACKER_PASSWORD = "Le-mot-de-passe-de-l-attaquant-7"


def change_url(user) -> str:
    return f"/admin/auth/user/{user.pk}/change/"


def change_form(user, **changes) -> dict:
    """The user change form as the page posts it, with ``changes`` applied."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value not in ("", [])}


def attacker_password() -> dict:
    return {"password1": ATTACKER_PASSWORD, "password2": ATTACKER_PASSWORD}


def coordination_id() -> str:
    return str(Group.objects.get(name=roles.COORDINATION).pk)


def assert_untouched(victim) -> None:
    victim.refresh_from_db()
    assert list(victim.groups.values_list("name", flat=True)) == [roles.COORDINATION]
    assert (victim.is_active, victim.is_staff, victim.is_superuser) == (True, True, False)
    assert victim.email == "coordinator2@example.org"
    assert not victim.check_password(ATTACKER_PASSWORD)


def test_a_coordinator_cannot_take_over_a_peer_by_demoting_them_first(coordinator):
    victim = other_coordinator()
    client = as_user(coordinator)

    demoted = client.post(change_url(victim), change_form(victim, groups=[]))
    reset = client.post(password_url(victim), attacker_password())
    restored = client.post(
        change_url(victim),
        change_form(victim, email="attacker@example.org", groups=[coordination_id()]),
    )

    assert [demoted.status_code, reset.status_code, restored.status_code] == [403, 403, 403]
    assert_untouched(victim)
    login = Client().post(
        "/accounts/login/", {"username": victim.username, "password": ATTACKER_PASSWORD}
    )
    assert "_auth_user_id" not in login.client.session


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"is_active": ""}, id="deactivate"),
        pytest.param({"is_staff": ""}, id="remove the staff flag"),
        pytest.param({"groups": []}, id="remove the role"),
        pytest.param({"is_superuser": "on"}, id="make a superuser"),
        pytest.param({"email": "attacker@example.org"}, id="change the e-mail"),
    ],
)
def test_a_coordinator_changes_nothing_of_a_peers_account(coordinator, changes):
    victim = other_coordinator()

    response = as_user(coordinator).post(change_url(victim), change_form(victim, **changes))

    assert response.status_code == 403
    assert_untouched(victim)


def test_a_coordinator_sees_a_peers_account_read_only(coordinator):
    victim = other_coordinator()

    page = as_user(coordinator).get(change_url(victim))

    assert page.status_code == 200
    for field in ("groups", "is_active", "is_staff", "email"):
        assert f'name="{field}"' not in page.text


def test_a_coordinator_has_no_bulk_action_on_accounts(coordinator):
    # Bulk actions would be another route to the same fields.
    page = as_user(coordinator).get("/admin/auth/user/")

    assert page.status_code == 200
    assert page.context["action_form"] is None


def test_a_coordinator_manages_a_staff_members_account(coordinator, staff_user):
    client = as_user(coordinator)

    promoted = client.post(
        change_url(staff_user), change_form(staff_user, groups=[coordination_id()])
    )
    staff_user.refresh_from_db()
    assert roles.is_coordination(staff_user)
    # Now a peer: out of reach, like any other coordinator.
    demoted = client.post(change_url(staff_user), change_form(staff_user, groups=[]))

    assert (promoted.status_code, demoted.status_code) == (302, 403)
    assert roles.is_coordination(staff_user)


def test_a_coordinator_deactivates_a_staff_member(coordinator, staff_user):
    response = as_user(coordinator).post(
        change_url(staff_user), change_form(staff_user, is_active="")
    )

    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert not staff_user.is_active


def test_a_coordinator_may_not_make_anyone_a_superuser(coordinator, staff_user):
    as_user(coordinator).post(change_url(staff_user), change_form(staff_user, is_superuser="on"))

    staff_user.refresh_from_db()
    assert not staff_user.is_superuser


def test_a_superuser_manages_a_coordinators_account(coordinator):
    root = factories.UserFactory(username="root", is_superuser=True)

    response = as_user(root).post(change_url(coordinator), change_form(coordinator, groups=[]))

    assert response.status_code == 302
    assert not roles.is_coordination(coordinator)


# Any sequence of a coordinator's requests against a peer, not only the three of
# the report, leaves the peer's account as it was.

STEPS = {
    "drop the role": lambda victim: (change_url(victim), change_form(victim, groups=[])),
    "restore the role": lambda victim: (
        change_url(victim),
        change_form(victim, groups=[coordination_id()]),
    ),
    "deactivate": lambda victim: (change_url(victim), change_form(victim, is_active="")),
    "remove the staff flag": lambda victim: (change_url(victim), change_form(victim, is_staff="")),
    "change the e-mail": lambda victim: (
        change_url(victim),
        change_form(victim, email="attacker@example.org"),
    ),
    "set the password": lambda victim: (password_url(victim), attacker_password()),
}


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=5))
def test_no_sequence_of_requests_takes_over_a_peer(coordinator, steps):
    with transaction.atomic():
        victim = other_coordinator()
        client = as_user(coordinator)
        for step in steps:
            url, data = STEPS[step](victim)
            client.post(url, data)
            assert_untouched(victim)
        transaction.set_rollback(True)


# Secret columns: no admin lookup narrows them down character by character.


@pytest.mark.parametrize(
    "lookup", ["calendar_token__startswith", "calendar_token__regex", "calendar_token__gte"]
)
def test_no_lookup_on_calendar_tokens(reader, lookup):
    profile = StaffProfile.for_user(reader)
    profile.calendar_secret()

    response = as_user(reader).get(
        f"/admin/crm/staffprofile/?{lookup}={profile.calendar_token[:1]}"
    )

    assert response.status_code == 400


@pytest.mark.parametrize("lookup", ["key_hash__startswith", "key_hash", "key_hash__lt"])
def test_no_lookup_on_api_key_hashes(coordinator, lookup):
    token, _key = ApiToken.create_for(coordinator, name="BI")

    response = as_user(coordinator).get(f"/admin/crm/apitoken/?{lookup}={token.key_hash[:1]}")

    assert response.status_code == 400


# Nor anyone holding a right the coordinator lacks: whoever sets their password
# acts with it.


def _holder_of(codename: str):
    user = factories.UserFactory(username="holder")
    user.groups.add(Group.objects.get(name=roles.STAFF))
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.mark.parametrize("active", [True, False])
def test_a_coordinator_cannot_take_over_an_account_with_a_right_they_lack(coordinator, active):
    holder = _holder_of("change_group")
    holder.is_active = active
    holder.save()
    client = as_user(coordinator)

    reset = client.post(password_url(holder), attacker_password())
    changed = client.post(change_url(holder), change_form(holder, is_active="on", groups=[]))

    assert (reset.status_code, changed.status_code) == (403, 403)
    holder.refresh_from_db()
    assert not holder.check_password(ATTACKER_PASSWORD)
    assert holder.is_active is active


def test_a_coordinator_grants_only_roles_within_their_own_rights(coordinator, staff_user):
    auditors = Group.objects.create(name="Auditors")
    auditors.permissions.add(Permission.objects.get(codename="change_group"))
    client = as_user(coordinator)

    page = client.get(change_url(staff_user))
    response = client.post(change_url(staff_user), change_form(staff_user, groups=[auditors.pk]))

    offered = {group.name for group in page.context["adminform"].form.fields["groups"].queryset}
    assert offered == {roles.COORDINATION, roles.STAFF, roles.READ_ONLY}
    assert response.status_code == 200
    assert not staff_user.groups.filter(name="Auditors").exists()
