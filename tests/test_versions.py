"""Edits save only what they changed, and a copy opened on an old version is refused."""

from datetime import date

import pytest
from django import forms

from crm import services
from crm.forms import VersionedModelForm
from crm.models import Affiliation, FollowUp, Organization, Partnership
from crm.versions import StaleVersion, version_of
from tests.factories import (
    AffiliationFactory,
    FollowUpFactory,
    OrganizationFactory,
    PartnershipFactory,
)


class OrganizationEditForm(VersionedModelForm):
    class Meta:
        model = Organization
        fields = ["name", "slug", "kind", "city", "description"]


def _post(form_class, instance, **changes):
    """Post ``form_class`` as a browser would: every field as it was shown, plus ``changes``."""
    shown = form_class(instance=instance)
    data = {name: shown[name].value() or "" for name in shown.fields}
    data.update(changes)
    return form_class(data, instance=instance)


def test_update_writes_only_the_fields_it_changes(staff_user):
    organization = OrganizationFactory(city="Lomé", description="old")
    stale = Organization.objects.get(pk=organization.pk)
    Organization.objects.filter(pk=organization.pk).update(description="written meanwhile")

    services.record_update(instance=stale, changes={"city": "Kara"}, by=staff_user, version=None)

    organization.refresh_from_db()
    assert (organization.city, organization.description) == ("Kara", "written meanwhile")


def test_update_without_a_change_writes_nothing(staff_user):
    organization = OrganizationFactory(city="Lomé")
    before = version_of(organization)

    services.record_update(
        instance=organization, changes={"city": "Lomé"}, by=staff_user, version=before
    )

    organization.refresh_from_db()
    assert version_of(organization) == before
    assert organization.history.count() == 1


def test_update_on_an_old_version_is_refused_and_saves_nothing(staff_user, coordinator):
    organization = OrganizationFactory(city="Lomé")
    opened_on = version_of(organization)
    services.record_update(
        instance=organization, changes={"city": "Kara"}, by=coordinator, version=opened_on
    )

    with pytest.raises(StaleVersion) as refused:
        services.record_update(
            instance=organization, changes={"city": "Sokodé"}, by=staff_user, version=opened_on
        )

    organization.refresh_from_db()
    assert organization.city == "Kara"
    assert refused.value.changed_by == coordinator
    assert coordinator.username in refused.value.message(reload_url="/x/")


def test_update_refuses_state_fields(staff_user):
    follow_up = FollowUpFactory()
    with pytest.raises(ValueError, match="status"):
        services.record_update(
            instance=follow_up,
            changes={"status": FollowUp.Status.DONE},
            by=staff_user,
            version=None,
        )
    partnership_fields = services.STATE_FIELDS[Partnership]
    assert partnership_fields == {"stage", "owner"}


def test_update_checks_the_rules_against_the_newest_row(staff_user):
    affiliation = AffiliationFactory(start_on=date(2023, 1, 1), end_on=None)
    stale = Affiliation.objects.get(pk=affiliation.pk)
    Affiliation.objects.filter(pk=affiliation.pk).update(start_on=date(2024, 6, 1))

    # Valid on the stale copy (start 2023), not on the row as it now is.
    with pytest.raises(forms.ValidationError):
        services.record_update(
            instance=stale, changes={"end_on": date(2024, 1, 1)}, by=staff_user, version=None
        )
    affiliation.refresh_from_db()
    assert affiliation.end_on is None


def test_versioned_form_saves_a_fresh_copy(staff_user):
    organization = OrganizationFactory(city="Lomé")
    form = _post(OrganizationEditForm, organization, city="Kara")

    assert form.is_valid(), form.errors
    form.save_by(by=staff_user)

    organization.refresh_from_db()
    assert organization.city == "Kara"
    assert organization.history.first().history_user == staff_user


def test_versioned_form_refuses_a_stale_copy_and_both_changes_survive(staff_user, coordinator):
    organization = OrganizationFactory(city="Lomé", description="first")
    mine = _post(OrganizationEditForm, organization, city="Kara")
    theirs = _post(OrganizationEditForm, organization, description="second")
    assert theirs.is_valid() and mine.is_valid()
    theirs.save_by(by=coordinator)

    with pytest.raises(StaleVersion):
        mine.save_by(by=staff_user)

    organization.refresh_from_db()
    assert (organization.city, organization.description) == ("Lomé", "second")
    # What was typed is still on the form, to be made again after a reload.
    assert mine.cleaned_data["city"] == "Kara"
    assert [row.description for row in organization.history.all()] == ["second", "first"]


def test_versioned_form_without_its_version_is_refused(staff_user):
    organization = OrganizationFactory()
    form = _post(OrganizationEditForm, organization, city="Kara", version="")

    assert not form.is_valid()
    assert form.has_error("__all__", "no_version")


def test_versioned_form_creates_with_history(staff_user):
    form = OrganizationEditForm(
        {"name": "Nouvelle", "slug": "nouvelle", "kind": "company", "city": "Lomé"}
    )
    assert form.is_valid(), form.errors

    organization = form.save_by(by=staff_user)

    assert organization.history.get().history_user == staff_user


STATE_SERVICES = {
    "complete": lambda f, by, v: services.follow_up_complete(
        follow_up=f, by=by, note="Done.", version=v
    ),
    "reassign": lambda f, by, v: services.follow_up_reassign(
        follow_up=f, assignee=by, by=by, version=v
    ),
    "snooze": lambda f, by, v: services.follow_up_snooze(
        follow_up=f, due_on=date(2099, 1, 1), reason="Later", by=by, version=v
    ),
    "waiting": lambda f, by, v: services.follow_up_mark_waiting(follow_up=f, by=by, version=v),
    "cancel": lambda f, by, v: services.follow_up_cancel(
        follow_up=f, by=by, reason="No need", version=v
    ),
}


@pytest.mark.parametrize("name", STATE_SERVICES)
def test_state_services_refuse_a_stale_version_and_change_nothing(name, staff_user, coordinator):
    follow_up = FollowUpFactory(title="Call Visa")
    opened_on = version_of(follow_up)
    services.record_update(
        instance=follow_up, changes={"title": "Call Visa back"}, by=coordinator, version=None
    )

    with pytest.raises(StaleVersion):
        STATE_SERVICES[name](follow_up, staff_user, opened_on)

    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.assignee, follow_up.history.count()) == (
        FollowUp.Status.OPEN,
        None,
        2,
    )
    STATE_SERVICES[name](follow_up, staff_user, version_of(follow_up))
    assert follow_up.history.count() == 3


def test_a_reason_longer_than_the_history_keeps_is_refused(staff_user):
    follow_up = FollowUpFactory()

    with pytest.raises(forms.ValidationError) as refused:
        services.follow_up_cancel(follow_up=follow_up, by=staff_user, reason="x" * 101)

    assert "reason" in refused.value.message_dict


def test_reopening_an_open_follow_up_is_refused(staff_user):
    follow_up = FollowUpFactory()

    with pytest.raises(forms.ValidationError) as refused:
        services.follow_up_reopen(follow_up=follow_up, by=staff_user, reason="Again")

    assert "status" in refused.value.message_dict


def test_only_staff_own_a_partnership(reader, staff_user):
    partnership = PartnershipFactory()

    with pytest.raises(forms.ValidationError):
        services.partnership_assign_owner(partnership=partnership, owner=reader, by=staff_user)
    services.partnership_assign_owner(partnership=partnership, owner=staff_user, by=staff_user)

    partnership.refresh_from_db()
    assert partnership.owner == staff_user
