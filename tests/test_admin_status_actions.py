"""The admin's "Change status…" action of commitments and agreements (run_status_action)."""

import pytest
from django.conf import settings

from crm.models import Agreement, AgreementStatusChange, Commitment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, coordinator):
    client.force_login(coordinator)
    # Messages are matched in English: the user's choice (its cookie) wins over French.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def change_status(client, changelist: str, records, **data):
    return client.post(
        changelist,
        {"action": "change_status", "_selected_action": [r.pk for r in records], **data},
        follow=True,
    )


def test_the_action_shows_its_page_until_the_page_itself_is_posted(admin_client):
    commitment = factories.CommitmentFactory()

    page = change_status(admin_client, "/admin/crm/commitment/", [commitment], status="confirmed")

    html = page.content.decode()
    assert page.templates[0].name == "admin/crm/change_status.html"
    assert "Change the status of commitments" in html
    assert 'name="source"' in html  # Commitments are confirmed with a source.
    commitment.refresh_from_db()
    assert commitment.status == Commitment.Status.ANNOUNCED


def test_agreements_move_by_the_action_with_the_note_and_who(admin_client, coordinator):
    first, second = factories.AgreementFactory(), factories.AgreementFactory()

    response = change_status(
        admin_client,
        "/admin/crm/agreement/",
        [first, second],
        post="yes",
        status="under_review",
        note="Sent to legal",
    )

    assert "2 records moved." in response.content.decode()
    assert set(Agreement.objects.values_list("status", flat=True)) == {"under_review"}
    assert set(
        AgreementStatusChange.objects.filter(to_status="under_review").values_list(
            "agreement", "changed_by", "note"
        )
    ) == {
        (first.pk, coordinator.pk, "Sent to legal"),
        (second.pk, coordinator.pk, "Sent to legal"),
    }


def test_a_refused_move_leaves_the_record_and_says_which_and_why(admin_client):
    sourced = factories.CommitmentFactory(source=factories.SourceFactory())
    unsourced = factories.CommitmentFactory()

    response = change_status(
        admin_client,
        "/admin/crm/commitment/",
        [sourced, unsourced],
        post="yes",
        status="confirmed",
        note="",
    )

    html = response.content.decode()
    assert "1 record moved." in html
    assert f"Left as they were: {unsourced}:" in html
    sourced.refresh_from_db()
    unsourced.refresh_from_db()
    assert (sourced.status, unsourced.status) == ("confirmed", "announced")
