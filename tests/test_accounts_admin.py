"""Borrowed accounts: Coordination and superuser passwords, staff profiles (issue 9, item 2)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from crm import roles
from crm.models import StaffProfile
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
