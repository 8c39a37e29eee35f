"""The private calendar feed: open follow-ups and coming meetings, no login."""

from datetime import timedelta

import icalendar
import pytest
from django.test import RequestFactory
from django.utils import timezone

from crm.calendar import calendar_url_for
from crm.models import FollowUp, StaffProfile
from tests import factories

pytestmark = pytest.mark.django_db


def feed_path(user) -> str:
    url = calendar_url_for(user, RequestFactory().get("/"))
    return url.removeprefix("http://testserver")


def test_the_feed_lists_open_follow_ups_and_coming_meetings(client, staff_user, reader):
    today = timezone.localdate()
    mine = factories.FollowUpFactory(
        title="Send the note", assignee=staff_user, due_on=today + timedelta(days=3)
    )
    late = factories.FollowUpFactory(
        title="Call back", assignee=staff_user, due_on=today - timedelta(days=2)
    )
    factories.FollowUpFactory(title="Done already", assignee=staff_user, status="cancelled")
    factories.FollowUpFactory(title="Someone else's", assignee=reader)
    meeting = factories.InteractionFactory(
        title="Visa call",
        occurred_on=today + timedelta(days=1),
        city="Lomé",
        organizations=[factories.OrganizationFactory()],
    )
    meeting.staff.set([staff_user])
    past = factories.InteractionFactory(title="Past meeting", occurred_on=today - timedelta(1))
    past.staff.set([staff_user])

    response = client.get(feed_path(staff_user))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {
        f"followup-{late.pk}@testserver",
        f"followup-{mine.pk}@testserver",
        f"interaction-{meeting.pk}@testserver",
    }
    note = events[f"followup-{mine.pk}@testserver"]
    assert str(note["SUMMARY"]) == "Send the note"
    # All day, on the due date: a DATE, not a DATE-TIME.
    assert note.decoded("DTSTART") == mine.due_on
    assert note["DTSTART"].params.get("VALUE") == "DATE"
    visit = events[f"interaction-{meeting.pk}@testserver"]
    assert visit.decoded("DTSTART") == meeting.occurred_on
    assert str(visit["LOCATION"]) == "Lomé"


def test_a_completed_follow_up_leaves_the_feed(client, staff_user):
    follow_up = factories.FollowUpFactory(assignee=staff_user)
    path = feed_path(staff_user)
    FollowUp.objects.filter(pk=follow_up.pk).update(status="cancelled")

    calendar = icalendar.Calendar.from_ical(client.get(path).content)

    assert calendar.walk("VEVENT") == []


def test_the_url_stays_the_same_until_regenerated(staff_user):
    assert feed_path(staff_user) == feed_path(staff_user)


def test_regenerating_revokes_the_old_url(client, staff_user):
    old = feed_path(staff_user)
    client.force_login(staff_user)

    client.post("/account/calendar/regenerate/")
    client.logout()

    assert client.get(old).status_code == 404
    assert client.get(feed_path(staff_user)).status_code == 200


@pytest.mark.parametrize("secret", ["nothing", "abc.def", ""])
def test_an_unknown_secret_is_a_404(client, secret):
    assert client.get(f"/calendar/{secret}.ics").status_code == 404


def test_the_stored_token_alone_does_not_open_the_calendar(client, staff_user):
    feed_path(staff_user)
    token = StaffProfile.for_user(staff_user).calendar_token

    assert client.get(f"/calendar/{token}.ics").status_code == 404
    assert client.get(f"/calendar/{token}.forged.ics").status_code == 404


def test_an_inactive_user_has_no_feed(client, staff_user):
    path = feed_path(staff_user)
    staff_user.is_active = False
    staff_user.save()

    assert client.get(path).status_code == 404


def test_the_token_page_shows_the_calendar_url(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/account/tokens/")

    assert feed_path(staff_user) in response.text


def test_a_user_without_a_role_any_more_has_no_feed(client, staff_user):
    url = f"/calendar/{StaffProfile.for_user(staff_user).calendar_secret()}.ics"
    assert client.get(url).status_code == 200

    staff_user.groups.clear()

    assert client.get(url).status_code == 404
