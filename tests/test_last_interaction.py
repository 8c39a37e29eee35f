"""Each organisation's latest interaction, kept by the database whatever writes the links.

"Gone quiet" reads it instead of searching every interaction of each
organisation (migration 0016). It must therefore be right after every kind of
write: linking, unlinking, moving a link, re-dating an interaction, deleting
one, merging organisations, bulk inserts, and two transactions at once.
"""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crm import services
from crm.models import Interaction, InteractionOrganization, LastInteraction, Partnership
from tests import factories

pytestmark = pytest.mark.django_db


def meeting(*organizations, occurred_on: date, **fields) -> Interaction:
    return factories.InteractionFactory(
        organizations=list(organizations), occurred_on=occurred_on, **fields
    )


def latest(organization) -> tuple[date, str] | None:
    row = LastInteraction.objects.filter(organization=organization).first()
    return (row.occurred_on, row.date_precision) if row else None


def test_an_organisation_never_met_has_no_latest_interaction():
    assert latest(factories.OrganizationFactory()) is None


def test_the_latest_interaction_is_the_newest_linked_one():
    organization = factories.OrganizationFactory()
    meeting(organization, occurred_on=date(2025, 3, 1))
    meeting(organization, occurred_on=date(2025, 6, 1), date_precision="late_month")
    meeting(organization, occurred_on=date(2025, 4, 1))
    meeting(factories.OrganizationFactory(), occurred_on=date(2026, 1, 1))

    assert latest(organization) == (date(2025, 6, 1), "late_month")


def test_unlinking_the_latest_falls_back_to_the_one_before_then_to_none():
    organization = factories.OrganizationFactory()
    earlier = meeting(organization, occurred_on=date(2025, 3, 1))
    later = meeting(organization, occurred_on=date(2025, 6, 1))

    later.organizations.remove(organization)
    assert latest(organization) == (date(2025, 3, 1), "day")

    InteractionOrganization.objects.filter(interaction=earlier).delete()
    assert latest(organization) is None


def test_re_dating_an_interaction_moves_the_latest_of_every_organisation_met():
    first, second = factories.OrganizationFactory(), factories.OrganizationFactory()
    shared = meeting(first, second, occurred_on=date(2025, 6, 1))
    meeting(first, occurred_on=date(2025, 5, 1))

    shared.occurred_on = date(2025, 1, 1)
    shared.date_precision = "month"
    shared.save()

    assert latest(first) == (date(2025, 5, 1), "day")
    assert latest(second) == (date(2025, 1, 1), "month")


def test_a_cancelled_meeting_is_not_a_contact():
    organization = factories.OrganizationFactory()
    meeting(organization, occurred_on=date(2025, 3, 1))
    meeting(organization, occurred_on=date(2025, 6, 1), cancelled_at=timezone.now())

    assert latest(organization) == (date(2025, 3, 1), "day")


def test_cancelling_and_un_cancelling_refresh_the_latest_of_every_organisation_met():
    first, second = factories.OrganizationFactory(), factories.OrganizationFactory()
    planned = meeting(first, second, occurred_on=date(2025, 6, 1))
    meeting(first, occurred_on=date(2025, 5, 1))

    planned.cancelled_at = timezone.now()
    planned.save()
    assert latest(first) == (date(2025, 5, 1), "day")
    assert latest(second) is None

    planned.cancelled_at = None
    planned.save()
    assert latest(first) == (date(2025, 6, 1), "day")
    assert latest(second) == (date(2025, 6, 1), "day")


def test_cancelling_in_bulk_refreshes_each_organisation():
    organizations = [factories.OrganizationFactory() for _ in range(3)]
    for organization in organizations:
        meeting(organization, occurred_on=date(2025, 1, 1))
    meetings = [meeting(o, occurred_on=date(2025, 6, 1)) for o in organizations]

    Interaction.objects.filter(pk__in=[m.pk for m in meetings]).update(cancelled_at=timezone.now())

    assert [latest(o) for o in organizations] == [(date(2025, 1, 1), "day")] * 3


def test_a_cancelled_invitation_received_by_mail_is_not_a_contact(today):
    from tests.mail_helpers import corpus, mail_world

    world = mail_world()
    partnership = factories.PartnershipFactory(organization=world.mastercard)
    planned = services.mail_receive(raw=corpus("invitation_request.eml"), door="upload").message
    assert planned.interaction is not None
    assert latest(world.mastercard) is not None

    services.mail_receive(raw=corpus("invitation_cancel.eml"), door="upload")

    assert latest(world.mastercard) is None
    found = Partnership.objects.with_last_contact(today=today).get(pk=partnership.pk)
    assert found.last_contact_on is None


