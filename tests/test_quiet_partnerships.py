"""Nothing quiet goes unseen: every partnership has an owner, and silence reaches someone."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps

from crm import digests
from crm.models import Partnership
from tests import factories
from tests.conftest import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pages_today")]

ALL_CONTACTED = "Every partnership was contacted within its cadence."


def quiet(name: str, owner) -> Partnership:
    partnership = factories.PartnershipFactory(
        organization=factories.OrganizationFactory(name=name),
        owner=owner,
        contact_cadence_days=20,
    )
    factories.InteractionFactory(
        organizations=[partnership.organization], occurred_on=TODAY - timedelta(days=31)
    )
    return partnership


def english(client) -> None:
    client.cookies["django_language"] = "en"


def test_mine_never_says_every_partnership_was_contacted_while_a_colleague_s_is_quiet(
    client, staff_user, coordinator
):
    quiet("Colleague Org", coordinator)
    english(client)
    client.force_login(staff_user)

    response = client.get("/")

    assert response.context["quiet"].partnerships == []
    assert ALL_CONTACTED not in response.text
    assert "None of your partnerships has gone quiet." in response.text
    assert "Partnerships owned by colleagues have gone quiet too." in response.text


def test_whole_team_says_every_partnership_was_contacted_only_when_none_is_quiet(
    client, coordinator
):
    english(client)
    client.force_login(coordinator)
    factories.PartnershipFactory(owner=coordinator)  # Recorded today: not quiet.

    assert ALL_CONTACTED in client.get("/?scope=team").text

    quiet("Nobody's Org", None)

    response = client.get("/?scope=team")
    assert ALL_CONTACTED not in response.text
    assert "Nobody&#x27;s Org" in response.text
    assert "no owner" in response.text


def test_a_quiet_partnership_nobody_owns_is_on_coordination_s_own_dashboard(
    client, staff_user, coordinator
):
    nobody = quiet("Nobody's Org", None)
    quiet("Staff Org", staff_user)
    client.force_login(coordinator)

    mine = client.get("/").context["quiet"]

    assert mine.partnerships == [nobody]
    assert (mine.elsewhere_owned, mine.elsewhere_unowned) == (True, False)


def test_staff_are_told_quiet_partnerships_nobody_owns_are_nobody_s_not_a_colleague_s(
    client, staff_user
):
    # Issue 19: "owned by colleagues" was said of five partnerships with no owner.
    quiet("Nobody's Org", None)
    english(client)
    client.force_login(staff_user)

    response = client.get("/")

    assert "Partnerships with no owner have gone quiet too." in response.text
    assert "owned by colleagues" not in response.text


def test_a_quiet_partnership_is_on_its_owner_s_dashboard_and_nobody_else_s_mine(
    client, staff_user
):
    other = factories.UserFactory(username="other")
    other.groups.add(*staff_user.groups.all())
    owned = quiet("Owned Org", staff_user)

    client.force_login(staff_user)
    assert client.get("/").context["quiet"].partnerships == [owned]
    client.force_login(other)
    assert client.get("/").context["quiet"].partnerships == []


def test_the_digest_gives_unowned_quiet_partnerships_to_coordination_only(
    staff_user, coordinator, today
):
    nobody = quiet("Nobody's Org", None)
    owned = quiet("Owned Org", staff_user)

    assert digests.compute(staff_user, on=today).stale == [owned]
    assert digests.compute(coordinator, on=today, coordination=True).stale == [nobody]


def test_send_digests_tells_a_coordinator_of_a_quiet_partnership_nobody_owns(
    coordinator, mailoutbox, settings
):
    settings.CRM_BASE_URL = "https://crm.example.org"
    coordinator.email = "coordination@example.org"
    coordinator.save()
    quiet("Nobody's Org", None)

    digests.run(on=TODAY)

    assert len(mailoutbox) == 1
    assert "Nobody's Org" in mailoutbox[0].body


def test_the_migration_gives_unowned_partnerships_to_the_project_lead(staff_user):
    migration = importlib.import_module("crm.migrations.0013_workspace")
    project = factories.ProjectFactory(lead=staff_user)
    unowned = factories.PartnershipFactory(project=project, owner=None)
    someone = factories.UserFactory(username="someone")
    owned = factories.PartnershipFactory(project=project, owner=someone)
    leaderless = factories.PartnershipFactory(owner=None)

    migration.unowned_partnerships_to_the_project_lead(apps, schema_editor=None)

    unowned.refresh_from_db()
    owned.refresh_from_db()
    leaderless.refresh_from_db()
    assert unowned.owner == staff_user
    assert owned.owner == someone
    assert leaderless.owner is None
    reason = unowned.history.first().history_change_reason
    assert reason == "Owner: the project's lead (partnership had no owner)."
