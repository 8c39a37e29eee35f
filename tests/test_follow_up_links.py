"""Every follow-up title leads to its page, wherever a list of follow-ups shows it.

Issue 19: titles were plain text on the dashboard, meeting, organisation and
project pages, so a follow-up's own page (its history, its actions) was
reachable only from a timeline.
"""

import pytest

from crm import services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def follow_up(staff_user):
    visa = factories.OrganizationFactory(name="Visa", slug="visa")
    project = factories.ProjectFactory(code="payments")
    meeting = factories.InteractionFactory(organizations=[visa])
    return factories.FollowUpFactory(
        title="Send the concept note",
        organization=visa,
        project=project,
        assignee=staff_user,
        interaction=meeting,
    )


def _link(follow_up) -> str:
    return f'href="{follow_up.get_absolute_url()}">Send the concept note</a>'


@pytest.mark.parametrize(
    "page",
    [
        lambda follow_up: "/",
        lambda follow_up: "/organizations/visa/",
        lambda follow_up: "/projects/payments/",
        lambda follow_up: follow_up.interaction.get_absolute_url(),
    ],
    ids=["dashboard", "organisation", "project", "meeting"],
)
def test_an_open_follow_up_s_title_links_to_its_page(client, staff_user, follow_up, page):
    client.force_login(staff_user)

    html = client.get(page(follow_up)).content.decode()

    # In the list of open follow-ups itself (a timeline may link it too).
    assert f'<a class="title" {_link(follow_up)}' in html


def test_a_closed_follow_up_on_its_meeting_s_page_links_to_its_page(client, staff_user, follow_up):
    services.follow_up_complete(follow_up=follow_up, by=staff_user, note="Sent by e-mail")
    client.force_login(staff_user)

    html = client.get(follow_up.interaction.get_absolute_url()).content.decode()

    assert _link(follow_up) in html