def test_deleting_an_interaction_forgets_it():
    organization = factories.OrganizationFactory()
    meeting(organization, occurred_on=date(2025, 3, 1))
    meeting(organization, occurred_on=date(2025, 6, 1)).delete()

    assert latest(organization) == (date(2025, 3, 1), "day")


def test_moving_a_link_to_another_organisation_refreshes_both():
    source, target = factories.OrganizationFactory(), factories.OrganizationFactory()
    meeting(source, occurred_on=date(2025, 3, 1))
    moved = meeting(source, occurred_on=date(2025, 6, 1))

    InteractionOrganization.objects.filter(interaction=moved).update(organization=target)

    assert latest(source) == (date(2025, 3, 1), "day")
    assert latest(target) == (date(2025, 6, 1), "day")


def test_the_same_day_is_settled_by_the_newer_record_as_the_search_does(today):
    organization = factories.OrganizationFactory()
    meeting(organization, occurred_on=date(2025, 6, 1), date_precision="day")
    meeting(organization, occurred_on=date(2025, 6, 1), date_precision="late_month")
    factories.PartnershipFactory(organization=organization)

    assert latest(organization) == (date(2025, 6, 1), "late_month")
    searched = Partnership.objects.with_last_contact_precision(today=date(2025, 6, 1)).get()
    assert searched.last_contact_precision == "late_month"


def test_merging_organisations_keeps_the_latest_of_both(coordinator):
    kept, other = factories.OrganizationFactory(), factories.OrganizationFactory()
    meeting(kept, occurred_on=date(2025, 3, 1))
    meeting(other, occurred_on=date(2025, 6, 1))

    services.organization_merge(kept=kept, other=other, by=coordinator)

    assert latest(kept) == (date(2025, 6, 1), "day")
    assert not LastInteraction.objects.filter(organization_id=other.pk).exists()


def test_links_inserted_in_bulk_are_all_counted():
    organizations = factories.OrganizationFactory.create_batch(3)
    interactions = [
        factories.InteractionFactory(occurred_on=date(2025, 1, day)) for day in range(1, 10)
    ]
    InteractionOrganization.objects.bulk_create(
        InteractionOrganization(interaction=interaction, organization=organization)
        for index, interaction in enumerate(interactions)
        for organization in organizations[: 1 + index % 3]
    )

    assert [latest(organization) for organization in organizations] == [
        (date(2025, 1, 9), "day"),
        (date(2025, 1, 9), "day"),
        (date(2025, 1, 9), "day"),
    ]
    assert LastInteraction.objects.count() == 3


def test_last_contact_read_from_it_equals_the_search_of_every_interaction(today):
    """The shortcut and the full search agree, planned meetings and strangers included."""
    met_before = factories.PartnershipFactory()
    meeting(met_before.organization, occurred_on=today - timedelta(days=40))
    meeting(met_before.organization, occurred_on=today - timedelta(days=3))
    planned_only = factories.PartnershipFactory()
    meeting(planned_only.organization, occurred_on=today + timedelta(days=10))
    met_and_planned = factories.PartnershipFactory()
    meeting(met_and_planned.organization, occurred_on=today - timedelta(days=20))
    meeting(met_and_planned.organization, occurred_on=today + timedelta(days=1))
    met_today = factories.PartnershipFactory()
    meeting(met_today.organization, occurred_on=today, date_precision="month")
    never_met = factories.PartnershipFactory()

    found = {
        partnership.pk: (partnership.last_contact_on, partnership.last_contact_precision)
        for partnership in Partnership.objects.with_last_contact(
            today=today
        ).with_last_contact_precision(today=today)
    }

    assert found == {
        met_before.pk: (today - timedelta(days=3), "day"),
        planned_only.pk: (None, None),
        met_and_planned.pk: (today - timedelta(days=20), "day"),
        met_today.pk: (today, "month"),
        never_met.pk: (None, None),
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transactions_linking_one_organisation_leave_the_newer_date(postgres_only):
    """Each refresh locks the organisation, then reads what the other committed."""
    organization = factories.OrganizationFactory()
    older = factories.InteractionFactory(occurred_on=date(2025, 1, 1))
    newer = factories.InteractionFactory(occurred_on=date(2025, 6, 1))
    newer_linked = threading.Event()
    errors: list[BaseException] = []

    def link_newer() -> None:
        try:
            with transaction.atomic():
                InteractionOrganization.objects.create(
                    interaction=newer, organization=organization
                )
                newer_linked.set()
                # Committed last: the other refresh must wait for it, not write
                # the older date over it.
                threading.Event().wait(0.5)
        except BaseException as error:
            errors.append(error)
        finally:
            newer_linked.set()
            connection.close()

    def link_older() -> None:
        try:
            newer_linked.wait(timeout=30)
            InteractionOrganization.objects.create(interaction=older, organization=organization)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=link_newer), threading.Thread(target=link_older)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert latest(organization) == (date(2025, 6, 1), "day")
