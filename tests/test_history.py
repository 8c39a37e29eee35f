"""History: who changed what and when, and the old values still readable."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import FollowUp, Organization, Partnership
from tests.factories import FollowUpFactory, OrganizationFactory, PartnershipFactory
from tests.test_admin import form_data, post_action, url


def history_url(obj, record) -> str:
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history",
        args=(obj.pk, record.history_id),
    )


def test_renaming_an_organization_in_the_admin_keeps_the_old_name(client, coordinator):
    organization = OrganizationFactory(name="AmazonBloc Inc")
    client.force_login(coordinator)
    data = form_data(client.get(url(Organization, "change", organization.pk)))
    before = timezone.now()

    response = client.post(
        url(Organization, "change", organization.pk), {**data, "name": "AmazonBloc, Inc."}
    )

    assert response.status_code == 302
    latest = organization.history.latest()
    assert latest.name == "AmazonBloc, Inc."
    assert latest.history_type == "~"
    assert latest.history_user == coordinator
    assert latest.history_date >= before
    assert latest.prev_record.name == "AmazonBloc Inc"
    assert organization.history.earliest().name == "AmazonBloc Inc"
    (change,) = latest.diff_against(latest.prev_record).changes
    assert (change.field, change.old, change.new) == ("name", "AmazonBloc Inc", "AmazonBloc, Inc.")


def test_history_page_lists_the_old_values_and_who_changed_them(client, coordinator):
    organization = OrganizationFactory(name="Old name")
    client.force_login(coordinator)
    data = form_data(client.get(url(Organization, "change", organization.pk)))
    client.post(url(Organization, "change", organization.pk), {**data, "name": "New name"})

    response = client.get(url(Organization, "history", organization.pk))

    assert response.status_code == 200
    assert "Old name" in response.text
    assert "New name" in response.text
    assert coordinator.username in response.text


def test_reader_sees_history_but_cannot_revert(client, reader):
    organization = OrganizationFactory(name="Old name")
    organization.name = "New name"
    organization.save()
    old = organization.history.earliest()
    client.force_login(reader)

    page = client.get(history_url(organization, old))
    data = form_data(page)
    response = client.post(history_url(organization, old), data)

    assert client.get(url(Organization, "history", organization.pk)).status_code == 200
    assert page.status_code == 200
    assert response.status_code == 403
    organization.refresh_from_db()
    assert organization.name == "New name"


def test_coordinator_reverts_an_organization_to_an_old_version(client, coordinator):
    organization = OrganizationFactory(name="Old name")
    organization.name = "New name"
    organization.save()
    old = organization.history.earliest()
    client.force_login(coordinator)

    data = form_data(client.get(history_url(organization, old)))
    response = client.post(history_url(organization, old), data)

    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.name == "Old name"
    assert organization.history.latest().history_user == coordinator


def test_reverting_a_partnership_does_not_move_its_stage(client, coordinator):
    partnership = PartnershipFactory(stage=Partnership.Stage.CONTACTED)
    services.partnership_change_stage(
        partnership=partnership, to_stage=Partnership.Stage.EXPLORING, by=coordinator
    )
    old = partnership.history.earliest()
    client.force_login(coordinator)

    data = form_data(client.get(history_url(partnership, old)))
    response = client.post(history_url(partnership, old), data)

    assert response.status_code == 302
    partnership.refresh_from_db()
    assert partnership.stage == Partnership.Stage.EXPLORING
    assert partnership.stage_changes.count() == 1


def test_completing_a_follow_up_through_the_service_records_who_did_it(staff_user):
    follow_up = FollowUpFactory(title="Send the concept note")

    services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Sent on Monday")

    latest = follow_up.history.latest()
    assert latest.status == FollowUp.Status.DONE
    assert latest.completion_note == "Sent on Monday"
    assert latest.history_user == staff_user
    assert latest.history_date is not None
    assert latest.prev_record.status == FollowUp.Status.OPEN
    assert follow_up.history.earliest().completed_at is None


def test_mark_done_action_records_the_acting_user_in_history(client, coordinator):
    follow_up = FollowUpFactory()
    client.force_login(coordinator)

    post_action(client, FollowUp, "mark_done", [follow_up], post="yes", completion_note="Done")

    latest = follow_up.history.latest()
    assert (latest.status, latest.history_user) == (FollowUp.Status.DONE, coordinator)


@pytest.mark.parametrize("field", ["name", "kind"])
def test_every_admin_save_is_a_history_row(client, coordinator, field):
    organization = OrganizationFactory()
    client.force_login(coordinator)
    data = form_data(client.get(url(Organization, "change", organization.pk)))
    value = {"name": "Renamed", "kind": Organization.Kind.INVESTOR}[field]

    client.post(url(Organization, "change", organization.pk), {**data, field: value})

    assert organization.history.count() == 2
    assert getattr(organization.history.latest(), field) == value
