"""The three roles and what each may do."""

import pytest
from django.contrib.auth.models import Group

from crm import roles

pytestmark = pytest.mark.django_db

CRM_MODELS = [
    "source", "organization", "programme", "project", "person", "affiliation", "mission",
    "missionmember", "interaction", "interactionorganization", "partnership", "stagechange",
    "followup", "staffprofile",
]  # fmt: skip


def test_the_three_role_groups_exist_after_migrate():
    names = set(Group.objects.values_list("name", flat=True))
    assert {roles.COORDINATION, roles.STAFF, roles.READ_ONLY} <= names


@pytest.mark.parametrize("model", CRM_MODELS)
def test_coordination_may_do_everything(coordinator, model):
    for action in ("view", "add", "change", "delete"):
        assert coordinator.has_perm(f"crm.{action}_{model}")


@pytest.mark.parametrize("model", CRM_MODELS)
def test_staff_view_add_and_change_but_delete_nothing(staff_user, model):
    assert staff_user.has_perm(f"crm.view_{model}")
    assert staff_user.has_perm(f"crm.add_{model}")
    assert staff_user.has_perm(f"crm.change_{model}")
    assert not staff_user.has_perm(f"crm.delete_{model}")


@pytest.mark.parametrize("model", CRM_MODELS)
def test_read_only_only_views(reader, model):
    assert reader.has_perm(f"crm.view_{model}")
    for action in ("add", "change", "delete"):
        assert not reader.has_perm(f"crm.{action}_{model}")


def test_nobody_but_coordination_sees_history_rows_as_editable(staff_user):
    assert staff_user.has_perm("crm.view_historicalfollowup")
    assert not staff_user.has_perm("crm.change_historicalfollowup")


def test_syncing_again_restores_a_removed_grant():
    staff = Group.objects.get(name=roles.STAFF)
    staff.permissions.remove(*staff.permissions.filter(codename="change_followup"))

    roles.sync_role_permissions()

    assert staff.permissions.filter(codename="change_followup").exists()


def test_staff_and_read_only_may_see_colleagues_to_pick_an_assignee(staff_user, reader):
    assert staff_user.has_perm("auth.view_user")
    assert reader.has_perm("auth.view_user")
    assert not staff_user.has_perm("auth.change_user")


def test_staff_can_search_colleagues_in_the_assignee_autocomplete(client, staff_user):
    client.force_login(staff_user)

    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "crm", "model_name": "followup", "field_name": "assignee", "term": "staff"},
    )

    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["staffer"]


def test_coordination_manages_accounts_but_not_groups_or_permissions(coordinator):
    assert coordinator.has_perm("auth.add_user")
    assert coordinator.has_perm("auth.change_user")
    for codename in ("delete_user", "change_group", "add_group", "add_permission"):
        assert not coordinator.has_perm(f"auth.{codename}")


def test_a_coordinator_cannot_make_themselves_superuser(client, coordinator):
    client.force_login(coordinator)
    url = f"/admin/auth/user/{coordinator.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and not isinstance(value, list)
    }
    data.update(
        username=coordinator.username,
        is_staff="on",
        is_active="on",
        is_superuser="on",
        groups=[group.pk for group in coordinator.groups.all()],
        date_joined_0="2026-01-01",
        date_joined_1="10:00:00",
    )

    response = client.post(url, data)

    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert not coordinator.is_superuser


def test_a_coordinator_cannot_touch_a_superusers_account(client, coordinator):
    from django.contrib.auth import get_user_model

    boss = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-123456789")
    client.force_login(coordinator)

    assert client.post(f"/admin/auth/user/{boss.pk}/password/", {}).status_code == 403
    assert client.post(f"/admin/auth/user/{boss.pk}/change/", {}).status_code == 403
