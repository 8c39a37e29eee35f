"""A private iCalendar feed (RFC 5545) of each user's follow-ups and meetings.

Calendar programs subscribe to the URL without logging in: the secret in the
URL is the credential. Regenerating it (on the token page) revokes the old one.
This module builds the feed; the page that serves it is
``crm.views.calendar.calendar_feed``.
"""

from datetime import timedelta

import icalendar
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import FollowUp, Interaction, StaffProfile


def calendar_url_for(user, request: HttpRequest) -> str:
    """Return the absolute URL of ``user``'s calendar feed, making its secret if needed."""
    secret = StaffProfile.for_user(user).calendar_secret()
    return request.build_absolute_uri(reverse("calendar-feed", args=[secret]))


def build_calendar(user, *, host: str, today, base_url: str = "") -> icalendar.Calendar:
    """Return the open follow-ups and upcoming interactions of ``user`` as a calendar.

    Each event links back to its page (``base_url`` + the record's path).
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Compact Togo//Partnerships CRM//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("Compact partnerships: %(user)s") % {"user": user})
    now = timezone.now()

    follow_ups = (
        FollowUp.objects.open()
        .for_assignee(user)
        .select_related("project", "organization")
        .order_by("due_on", "id")
    )
    for follow_up in follow_ups:
        event = icalendar.Event()
        event.add("uid", f"followup-{follow_up.pk}@{host}")
        event.add("dtstamp", now)
        event.add("last-modified", follow_up.updated_at)
        # A date, not a moment: an all-day event on the due date.
        event.add("dtstart", follow_up.due_on)
        event.add("dtend", follow_up.due_on + timedelta(days=1))
        event.add("summary", follow_up.title)
        lines = [_("Project: %(project)s") % {"project": follow_up.project.name}]
        if follow_up.organization:
            lines.append(_("Organisation: %(name)s") % {"name": follow_up.organization.name})
        lines.append(_("Status: %(status)s") % {"status": follow_up.get_status_display()})
        if follow_up.description:
            lines += ["", follow_up.description]
        event.add("description", "\n".join(lines))
        event.add("url", base_url + follow_up.get_absolute_url())
        event.add("categories", [_("Follow-up")])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)

    interactions = (
        Interaction.objects.filter(staff=user, occurred_on__gte=today)
        .select_related("mission")
        .order_by("occurred_on", "id")
    )
    for interaction in interactions:
        event = icalendar.Event()
        event.add("uid", f"interaction-{interaction.pk}@{host}")
        event.add("dtstamp", now)
        event.add("last-modified", interaction.updated_at)
        event.add("dtstart", interaction.occurred_on)
        event.add("dtend", interaction.occurred_on + timedelta(days=1))
        event.add("summary", interaction.title)
        if interaction.city:
            event.add("location", interaction.city)
        if interaction.summary:
            event.add("description", interaction.summary)
        event.add("url", base_url + interaction.get_absolute_url())
        event.add("categories", [interaction.get_kind_display()])
        calendar.add_component(event)
    return calendar
